"""Keyset (cursor) pagination, batched per parent.

Strawberry's ``ListConnection`` slices in Python with offset cursors; we need keyset pages
computed in PostgreSQL, one query for many parents (docs/architecture.md, rule 3), so this
is our own.

Every page query is ``unnest(parent ids) CROSS JOIN LATERAL (... ORDER BY ... LIMIT n+1)``:
each parent gets its own page, and an index on (parent, sort columns) serves each lateral scan.
"""

from __future__ import annotations

import base64
import binascii
import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar, cast

import orjson
from sqlalchemy import BigInteger, ColumnElement, Select, func, literal, select, true, tuple_
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from db.models import Base
from services.errors import Invalid

T = TypeVar("T")
M = TypeVar("M", bound=Base)

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class PageArgs:
    first: int | None = None
    after: str | None = None
    last: int | None = None
    before: str | None = None

    @classmethod
    def checked(
        cls,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        *,
        default_size: int = DEFAULT_PAGE_SIZE,
        max_size: int = MAX_PAGE_SIZE,
    ) -> PageArgs:
        """Default 20 when neither is given, 0..100 otherwise.

        The paging rule of docs/architecture.md (domain rules).
        """
        for arg_name, value in (("first", first), ("last", last)):
            if value is not None and not 0 <= value <= max_size:
                raise Invalid(
                    f"`{arg_name}` must be between 0 and {max_size}; got {value}.", [arg_name]
                )
        if first is None and last is None:
            first = default_size
        return cls(first=first, after=after, last=last, before=before)

    @property
    def backward(self) -> bool:
        return self.first is None and self.last is not None


@dataclass(frozen=True)
class SortKey:
    """An ordering: expressions sorted in one direction, ending in a unique column.

    ``name`` goes into every cursor so a cursor from one ordering is refused by another.
    ``decoders`` turn a cursor's JSON values back into the column types.
    """

    name: str
    expressions: tuple[ColumnElement[Any] | InstrumentedAttribute[Any], ...]
    decoders: tuple[Callable[[Any], Any], ...]
    descending: bool

    def order_by(self, reverse: bool = False) -> list[ColumnElement[Any]]:
        descending = self.descending != reverse
        return [e.desc() if descending else e.asc() for e in self.expressions]


def decode_datetime(value: Any) -> datetime:
    if not isinstance(value, str):
        raise TypeError("expected a timestamp")
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError("expected a timestamp with a time zone")
    return parsed.astimezone(UTC)  # OverflowError past year 9999 in UTC: refused by the caller


def _decode_int(bits: int) -> Callable[[Any], int]:
    """An integer that fits the column: a crafted cursor must not overflow the query."""
    limit = 2 ** (bits - 1)

    def decode(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not -limit <= value < limit:
            raise ValueError(f"expected an int{bits}")
        return value

    return decode


decode_int = _decode_int(32)
decode_bigint = _decode_int(64)


def decode_str(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("expected a string")
    return value


def decode_float(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError("expected a number")
    return float(value)


def decode_enum(enum_cls: type[enum.Enum]) -> Callable[[Any], enum.Enum]:
    return lambda value: enum_cls(value)


def _encode_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    return value


def encode_cursor(sort: SortKey, values: Sequence[Any]) -> str:
    raw = orjson.dumps([sort.name, *(_encode_value(v) for v in values)])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(sort: SortKey, cursor: str, arg_name: str) -> tuple[Any, ...]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        payload = orjson.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(payload, list) or payload[0] != sort.name:
            raise ValueError("cursor from another list or ordering")
        values = payload[1:]
        if len(values) != len(sort.decoders):
            raise ValueError("wrong number of values")
        return tuple(decode(v) for decode, v in zip(sort.decoders, values, strict=True))
    except (
        ValueError,
        TypeError,
        IndexError,
        KeyError,
        OverflowError,
        binascii.Error,
        orjson.JSONDecodeError,
    ):
        raise Invalid(
            f"`{arg_name}` is not a valid cursor for this list and ordering.", [arg_name]
        ) from None


@dataclass
class Page(Generic[T]):
    items: list[T]
    cursors: list[str]
    has_next_page: bool
    has_previous_page: bool

    @classmethod
    def empty(cls) -> Page[T]:
        return cls([], [], False, False)


def _typed(sort: SortKey, values: tuple[Any, ...]) -> ColumnElement[Any]:
    """The cursor's values as a row, each bound with its column's type (enums included)."""
    return tuple_(
        *(literal(v, type_=e.type) for e, v in zip(sort.expressions, values, strict=True))
    )


def _after(sort: SortKey, values: tuple[Any, ...]) -> ColumnElement[bool]:
    """Rows strictly after ``values`` in the sort order."""
    row = tuple_(*sort.expressions)
    return row < _typed(sort, values) if sort.descending else row > _typed(sort, values)


def _before(sort: SortKey, values: tuple[Any, ...]) -> ColumnElement[bool]:
    row = tuple_(*sort.expressions)
    return row > _typed(sort, values) if sort.descending else row < _typed(sort, values)


def _window(args: PageArgs, sort: SortKey) -> tuple[list[ColumnElement[bool]], int]:
    """The keyset conditions and the row limit (one extra row tells whether more exist)."""
    conditions: list[ColumnElement[bool]] = []
    if args.after is not None:
        conditions.append(_after(sort, decode_cursor(sort, args.after, "after")))
    if args.before is not None:
        conditions.append(_before(sort, decode_cursor(sort, args.before, "before")))
    size = args.last if args.backward else args.first
    assert size is not None
    return conditions, size + 1


def _to_page(rows: list[tuple[M, tuple[Any, ...]]], args: PageArgs, sort: SortKey) -> Page[M]:
    if args.backward:
        assert args.last is not None
        has_previous = len(rows) > args.last
        rows = rows[: args.last]
        rows.reverse()
        has_next = args.before is not None
    else:
        assert args.first is not None
        has_next = len(rows) > args.first
        rows = rows[: args.first]
        has_previous = args.after is not None
        if args.last is not None and len(rows) > args.last:
            rows = rows[len(rows) - args.last :]
            has_previous = True
    return Page(
        items=[entity for entity, _ in rows],
        cursors=[encode_cursor(sort, values) for _, values in rows],
        has_next_page=has_next,
        has_previous_page=has_previous,
    )


def _loaded_columns(entity: type[Base]) -> list[Any]:
    table = entity.__table__
    deferred = {"search_vector"}
    return [c for c in table.columns if c.name not in deferred]


async def fetch_pages(
    session: AsyncSession,
    *,
    entity: type[M],
    parent_column: InstrumentedAttribute[int],
    parent_ids: Sequence[int],
    sort: SortKey,
    args: PageArgs,
    where: Sequence[ColumnElement[bool]] = (),
) -> dict[int, Page[M]]:
    """One page per parent in one statement; parents without rows get an empty page.

    The items are plain rows (attribute access by column name, like the model), not ORM
    instances: pages are read-only, and skipping identity-map bookkeeping for hundreds of
    rows per request is a quarter of a nested read's CPU time.
    """
    if not parent_ids:
        return {}
    conditions, limit = _window(args, sort)
    keys = [e.label(f"_k{i}") for i, e in enumerate(sort.expressions)]
    parents = select(
        func.unnest(literal(list(parent_ids), ARRAY(BigInteger))).label("pid")
    ).subquery("parents")
    inner = (
        select(*_loaded_columns(entity), *keys)
        .where(parent_column == parents.c.pid, *where, *conditions)
        .order_by(*sort.order_by(reverse=args.backward))
        .limit(limit)
        .lateral("page")
    )
    columns = [inner.c[c.name] for c in _loaded_columns(entity)]
    width = len(columns)
    stmt: Select[Any] = (
        select(parents.c.pid, *columns, *(inner.c[k.name] for k in keys))
        .select_from(parents)
        .join(inner, true())
    )
    grouped: dict[int, list[tuple[M, tuple[Any, ...]]]] = {pid: [] for pid in parent_ids}
    # Core rows read like the model (``row.title``: the columns keep their names).
    for row in (await session.execute(stmt)).all():
        grouped[row[0]].append((cast(M, row), tuple(row[1 + width :])))
    return {pid: _to_page(rows, args, sort) for pid, rows in grouped.items()}


async def fetch_page(
    session: AsyncSession,
    *,
    entity: type[M],
    sort: SortKey,
    args: PageArgs,
    where: Sequence[ColumnElement[bool]] = (),
    extra_columns: Sequence[ColumnElement[Any]] = (),
) -> Page[M]:
    """A single page of a list that has no parent to batch by (viewer's workspaces, search)."""
    conditions, limit = _window(args, sort)
    stmt = (
        select(entity, *sort.expressions, *extra_columns)
        .where(*where, *conditions)
        .order_by(*sort.order_by(reverse=args.backward))
        .limit(limit)
    )
    n = len(sort.expressions)
    rows = [(row[0], tuple(row[1 : 1 + n])) for row in (await session.execute(stmt)).all()]
    return _to_page(rows, args, sort)


async def count_per_parent(
    session: AsyncSession,
    *,
    parent_column: InstrumentedAttribute[int],
    parent_ids: Sequence[int],
    where: Sequence[ColumnElement[bool]] = (),
) -> dict[int, int]:
    stmt = (
        select(parent_column, func.count())
        .where(parent_column.in_(parent_ids), *where)
        .group_by(parent_column)
    )
    counts = dict.fromkeys(parent_ids, 0)
    for pid, count in (await session.execute(stmt)).all():
        counts[pid] = count
    return counts
