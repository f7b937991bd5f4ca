"""Every error answer, the same way: JSON ``{"errors": [{"message", "extensions": {"code"}}]}``.

GraphQL clients parse error bodies; a plain-text 400 or an HTML 500 is useless to them. HTTP
refusals (malformed bodies, unknown routes, wrong methods) keep their status and get a code;
a dependency that is down is a 503 ``SERVICE_UNAVAILABLE`` with ``Retry-After``; anything
unexpected is a masked 500 with the request id, its traceback logged under that id.
"""

from __future__ import annotations

from typing import Any

import asyncpg
import orjson
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from redis.exceptions import RedisError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Send

log = structlog.get_logger("issuegraph.errors")

_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHENTICATED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    406: "NOT_ACCEPTABLE",
    408: "REQUEST_TIMEOUT",
    410: "GONE",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    422: "BAD_REQUEST",
    429: "RATE_LIMITED",
    500: "INTERNAL_SERVER_ERROR",
    503: "SERVICE_UNAVAILABLE",
}
RETRY_AFTER_SECONDS = 2  # how soon a client may try again once a dependency was down


def code_for(status: int) -> str:
    return _CODES.get(status, f"HTTP_{status}")


def error_body(message: str, code: str, **extensions: Any) -> bytes:
    return orjson.dumps(
        {"errors": [{"message": message, "extensions": {"code": code, **extensions}}]}
    )


def unavailable(error: BaseException) -> bool:
    """Is ``error`` a dependency being unreachable (PostgreSQL restarting or down, the pool
    exhausted, Redis down), rather than a bug? Walks the chain of causes."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(
            current,
            PoolTimeout
            | ConnectionError
            | OSError
            | asyncpg.PostgresConnectionError
            | asyncpg.InterfaceError
            | asyncpg.CannotConnectNowError
            | asyncpg.TooManyConnectionsError
            | RedisError,
        ):
            return True
        if isinstance(current, asyncpg.PostgresError) and current.sqlstate in _UNAVAILABLE_STATES:
            return True
        if isinstance(current, DBAPIError) and current.connection_invalidated:
            return True
        current = current.__cause__ or current.__context__
    return False


def timed_out(error: BaseException) -> bool:
    """Did PostgreSQL cancel a statement at its ``statement_timeout``?"""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, asyncpg.QueryCanceledError):
            return True
        current = current.__cause__ or current.__context__
    return False


# Server shutting down or starting, admin shutdown, crash shutdown.
_UNAVAILABLE_STATES = frozenset({"57P01", "57P02", "57P03", "08000", "08003", "08006"})


async def send_error(
    send: Send,
    status: int,
    message: str,
    code: str | None = None,
    headers: list[tuple[bytes, bytes]] | None = None,
    **extensions: Any,
) -> None:
    """A whole JSON error answer on a raw ASGI ``send``."""
    body = error_body(message, code or code_for(status), **extensions)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def send_failure(send: Send, error: BaseException, request_id: str) -> int:
    """Answer for an exception nothing else handled: 503 for a dependency that is down or a
    statement past its time, a masked 500 otherwise (logged with its traceback). Returns the
    status sent."""
    if timed_out(error):
        log.warning("http.statement_timeout", error=str(error))
        await send_error(
            send,
            503,
            "A database statement took too long and was stopped.",
            "DEADLINE_EXCEEDED",
            headers=[(b"retry-after", b"1")],
        )
        return 503
    if unavailable(error):
        log.warning("http.dependency_unavailable", error=f"{type(error).__name__}: {error}")
        await send_error(
            send,
            503,
            "A service this API depends on is unavailable; try again shortly.",
            headers=[(b"retry-after", str(RETRY_AFTER_SECONDS).encode())],
        )
        return 503
    log.error("http.unexpected_error", exc_info=error)
    await send_error(send, 500, "Unexpected error.", requestId=request_id)
    return 500


def install(app: FastAPI) -> None:
    """FastAPI's own refusals (unknown route, wrong method, bad path parameters) as JSON."""

    async def http_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, StarletteHTTPException)
        return Response(
            error_body(str(error.detail), code_for(error.status_code)),
            status_code=error.status_code,
            headers={**(error.headers or {}), "Cache-Control": "no-store"},
            media_type="application/json",
        )

    async def validation_error(request: Request, error: Exception) -> Response:
        return Response(
            error_body("The request is not valid for this route.", "BAD_REQUEST"),
            status_code=400,
            media_type="application/json",
        )

    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
