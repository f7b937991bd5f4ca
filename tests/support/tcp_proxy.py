"""A TCP proxy a test controls, to take a dependency away from the app and give it back.

The app under test reaches the machine's PostgreSQL or Redis through it; ``cut()`` closes every
open connection and refuses new ones (the port stops listening: what a client sees while the
server is down or restarting), ``cut(hang=True)`` closes them too but takes new ones and never
answers (a host gone from the network: connecting waits for the client's own timeout), and
``restore()`` forwards again on the same port. The machine's own
servers are never touched, so the rest of the suite (and other people's tests) run on.

Written here rather than taken from a library: the few test proxies on PyPI (toxiproxy needs
its own daemon) cannot close established connections on demand, which is the point.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Self
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

_CHUNK = 65_536


class TcpProxy:
    """Forwards 127.0.0.1:<port> to ``target_host:target_port`` (or to the Unix socket
    ``target_path``: the embedded servers of a run without server URLs) until it is cut."""

    def __init__(
        self, target_host: str = "", target_port: int = 0, *, target_path: str | None = None
    ) -> None:
        self.target_host = target_host
        self.target_port = target_port
        self.target_path = target_path
        self.port = 0  # chosen by the first start(), kept by every restore()
        self.accepted = 0  # connections forwarded, over the proxy's life
        self.hung = False
        self._server: asyncio.Server | None = None
        self._hanging: set[asyncio.StreamWriter] = set()  # accepted while hung, never answered
        self._pipes: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    @classmethod
    def to(cls, url: str) -> Self:
        """A proxy to the server of a ``postgresql://`` (``?host=/socket/dir`` too),
        ``redis://`` or ``unix://`` URL."""
        parts = urlsplit(url)
        if parts.scheme == "unix":
            return cls(target_path=parts.path)
        socket_dir = dict(parse_qsl(parts.query)).get("host", "")
        if socket_dir.startswith("/"):
            return cls(target_path=f"{socket_dir}/.s.PGSQL.{parts.port or 5432}")
        assert parts.hostname is not None, url
        assert parts.port is not None, url
        return cls(parts.hostname, parts.port)

    def url(self, url: str) -> str:
        """``url`` pointing at this proxy instead of its server."""
        parts = urlsplit(url)
        here = f"127.0.0.1:{self.port}"
        query = dict(parse_qsl(parts.query))
        if parts.scheme == "unix":
            return f"redis://{here}/{query.get('db', '0')}"
        query.pop("host", None)
        query.pop("port", None)
        credentials = parts.netloc.rpartition("@")[0]
        return urlunsplit(
            parts._replace(
                netloc=f"{credentials}@{here}" if credentials else here, query=urlencode(query)
            )
        )

    @property
    def is_up(self) -> bool:
        return self._server is not None

    @property
    def open_connections(self) -> int:
        return len(self._pipes) // 2

    async def start(self) -> None:
        assert self._server is None
        self._server = await asyncio.start_server(
            self._accept, "127.0.0.1", self.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def restore(self) -> None:
        """Forward again (on the same port): the dependency is back."""
        self._release_hung()
        if self._server is None:
            await self.start()

    async def cut(self, *, hang: bool = False) -> None:
        """Close every open connection: the dependency is gone. New connections are refused,
        or with ``hang`` accepted and never answered."""
        self.hung = hang
        server = None
        if not hang:
            server, self._server = self._server, None
            if server is not None:
                server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        for pipe in list(self._pipes):
            pipe.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)
        if server is not None:
            await server.wait_closed()

    async def close(self) -> None:
        self._release_hung()
        await self.cut()

    def _release_hung(self) -> None:
        self.hung = False
        for writer in self._hanging:
            writer.transport.abort()
        self._hanging.clear()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def _accept(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        if self._server is None:  # cut between the accept and this callback
            client_w.transport.abort()
            return
        if self.hung:
            self._hanging.add(client_w)  # held open, silent, until restore() or close()
            return
        self.accepted += 1
        try:
            if self.target_path is not None:
                server_r, server_w = await asyncio.open_unix_connection(self.target_path)
            else:
                server_r, server_w = await asyncio.open_connection(
                    self.target_host, self.target_port
                )
        except OSError:
            client_w.transport.abort()
            return
        self._writers |= {client_w, server_w}
        pipes = (
            asyncio.create_task(self._pipe(client_r, server_w)),
            asyncio.create_task(self._pipe(server_r, client_w)),
        )
        self._pipes.update(pipes)
        try:
            await asyncio.gather(*pipes, return_exceptions=True)
        finally:
            self._pipes.difference_update(pipes)
            for writer in (client_w, server_w):
                self._writers.discard(writer)
                writer.transport.abort()

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One direction; when either side ends, both do (the other pipe sees its end)."""
        try:
            while data := await reader.read(_CHUNK):
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                writer.transport.abort()
