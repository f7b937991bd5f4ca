"""A scripted OpenAI-compatible server: the one external system triage talks to."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

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


def completion(content: Any) -> dict[str, Any]:
    """A chat-completions envelope around ``content`` (a dict is sent as its JSON text)."""
    text = json.dumps(content) if isinstance(content, dict | list) else content
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "gpt-4o-mini",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
            }
        ],
    }
