"""Statements on pooled raw connections (db/statements.py): what the pool gets back."""

from __future__ import annotations

import asyncio
import logging

import pytest
from sqlalchemy import literal, select
from sqlalchemy.pool import QueuePool

from db.engine import create_engine
from db.statements import EngineStatements, Prepared

ONE = Prepared(select(literal(1).label("one")))


async def test_overflow_connections_are_closed_on_check_in(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """More statements at once than the pool holds: the overflow connections are closed when
    they come back (outside SQLAlchemy's greenlet bridge that close failed, was logged as an
    error, and left the connection to the garbage collector)."""
    engine = create_engine(database_url, pool_size=1, max_overflow=5)
    try:
        requests = [EngineStatements(engine, max_connections=2) for _ in range(3)]
        with caplog.at_level(logging.ERROR, logger="sqlalchemy.pool"):
            rows = await asyncio.gather(*(db.fetch(ONE) for db in requests for _ in range(2)))
        assert [row[0]["one"] for row in rows] == [1] * 6
        assert [r.getMessage() for r in caplog.records if r.name.startswith("sqlalchemy")] == []
        pool = engine.sync_engine.pool
        assert isinstance(pool, QueuePool)
        assert pool.checkedout() == 0
        assert pool.overflow() <= 0, pool.status()  # no overflow connection kept open
    finally:
        await engine.dispose()
