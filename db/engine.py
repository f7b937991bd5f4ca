"""Engine and session factories; created in the app lifespan or a CLI command, never at import."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


def create_engine(
    url: str,
    *,
    pool_size: int = 10,
    max_overflow: int = 10,
    pool_timeout: float = 30.0,
    connect_timeout: float = 10.0,
    statement_timeout_ms: int | None = None,
) -> AsyncEngine:
    """An engine whose waits are bounded: for a pooled connection (``pool_timeout``), for a
    new one (``connect_timeout``) and, when given, for any one statement (PostgreSQL's own
    ``statement_timeout``, which cancels it server-side)."""
    server_settings = {
        "application_name": "issuegraph",
        # Every statement is prepared once per connection with bind parameters (asyncpg's
        # statement cache); PostgreSQL would still plan most of them anew on every execution
        # (a custom plan per set of values: ~0.8 ms for a page of issues with its relations,
        # more than running it). Our statements are keyset pages and lookups on indexed
        # columns, whose best plan does not depend on the values: plan them once.
        "plan_cache_mode": "force_generic_plan",
    }
    if statement_timeout_ms is not None:
        server_settings["statement_timeout"] = str(statement_timeout_ms)
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=pool_timeout,
        # No pre-ping: it costs a round trip on every checkout, and loaders check out often.
        # Connections are recycled instead; a dead one fails its statement, and a lost server
        # invalidates the whole pool (db.statements), so connections are made anew afterwards.
        pool_recycle=1800,
        # asyncpg's own statement cache makes repeated loader queries cheap.
        connect_args={"server_settings": server_settings, "timeout": connect_timeout},
    )
    event.listen(engine.sync_engine, "connect", _check_client_connection)
    return engine


# How often a backend running a statement checks that its client is still there.
CLIENT_CONNECTION_CHECK_MS = 1_000


def _check_client_connection(dbapi_connection: Any, record: Any) -> None:
    """Have the server stop a statement whose client went away (a request past its deadline,
    a process killed, the network cut) instead of running it on, waiting for a lock and then
    writing for nobody: ``client_connection_check_interval`` (PostgreSQL 14 and later, on
    Linux; older servers keep running such statements until they next write to the client)."""
    if dbapi_connection.driver_connection.get_server_version().major >= 14:
        dbapi_connection.run_async(
            lambda connection: connection.execute(
                f"SET client_connection_check_interval = {CLIENT_CONNECTION_CHECK_MS}"
            )
        )


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # expire_on_commit=False: payloads are built from objects after the commit
    # (docs/architecture.md, rule 2).
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


def create_read_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions for one-SELECT lookups outside a request's statements (the trusted-document
    store), in autocommit mode: BEGIN ... ROLLBACK around one SELECT would triple its round
    trips. Never write through these sessions: nothing is committed as a unit. (Loader batches
    do not use sessions at all: ``db/statements.py``.)
    """
    autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
    return async_sessionmaker(autocommit, expire_on_commit=False, autoflush=False)
