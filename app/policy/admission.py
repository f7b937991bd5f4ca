"""Admission control: a bounded number of GraphQL requests in flight per process.

A process is CPU-bound well before it runs many requests at once: past a handful in flight,
more concurrency only interleaves them (every request slower, and the process does less per
second), and without a bound an overload queues without end (issue 13: at 256 connections,
p99 of 14-20 s and a fraction of the throughput). Here at most ``limit`` GraphQL requests run
at once; the next ones wait in order, at most ``max_waiting`` of them and for at most
``wait_seconds`` each. Past that a request is refused at once with a 503 (``OVERLOADED``,
``Retry-After``) that costs the process almost nothing. Only ``/graphql`` over HTTP is
admitted this way: health checks, metrics, downloads and WebSocket subscriptions never wait.
"""

from __future__ import annotations

import asyncio
from dataclasses import KW_ONLY, dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import metrics
from app.policy.errors import send_error


class Admission:
    """The slots of one process (created with the app; FIFO waiting, asyncio's semaphore)."""

    def __init__(self, limit: int, max_waiting: int, wait_seconds: float) -> None:
        self.limit = limit
        self.max_waiting = max_waiting
        self.wait_seconds = wait_seconds
        self._slots = asyncio.Semaphore(limit)
        self._waiting = 0

    async def enter(self) -> str | None:
        """Take a slot; or the reason there is none (``queue_full``, ``wait_timeout``)."""
        if not self._slots.locked():
            await self._slots.acquire()  # free: no wait, no timer
            return None
        if self._waiting >= self.max_waiting:
            return "queue_full"
        self._waiting += 1
        try:
            async with asyncio.timeout(self.wait_seconds):
                await self._slots.acquire()
        except TimeoutError:
            return "wait_timeout"
        finally:
            self._waiting -= 1
        return None

    def leave(self) -> None:
        self._slots.release()

    @property
    def waiting(self) -> int:
        return self._waiting


@dataclass(eq=False)
class AdmissionControl:
    """ASGI middleware: ``/graphql`` HTTP requests take a slot of ``admission`` or get a 503."""

    app: ASGIApp
    _: KW_ONLY
    admission: Admission
    deadline_seconds: float
    path: str = "/graphql"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != self.path:
            await self.app(scope, receive, send)
            return
        refused = await self.admission.enter()
        if refused is not None:
            metrics.REQUESTS_SHED.labels(refused).inc()
            await _refuse(receive, send)
            return
        answered = False

        async def tracking_send(message: Message) -> None:
            nonlocal answered
            answered = answered or message["type"] == "http.response.start"
            await send(message)

        try:
            # The slot is held at most this long: one slow request cannot keep it (its
            # statements are bounded too, by PostgreSQL's statement_timeout).
            async with asyncio.timeout(self.deadline_seconds) as deadline:
                await self.app(scope, receive, tracking_send)
        except TimeoutError:
            if not deadline.expired() or answered:
                raise
            metrics.DEADLINES_EXCEEDED.inc()
            await send_error(
                send,
                503,
                f"The request took longer than {self.deadline_seconds:g} s and was stopped.",
                "DEADLINE_EXCEEDED",
                headers=[(b"retry-after", b"1")],
            )
        finally:
            self.admission.leave()


async def _refuse(receive: Receive, send: Send) -> None:
    # The body is read (its size is bounded outside) so the connection stays usable.
    while True:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            break
    await send_error(
        send,
        503,
        "The server is overloaded; try again in a second.",
        "OVERLOADED",
        headers=[(b"retry-after", b"1")],
    )
