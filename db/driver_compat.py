"""The private members of SQLAlchemy, Alembic and asyncpg that ``db`` relies on, in one place.

Each is named here once, for what its caller (db/statements.py, db/migrate.py) says no public
API gives it, and is checked at import, so that a release that removes one fails at start-up
rather than mid-request or mid-migration. tests/test_framework_compat.py checks that no other
module touches them.
"""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
from alembic.script import ScriptDirectory
from sqlalchemy.pool import Pool, PoolProxiedConnection

_PRIVATE_MEMBERS = (
    ("SQLAlchemy's Pool", Pool, "_invalidate"),
    ("Alembic's ScriptDirectory", ScriptDirectory, "_upgrade_revs"),
    ("Alembic's ScriptDirectory", ScriptDirectory, "_downgrade_revs"),
)
for _owner, _class, _member in _PRIVATE_MEMBERS:
    if not hasattr(_class, _member):
        raise RuntimeError(f"{_owner} lacks {_member}: see db/driver_compat.py")
if "_cancellations" not in getattr(asyncpg.Connection, "__slots__", ()):
    raise RuntimeError("asyncpg's Connection lacks _cancellations: see db/driver_compat.py")


def invalidate_pool(pool: Pool, connection: PoolProxiedConnection, error: BaseException) -> None:
    """Invalidate ``connection`` and every pooled connection made before now (what SQLAlchemy
    does on a disconnect it detects itself), so each is made anew on its next use."""
    pool._invalidate(connection, error)


def pending_cancellations(connection: object) -> list[asyncio.Future[Any]]:
    """The tasks in which asyncpg is sending the server its cancel requests (none for a
    connection that is not asyncpg's)."""
    return list(getattr(connection, "_cancellations", ()))


def migration_steps(script: ScriptDirectory, upgrade: bool, destination: str, revision: Any) -> Any:
    """What ``alembic.command.upgrade`` / ``downgrade`` hand to env.py, for our connection."""
    if upgrade:
        return script._upgrade_revs(destination, revision)
    return script._downgrade_revs(destination, revision)
