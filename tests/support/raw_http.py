"""HTTP/1.1 keep-alive over one real socket: any bytes out, h11 parsing the answers back.

An HTTP client library would neither send malformed requests nor tell a dropped connection
from one it quietly reopened; the transport fuzz and the outage tests need both. Requests are
written by hand; responses are parsed by h11 (the well-kept parser httpx itself uses), fed a
placeholder request of the same method so its state machine expects the answer.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any, Self

import h11
import orjson

_READ = 65_536


class ConnectionDropped(Exception):
    """The server closed the connection without answering the request."""


@dataclass(frozen=True)
class Answer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    closes: bool  # the server said it would close the connection after this answer

    def header(self, name: str) -> str | None:
        found = [value for key, value in self.headers if key == name.lower()]
        return found[-1] if found else None

    def json(self) -> Any:
        return orjson.loads(self.body)


def request(
    method: str,
    target: str,
    body: bytes = b"",
    headers: list[tuple[bytes, bytes]] | None = None,
    *,
    host: bytes = b"127.0.0.1",
) -> bytes:
    """The bytes of one request, framed by Content-Length (headers are sent as they are)."""
    lines = [f"{method} {target} HTTP/1.1".encode("latin-1"), b"Host: " + host]
    lines += [name + b": " + value for name, value in headers or []]
    if body or method in ("POST", "PUT"):
        lines.append(b"Content-Length: " + str(len(body)).encode())
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


class RawConnection:
    """One keep-alive connection; ``exchange`` sends raw bytes and returns the answer."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._h11 = h11.Connection(h11.CLIENT)
        self.closed = False

    @classmethod
    async def open(cls, base_url: str) -> Self:
        host, _, port = base_url.removeprefix("http://").partition(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        return cls(reader, writer)

    async def exchange(self, raw: bytes, method: str = "POST", within: float = 10) -> Answer:
        """Send ``raw`` (one request) and read its answer; ``ConnectionDropped`` if the server
        closed without one, ``TimeoutError`` after ``within`` seconds."""
        assert not self.closed, "the server closed this connection"
        if self._h11.our_state is h11.DONE and self._h11.their_state is h11.DONE:
            self._h11.start_next_cycle()
        self._h11.send(h11.Request(method=method, target="/", headers=[("Host", "x")]))
        self._h11.send(h11.EndOfMessage())
        self._writer.write(raw)
        async with asyncio.timeout(within):
            await self._writer.drain()
            return await self._answer()

    async def _answer(self) -> Answer:
        response: h11.Response | None = None
        body: list[bytes] = []
        while True:
            try:
                event = self._h11.next_event()
            except h11.RemoteProtocolError as error:
                self.closed = True
                raise ConnectionDropped(f"unparsable answer: {error}") from error
            if event is h11.NEED_DATA:
                try:
                    data = await self._reader.read(_READ)
                except ConnectionError:
                    data = b""
                self._h11.receive_data(data)
                continue
            if isinstance(event, h11.Response):
                response = event
            elif isinstance(event, h11.Data):
                body.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                assert response is not None
                closes = (self._h11.their_state, self._h11.our_state) != (h11.DONE, h11.DONE)
                if closes:
                    self.closed = True
                return Answer(
                    status=response.status_code,
                    headers=[
                        (name.decode("latin-1"), value.decode("latin-1"))
                        for name, value in response.headers
                    ],
                    body=b"".join(body),
                    closes=closes,
                )
            elif isinstance(event, h11.ConnectionClosed):
                self.closed = True
                raise ConnectionDropped("the server closed the connection without an answer")
            # h11.InformationalResponse (100 Continue): the real answer follows.

    async def at_eof(self, within: float = 10) -> bool:
        """Has the server closed its side cleanly (nothing more to read)?"""
        async with asyncio.timeout(within):
            try:
                return await self._reader.read(_READ) == b""
            except ConnectionError:
                return False

    async def close(self) -> None:
        self.closed = True
        self._writer.close()
        with contextlib.suppress(ConnectionError):
            await self._writer.wait_closed()
