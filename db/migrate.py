"""Run Alembic migrations from async code (CLI, app start-up, tests)."""

from __future__ import annotations

import asyncio
import functools
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Any constant works; it keeps two processes (API and worker starting together) from
# migrating at the same time.
_MIGRATION_LOCK_KEY = 7_215_001


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url:
        config.set_main_option("sqlalchemy.url", url)
    return config


def _upgrade(connection: Connection) -> None:
    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY})
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


async def upgrade_to_head(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.run_sync(_upgrade)


@functools.cache
def head_revisions() -> frozenset[str]:
    """The latest revisions in the migration scripts (read from disk once per process)."""
    return frozenset(ScriptDirectory.from_config(alembic_config()).get_heads())


def _current_revisions(connection: Connection) -> frozenset[str]:
    return frozenset(MigrationContext.configure(connection).get_current_heads())


async def is_at_head(engine: AsyncEngine) -> bool:
    # Reading the scripts is file I/O: off the event loop, and only the first time.
    heads = await asyncio.to_thread(head_revisions)
    async with engine.connect() as connection:
        return await connection.run_sync(_current_revisions) == heads
