"""Request correlation: an id per request, bound to every log line and returned to the client."""

from __future__ import annotations

import re
import time
import uuid

import structlog
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import metrics
from app.observability.stats import RequestStats, current_request, refresh_pool_gauge
from app.policy.errors import send_failure

log = structlog.get_logger("issuegraph.access")

# A client-chosen id is echoed only if it is short and plain, so it cannot forge log lines.
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._\-]{1,128}$")


class RequestIdMiddleware:
    """Request id, per-request accounting and the access log line.

    Pure ASGI (not BaseHTTPMiddleware) so it adds no task or buffering per request, and the
    contextvars the GraphQL layer sets (operation, viewer) are still visible here afterwards.
    """

    def __init__(self, app: ASGIApp, slow_request_ms: int = 500) -> None:
        self.app = app
        self.slow_request_ms = slow_request_ms

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers", [])).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _VALID_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        stats = RequestStats()
        token = current_request.set(stats)
        started = time.perf_counter()
        status = 500
        answered = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, answered
            if message["type"] == "http.response.start":
                status = message["status"]
                answered = True
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"],
                    (b"x-request-id", request_id.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except ClientDisconnect:
            # The client went away mid-request (a load generator stopping, a closed tab):
            # nothing to answer and nothing wrong with the server, so no traceback.
            status = 499
            log.info("http.client_disconnected", path=scope.get("path"))
        except Exception as error:
            # Whatever nothing inside answered: JSON with a code and the request id (503 for a
            # dependency that is down), never the server's plain-text 500.
            if scope["type"] != "http" or answered:
                raise
            status = await send_failure(send_with_id, error, request_id)
        finally:
            if scope["type"] == "http":
                self._account(scope, stats, status, time.perf_counter() - started)
            current_request.reset(token)
            structlog.contextvars.clear_contextvars()

    def _account(self, scope: Scope, stats: RequestStats, status: int, seconds: float) -> None:
        """One access-log line per request, and the request metrics."""
        duration_ms = round(seconds * 1000, 2)
        fields = {
            "method": scope.get("method"),
            "path": scope.get("path"),
            "status": status,
            "duration_ms": duration_ms,
            "operation": stats.operation,
            "sql_statements": stats.sql_statements,
        }
        if duration_ms >= self.slow_request_ms:
            log.warning("http.slow_request", **fields)
        else:
            log.info("http.request", **fields)
        refresh_pool_gauge()
        if stats.operation is not None:
            if status >= 400 or stats.error_codes:
                outcome = stats.error_codes[0].lower() if stats.error_codes else f"http_{status}"
            else:
                outcome = "ok"
            metrics.REQUEST_DURATION.labels(stats.operation, outcome).observe(seconds)
            metrics.SQL_STATEMENTS.observe(stats.sql_statements)
