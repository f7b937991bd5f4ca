"""Test doubles for what is outside our system, and a live server for socket-level tests."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn

from app.graphql.http_protocol import HttpProtocol
from app.main import create_app
from app.settings import Settings


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.asynccontextmanager
async def live_server(settings: Settings, **app_options: Any) -> AsyncIterator[str]:
    """A fresh app (``create_app(settings, **app_options)``) served by uvicorn on a free local
    port, with the HTTP protocol ``issuegraph serve`` runs: its ``http://`` base URL."""
    app = create_app(settings, **app_options)
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_config=None, lifespan="on", http=HttpProtocol
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(10):
            while not server.started:
                if task.done():
                    task.result()  # startup failed: raise its error
                await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        async with asyncio.timeout(10):
            await task


# -- a fake OpenAI-compatible server (the one external system triage talks to) ---------------


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # dict/list -> JSON, str/bytes -> sent as is
    delay: float = 0.0


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class FakeOpenAI:
    """A minimal HTTP/1.1 server: one request per connection, scripted replies in order."""

    replies: list[Reply] = field(default_factory=list)
    requests: list[Recorded] = field(default_factory=list)
    port: int = 0
    _server: asyncio.Server | None = None
    _handlers: set[asyncio.Task[Any]] = field(default_factory=set)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1/"  # trailing slash on purpose

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._handlers):
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            request_line, *header_lines = head.decode("latin-1").split("\r\n")
            method, path, _ = request_line.split(" ", 2)
            headers: dict[str, str] = {}
            for line in header_lines:
                if line:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            self.requests.append(Recorded(method, path, headers, body))
            reply = (
                self.replies.pop(0)
                if self.replies
                else Reply(500, {"error": {"message": "unscripted request"}})
            )
            if reply.delay:
                await asyncio.sleep(reply.delay)
            payload = reply.body
            if isinstance(payload, dict | list):
                payload = json.dumps(payload)
            data = payload.encode() if isinstance(payload, str) else (payload or b"")
            writer.write(
                f"HTTP/1.1 {reply.status} Scripted\r\n"
                "Content-Type: application/json\r\n"
                f"Content-Length: {len(data)}\r\n"
                "Connection: close\r\n\r\n".encode()
                + data
            )
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()
            self._handlers.discard(task)

    @property
    def paths(self) -> list[str]:
        return [request.path for request in self.requests]


def completion(content: dict[str, Any]) -> dict[str, Any]:
    """A chat-completions envelope around ``content`` (sent as its JSON text)."""
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "gpt-4o-mini",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": json.dumps(content)},
                "finish_reason": "stop",
            }
        ],
    }


@contextlib.asynccontextmanager
async def app_client(settings: Settings, **update: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A separate app (its own process state) with ``update`` applied, over ASGI."""
    app = create_app(settings.model_copy(update=update))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c,
    ):
        yield c
