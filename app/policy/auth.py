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
