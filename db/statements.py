"""Statements off the ORM: built once, compiled once, run on the driver's connection.

A read in a request is a SELECT whose shape is known in advance. Built with SQLAlchemy Core
and executed through an ``AsyncSession`` it paid, on every request, for statement
construction, cache-key generation, ORM compile state, a greenlet hop and result processing:
most of a request's CPU. Here each statement is compiled once into asyncpg's SQL (``$n``
parameters), and run with asyncpg's own ``fetch`` on a connection checked out of the
engine's pool for that one statement, so asyncpg's prepared-statement cache does the rest.
Rows come back as asyncpg records (``row["title"]``), converted once by their reader.

Writes stay on ``AsyncSession`` units of work, except a write that is one statement (it
commits by itself: ``createIssue``'s common case). Both paths report every statement to the
listeners registered with :func:`listen` (the per-request statement count, the tests).
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import asyncpg
from sqlalchemy import event
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import PoolProxiedConnection, QueuePool
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.util import greenlet_spawn

from db.driver_compat import invalidate_pool, pending_cancellations

_DIALECT = asyncpg_dialect()  # type: ignore[no-untyped-call]

StatementListener = Callable[[str], None]
_listeners: weakref.WeakKeyDictionary[Engine, list[StatementListener]] = weakref.WeakKeyDictionary()


def _lost(error: BaseException) -> bool:
    """Did the connection itself fail (not just its statement)?"""
    return isinstance(
        error,
        asyncpg.PostgresConnectionError | asyncpg.InterfaceError | ConnectionError | OSError,
    ) or (
        isinstance(error, asyncpg.PostgresError)
        # admin shutdown, crash shutdown, cannot connect now
        and error.sqlstate in {"57P01", "57P02", "57P03"}
    )


# How long a cancelled statement's connection waits for asyncpg's cancel request to go out.
CANCEL_WAIT_SECONDS = 1.0


async def _cancel_sent(connection: object) -> None:
    """Let asyncpg send the server its cancel request for the statement just cancelled.

    asyncpg asks for it from a callback on the next turn of the loop, in a task of its own
    (private: ``db.driver_compat.pending_cancellations``; without it this only yields once,
    and the server's ``client_connection_check_interval`` (db.engine) stops the statement
    instead).
    """
    await asyncio.sleep(0)
    pending = pending_cancellations(connection)
    if pending:
        await asyncio.wait(pending, timeout=CANCEL_WAIT_SECONDS)


class Row(Protocol):
    """A result row: columns by name (or position), as asyncpg's ``Record`` gives them."""

    def __getitem__(self, key: Any, /) -> Any: ...


def listen(engine: AsyncEngine, listener: StatementListener) -> None:
    """Call ``listener(sql)`` for every statement sent through ``engine``, by either path."""
    sync_engine = engine.sync_engine
    _listeners.setdefault(sync_engine, []).append(listener)
    event.listen(sync_engine, "before_cursor_execute", _orm_adapter(listener))


def remove(engine: AsyncEngine, listener: StatementListener) -> None:
    sync_engine = engine.sync_engine
    _listeners.get(sync_engine, []).remove(listener)
    event.remove(sync_engine, "before_cursor_execute", _orm_adapter(listener))


_adapters: dict[StatementListener, Callable[..., None]] = {}


def _orm_adapter(listener: StatementListener) -> Callable[..., None]:
    """The SQLAlchemy event signature around ``listener`` (the same object for remove)."""
    if listener not in _adapters:

        def adapter(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            listener(statement)

        _adapters[listener] = adapter
    return _adapters[listener]


class Prepared:
    """One SELECT, compiled once: its SQL text and how to turn named values into ``$n``."""

    __slots__ = ("_defaults", "_names", "_processors", "sql")

    def __init__(self, statement: ClauseElement) -> None:
        compiled = statement.compile(dialect=_DIALECT)
        assert isinstance(compiled, SQLCompiler)
        self.sql = str(compiled)
        if "POSTCOMPILE" in self.sql:
            raise ValueError("use `= ANY(array)` parameters: IN lists compile per execution")
        self._names: tuple[str, ...] = tuple(compiled.positiontup or ())
        self._defaults = {name: compiled.params[name] for name in self._names}
        self._processors: tuple[Callable[[Any], Any] | None, ...] = tuple(
            _processor(compiled.binds[name].type) for name in self._names
        )

    def arguments(self, values: Mapping[str, Any]) -> list[Any]:
        """The positional arguments, with the column types' own conversions (enums)."""
        args = []
        for name, process in zip(self._names, self._processors, strict=True):
            value = values[name] if name in values else self._defaults[name]
            args.append(value if process is None or value is None else process(value))
        return args


def _processor(type_: Any) -> Callable[[Any], Any] | None:
    """SQLAlchemy's bind conversion for a type, None when asyncpg takes the value as it is."""
    if isinstance(type_, ARRAY) and _processor(type_.item_type) is None:
        return None
    processor: Callable[[Any], Any] | None = type_.dialect_impl(_DIALECT).bind_processor(_DIALECT)
    return processor


class Statements(Protocol):
    """What services read through: run a prepared read, get its rows."""

    async def fetch(
        self, statement: Prepared, values: Mapping[str, Any] | None = None
    ) -> Sequence[Row]: ...


class EngineStatements:
    """Statements on the connections of an engine's pool, at most ``max_connections`` at a time.

    One per request (or per socket): each statement checks a connection out for just its own
    round trip, so concurrent loader batches never share one (docs/architecture.md, rule 1),
    and the request holds at most ``max_connections`` of the pool. Statements run outside any
    transaction (autocommit): each statement sees the latest committed data.
    """

    __slots__ = ("_engine", "_listeners", "_slots")

    def __init__(self, engine: AsyncEngine, max_connections: int = 2) -> None:
        self._engine = engine
        self._slots = asyncio.Semaphore(max_connections)
        self._listeners = _listeners.get(engine.sync_engine, ())

    async def fetch(
        self, statement: Prepared, values: Mapping[str, Any] | None = None
    ) -> Sequence[Row]:
        args = statement.arguments(values or {})
        for listener in self._listeners:
            listener(statement.sql)
        async with self._slots:
            pooled = await self._engine.raw_connection()
            driver = pooled.driver_connection
            assert driver is not None
            try:
                rows: Sequence[Row] = await driver.fetch(statement.sql, *args)
            except BaseException as error:
                if _lost(error):
                    # The server went away (restart, outage): every pooled connection made
                    # before now is as dead as this one. Invalidate them all, as SQLAlchemy
                    # does on its own disconnects, so they are made anew on their next use.
                    invalidate_pool(self._engine.sync_engine.pool, pooled, error)
                elif not isinstance(error, asyncpg.PostgresError):
                    # Cancelled mid-statement (a disconnect, a deadline): the connection may
                    # still be busy with it, so it must not go back to the pool. But first
                    # the server must hear of it: dropped at once, the connection took
                    # asyncpg's cancel request with it, and the statement ran on (a write
                    # landing after its client was told it was stopped).
                    try:
                        await _cancel_sent(driver)
                    finally:
                        pooled.invalidate()
                raise  # (a statement's own error leaves its connection usable)
            finally:
                await self._check_in(pooled)
        return rows

    async def _check_in(self, pooled: PoolProxiedConnection) -> None:
        """Give the connection back. The pool closes an overflow connection on check-in
        (its queue is full), which awaits the driver through SQLAlchemy's greenlet bridge:
        outside it the close failed (``MissingGreenlet``, logged) and left the connection
        to the garbage collector. Only that case pays for the bridge."""
        pool = self._engine.sync_engine.pool
        if isinstance(pool, QueuePool) and pool.checkedin() >= pool.size():
            await greenlet_spawn(pooled.close)
        else:
            pooled.close()
