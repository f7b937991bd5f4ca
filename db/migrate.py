"""Run Alembic migrations from async code (CLI, app start-up, tests), both ways.

The migration scripts are read from disk once per process, in a thread
(``migration_scripts``). The migrations then run on a connection of the caller's engine
(``run_sync``), in one transaction under an advisory lock, without ``env.py`` (loading it is
file I/O each time) and without touching the disk from the event loop.
"""

from __future__ import annotations

import asyncio
import enum
import functools
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from db.driver_compat import migration_steps

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Any constant works; it keeps two processes (API and worker starting together, or two
# operators) from migrating at the same time, in either direction.
_MIGRATION_LOCK_KEY = 7_215_001
BASE = "base"  # no migration applied (Alembic's name)
HEAD = "head"


class MigrationError(Exception):
    """A migration that cannot run; the message is one line, meant for an operator."""


class UnknownRevision(MigrationError):
    """The requested target is not a revision of this code."""


class DatabaseAhead(MigrationError):
    """The database is at a revision this code does not know (a newer release migrated it)."""


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url:
        config.set_main_option("sqlalchemy.url", url)
    return config


@functools.cache
def migration_scripts() -> ScriptDirectory:
    """The migration scripts with every revision module loaded.

    File I/O: call it off the event loop (``asyncio.to_thread``); it reads the disk once per
    process, later calls answer from memory.
    """
    script = ScriptDirectory.from_config(alembic_config())
    script.revision_map.heads  # noqa: B018 (builds the map: loads every revision module)
    return script


def _known(script: ScriptDirectory) -> list[str]:
    """Every revision id of the scripts, oldest first."""
    return [revision.revision for revision in reversed(list(script.walk_revisions()))]


def describe(revisions: Iterable[str], heads: Iterable[str] = ()) -> str:
    """``base``, ``0002`` or ``0003 (head)``: a database position for people."""
    heads = set(heads)
    return ", ".join(f"{r} (head)" if r in heads else r for r in revisions) or BASE


def resolve_target(script: ScriptDirectory, target: str) -> tuple[str, ...]:
    """The revisions the database should end at: ``base`` → (), ``head`` → the heads.

    Only exact revision ids are accepted (no prefixes, no relative steps): a downgrade drops
    data, so the target is spelled out.
    """
    if target == BASE:
        return ()
    if target in (HEAD, "heads"):
        return tuple(script.get_heads())
    known = _known(script)
    if target in known:
        return (target,)
    raise UnknownRevision(
        f"unknown revision {target!r}: this code knows "
        f"{describe([BASE, *known], script.get_heads())}"
    )


def _with_ancestors(script: ScriptDirectory, revisions: Iterable[str]) -> set[str]:
    found: set[str] = set()
    todo = list(revisions)
    while todo:
        revision = todo.pop()
        if revision in found:
            continue
        found.add(revision)
        down = script.get_revision(revision).down_revision
        if isinstance(down, str):
            todo.append(down)
        elif down:
            todo.extend(down)
    return found


def _ahead_error(current: Iterable[str], heads: Iterable[str]) -> DatabaseAhead:
    return DatabaseAhead(
        f"the database is at {describe(current)}, a revision this code does not know "
        f"(its latest is {describe(heads)}): a newer release migrated it; run that release, "
        f"or downgrade with it first (`issuegraph migrate --to {describe(heads)}`)"
    )


@dataclass(frozen=True)
class Migration:
    """What ``migrate_to`` did: where the database was and where it is now (() = base)."""

    before: tuple[str, ...]
    after: tuple[str, ...]
    direction: Literal["upgrade", "downgrade"] | None  # None: it was already there
    heads: tuple[str, ...]

    def __str__(self) -> str:
        before, after = describe(self.before, self.heads), describe(self.after, self.heads)
        if self.direction is None:
            return f"the database is already at {after}"
        return f"{self.direction}d the database from {before} to {after}"


def _current_revisions(connection: Connection) -> tuple[str, ...]:
    return tuple(sorted(MigrationContext.configure(connection).get_current_heads()))


def _migrate(connection: Connection, script: ScriptDirectory, target: tuple[str, ...]) -> Migration:
    # The lock comes first: the revision the database is at may change until we hold it.
    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY})
    heads = tuple(sorted(script.get_heads()))
    before = _current_revisions(connection)
    if not set(before) <= set(_known(script)):
        raise _ahead_error(before, heads)
    if set(before) == set(target):
        return Migration(before, before, None, heads)
    direction: Literal["upgrade", "downgrade"]
    if set(target) <= _with_ancestors(script, before):
        direction, destination = "downgrade", (target[0] if target else BASE)
    else:
        direction, destination = "upgrade", (target[0] if len(target) == 1 else "heads")

    # What `alembic.command.upgrade` / `downgrade` hand to env.py, on our connection.
    def steps(revision: Any, _context: MigrationContext) -> Any:
        return migration_steps(script, direction == "upgrade", destination, revision)

    with EnvironmentContext(
        alembic_config(), script, fn=steps, destination_rev=destination
    ) as environment:
        environment.configure(connection=connection)
        with environment.begin_transaction():
            environment.run_migrations()
    return Migration(before, _current_revisions(connection), direction, heads)


async def migrate_to(engine: AsyncEngine, target: str = HEAD) -> Migration:
    """Upgrade or downgrade the database to ``target`` (a revision id, ``base`` or ``head``).

    All the steps run in one transaction under the advisory lock: a failing step leaves the schema
    as it was, and a second process waits, then finds the database where the first left it.
    Raises ``UnknownRevision`` (before connecting) or ``DatabaseAhead``.
    """
    script = await asyncio.to_thread(migration_scripts)
    revisions = resolve_target(script, target)
    async with engine.begin() as connection:
        return await connection.run_sync(_migrate, script, revisions)


async def upgrade_to_head(engine: AsyncEngine) -> None:
    await migrate_to(engine, HEAD)


class SchemaState(enum.Enum):
    CURRENT = "current"  # at this code's head
    BEHIND = "behind"  # at an older revision of this code (or none): `issuegraph migrate`
    AHEAD = "ahead"  # at a revision this code does not know: a newer release migrated it


@dataclass(frozen=True)
class SchemaStatus:
    state: SchemaState
    database: tuple[str, ...]  # the revisions in alembic_version (() = base)
    heads: tuple[str, ...]  # this code's latest revisions


async def schema_status(engine: AsyncEngine) -> SchemaStatus:
    """Where the database is compared to this code's migrations."""
    # Reading the scripts is file I/O: off the event loop, and only the first time.
    script = await asyncio.to_thread(migration_scripts)
    async with engine.connect() as connection:
        current = await connection.run_sync(_current_revisions)
    heads = tuple(sorted(script.get_heads()))
    if not set(current) <= set(_known(script)):
        state = SchemaState.AHEAD
    elif set(current) == set(heads):
        state = SchemaState.CURRENT
    else:
        state = SchemaState.BEHIND
    return SchemaStatus(state, current, heads)
