"""Per-request accounting: SQL statements, operation name, viewer; metrics hooks.

A ``RequestStats`` object lives in a contextvar for the length of a request. Tasks (loader
batches) copy the context and share the same object, and SQLAlchemy's event runs in the
caller's context, so the SQL statement count covers everything the request did.
"""

from __future__ import annotations

import contextvars
import weakref
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from app import metrics
from db import statements


@dataclass
class RequestStats:
    sql_statements: int = 0
    operation: str | None = None
    viewer_id: int | None = None
    error_codes: tuple[str, ...] = ()


current_request: contextvars.ContextVar[RequestStats | None] = contextvars.ContextVar(
    "issuegraph_request", default=None
)


_engines: weakref.WeakSet[AsyncEngine] = weakref.WeakSet()


def instrument_engine(engine: AsyncEngine) -> None:
    """Count statements per request, and remember the engine for the pool gauge."""

    def count(statement: str) -> None:
        stats = current_request.get()
        if stats is not None:
            stats.sql_statements += 1

    statements.listen(engine, count)  # both paths: units of work and prepared reads
    _engines.add(engine)


def refresh_pool_gauge() -> None:
    """Read the pools' own count of connections in use (cheap; after each request and at
    scrape), rather than counting checkout/checkin events, which drift when pools are
    disposed with connections still out."""
    in_use = 0
    for engine in list(_engines):
        checkedout = getattr(engine.sync_engine.pool, "checkedout", None)
        if callable(checkedout):
            in_use += int(checkedout())
    metrics.DB_POOL_IN_USE.set(in_use)


def observe_batch(loader: str, size: int) -> None:
    metrics.LOADER_BATCH_SIZE.labels(loader).observe(size)


class JobMetrics:
    """The worker's job metrics (jobs started/finished, durations)."""

    def started(self, kind: str) -> None:
        metrics.JOBS_STARTED.labels(kind).inc()

    def finished(self, kind: str, status: str, seconds: float) -> None:
        metrics.JOBS_FINISHED.labels(kind, status).inc()
        metrics.JOB_DURATION.labels(kind).observe(seconds)
