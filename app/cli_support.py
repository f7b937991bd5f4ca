"""What the `issuegraph` commands share: settings with the URLs `issuegraph dev` recorded, one
session on a short-lived engine, migrations, and domain errors as exit status 1."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from app.settings import Settings, get_settings, to_async_database_url

if TYPE_CHECKING:
    from db.migrate import Migration

T = TypeVar("T")


def resolved_settings() -> Settings:
    """Settings, with the URLs a running `issuegraph dev` recorded when none are configured."""
    settings = get_settings()
    if settings.database_url and settings.redis_url:
        return settings
    from app.devtools.embedded import read_recorded_urls

    recorded = read_recorded_urls(settings.data_dir)
    if recorded is None:
        return settings
    return settings.model_copy(
        update={
            "database_url": settings.database_url or to_async_database_url(recorded.database_url),
            "redis_url": settings.redis_url or recorded.redis_url,
        }
    )


def require_database(settings: Settings) -> str:
    if not settings.database_url:
        typer.echo(
            "No database: set ISSUEGRAPH_DATABASE_URL, or start `issuegraph dev` first.", err=True
        )
        raise typer.Exit(2)
    return settings.database_url


def with_session(
    settings: Settings, work: Callable[[AsyncSession], Awaitable[T]], *, commit: bool = True
) -> T:
    """Run ``work`` in one session on a short-lived engine, committing on success."""
    from db.engine import create_engine, create_session_factory

    async def main() -> T:
        engine = create_engine(require_database(settings), pool_size=1, max_overflow=0)
        try:
            async with create_session_factory(engine)() as session:
                result = await work(session)
                if commit:
                    await session.commit()
                return result
        finally:
            await engine.dispose()

    return asyncio.run(main())


def fail_on_domain_error(run: Callable[[], T]) -> T:
    from services.errors import DomainError

    try:
        return run()
    except DomainError as error:
        typer.echo(f"error: {error.message}", err=True)
        raise typer.Exit(1) from None


def migrate_database(settings: Settings, to: str = "head") -> Migration:
    from db.engine import create_engine
    from db.migrate import migrate_to

    async def main() -> Migration:
        engine = create_engine(require_database(settings), pool_size=1, max_overflow=0)
        try:
            return await migrate_to(engine, to)
        finally:
            await engine.dispose()

    return asyncio.run(main())
