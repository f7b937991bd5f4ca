"""One authentication path for HTTP requests, WebSockets and downloads: bearer token → viewer."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import HTTPConnection

from db.statements import Statements
from services.auth import authenticate, record_use
from services.viewer import Viewer


def parse_bearer(header: str) -> str | None:
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def bearer_token(connection: HTTPConnection) -> str | None:
    return parse_bearer(connection.headers.get("authorization", ""))


async def viewer_for(
    token: str | None, db: Statements, session_factory: async_sessionmaker[AsyncSession]
) -> Viewer | None:
    """The token's viewer with their roles (one read), or None for a missing, unknown,
    revoked or expired token. A token's use is recorded at most once a minute (a write)."""
    if token is None:
        return None
    found = await authenticate(db, token)
    if found is None:
        return None
    if found.stale and found.viewer.token_id is not None:
        async with session_factory() as session:
            await record_use(session, found.viewer.token_id)
            await session.commit()
    return found.viewer


def credentials(connection: HTTPConnection | None, connection_params: object = None) -> str | None:
    """The bearer token a connection presents. HTTP requests (GraphQL and downloads) send
    ``Authorization: Bearer``; a WebSocket sends ``{"Authorization": "Bearer <token>"}`` (any
    case) or ``{"token": "..."}`` in its ``connection_init`` payload, else the upgrade's header."""
    if connection is not None and connection.scope["type"] == "http":
        return bearer_token(connection)
    params = connection_params if isinstance(connection_params, dict) else {}
    headers = {str(k).lower(): v for k, v in params.items()}
    raw = headers.get("authorization")
    token = parse_bearer(raw) if isinstance(raw, str) else None
    if token is None and isinstance(headers.get("token"), str):
        token = headers["token"]
    if token is None and connection is not None:
        token = bearer_token(connection)
    return token


async def authenticate_connection(
    connection: HTTPConnection | None,
    db: Statements,
    session_factory: async_sessionmaker[AsyncSession],
    connection_params: object = None,
) -> Viewer | None:
    """The one authentication path of HTTP requests, WebSockets and downloads: the viewer, or
    None. Each caller answers None its own way (docs/security.md, "Authentication and tenancy")."""
    return await viewer_for(credentials(connection, connection_params), db, session_factory)
