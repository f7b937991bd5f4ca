"""Engine and session factories; created in the app lifespan or a CLI command, never at import."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


def create_engine(url: str, *, pool_size: int = 10, max_overflow: int = 10) -> AsyncEngine:
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_pre_ping=True,
        # asyncpg's own statement cache makes repeated loader queries cheap.
        connect_args={"server_settings": {"application_name": "issuegraph"}},
    )


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # expire_on_commit=False: payloads are built from objects after the commit (DESIGN rule 2).
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
