"""Keyset (cursor) pagination, batched per parent, on statements compiled once per shape.

Strawberry's ``ListConnection`` slices in Python with offset cursors; we need keyset pages
computed in PostgreSQL, one query for many parents (docs/architecture.md, rule 3), so this
is our own.

Every page query is ``unnest(:parents) CROSS JOIN LATERAL (... ORDER BY ... LIMIT :limit)``:
each parent gets its own page, and an index on (parent, sort columns) serves each lateral scan.
A query's *shape* (the list, its ordering and direction, which cursors and filters it has) is
compiled once (``db.statements.Prepared``); a request only supplies the values.
"""

from __future__ import annotations

import base64
import binascii
import enum
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Generic, Protocol, TypeVar

import orjson
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    FromClause,
    Integer,
    Select,
    any_,
    bindparam,
    func,
    select,
    true,
    tuple_,
)
from sqlalchemy.dialects.postgresql import ARRAY

from db.statements import Prepared, Row, Statements
from services.errors import Invalid

T = TypeVar("T")
U = TypeVar("U")

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
# Compiled page, list and count statements kept per process (shapes are finite; this bounds
# what unusual filter combinations can add).
STATEMENT_CACHE_SIZE = 1024


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
    expressions: tuple[ColumnElement[Any], ...]
    decoders: tuple[Callable[[Any], Any], ...]
    descending: bool

    def order_by(self, reverse: bool = False) -> list[ColumnElement[Any]]:
        descending = self.descending != reverse
        return [e.desc() if descending else e.asc() for e in self.expressions]

    @property
    def key_names(self) -> tuple[str, ...]:
        """The labels the sort values carry in a page's rows (its cursors are made of them)."""
        return tuple(f"_k{i}" for i in range(len(self.expressions)))


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


def encode_cursor(sort: SortKey, values: Iterable[Any]) -> str:
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
    """One page of a list. Cursors are encoded only when asked for (most clients never do)."""

    items: list[T]
    has_next_page: bool
    has_previous_page: bool
    # The rows the items were made from, which carry their sort values (``SortKey.key_names``).
    rows: Sequence[Row] = ()
    sort: SortKey | None = None

    @classmethod
    def empty(cls) -> Page[T]:
        return cls([], False, False)

    def cursor(self, index: int) -> str:
        assert self.sort is not None
        row = self.rows[index]
        return encode_cursor(self.sort, (row[name] for name in self.sort.key_names))

    def map(self, convert: Callable[[T], U]) -> Page[U]:
        return Page(
            [convert(item) for item in self.items],
            self.has_next_page,
            self.has_previous_page,
            self.rows,
            self.sort,
        )


class Filters(Protocol):
    """Conditions of a list beyond its parent and tenancy (an issue filter, a job status).

    ``shape`` tells which conditions there are (it keys the compiled statement);
    ``conditions`` builds them with bind parameters (once per shape); ``values`` fills them.
    """

    @property
    def shape(self) -> Hashable: ...

    def conditions(self) -> list[ColumnElement[bool]]: ...

    def values(self) -> dict[str, Any]: ...


class NoFilters:
    shape: Hashable = ()

    def conditions(self) -> list[ColumnElement[bool]]:
        return []

    def values(self) -> dict[str, Any]:
        return {}


NO_FILTERS: Filters = NoFilters()


@dataclass(frozen=True)
class Joined:
    """A row of another table joined to each listed row (``LEFT JOIN`` on a foreign key), its
    columns labelled with ``prefix`` (``reporter.name``): a related object read with its rows
    instead of by a statement of its own."""

    table: FromClause  # an alias, so one table can be joined twice
    on: ColumnElement[bool]
    columns: tuple[ColumnElement[Any], ...]


@dataclass(frozen=True)
class Listing:
    """A list of rows of one table: what a page selects, its parent and its tenancy column.

    With ``tenant`` set, every statement is scoped to ``:workspaces`` (the viewer's).
    ``joined`` rows come with every row (their statements may need more parameters).
    """

    name: str
    columns: tuple[ColumnElement[Any], ...]
    parent: ColumnElement[Any] | None = None
    tenant: ColumnElement[Any] | None = None
    joined: tuple[Joined, ...] = ()

    def select(self, *extra: ColumnElement[Any]) -> Select[Any]:
        """``SELECT`` the listing's columns, its joined rows' and ``extra`` from its table."""
        source: FromClause = self.columns[0].table
        for joined in self.joined:
            source = source.outerjoin(joined.table, joined.on)
        joined_columns = (c for joined in self.joined for c in joined.columns)
        return select(*self.columns, *joined_columns, *extra).select_from(source)

    @property
    def names(self) -> list[str]:
        """The names of the selected columns, joined rows' included."""
        return [c.name for c in self.columns] + [
            c.name for joined in self.joined for c in joined.columns
        ]


def ids_param(name: str) -> Any:
    """A list of ids as one array parameter (``= ANY(:name)``): one statement for any size."""
    return bindparam(name, type_=ARRAY(BigInteger))


def _tenancy(listing: Listing) -> list[ColumnElement[bool]]:
    if listing.tenant is None:
        return []
    return [listing.tenant == any_(ids_param("workspaces"))]


def _keyset(sort: SortKey, prefix: str, after: bool) -> ColumnElement[bool]:
    """Rows strictly after (or before) the cursor's values, bound as ``:<prefix><i>``."""
    row = tuple_(*sort.expressions)
    cursor = tuple_(
        *(bindparam(f"{prefix}{i}", type_=e.type) for i, e in enumerate(sort.expressions))
    )
    return (row < cursor) if sort.descending == after else (row > cursor)


@dataclass(frozen=True)
class _PageShape:
    listing: Listing
    sort: SortKey
    backward: bool
    after: bool
    before: bool


def _page_select(shape: _PageShape, filters: Filters) -> Select[Any]:
    """The rows of one page, with the sort values labelled for the cursors."""
    conditions = [*_tenancy(shape.listing), *filters.conditions()]
    if shape.after:
        conditions.append(_keyset(shape.sort, "_a", after=True))
    if shape.before:
        conditions.append(_keyset(shape.sort, "_b", after=False))
    sort = shape.sort
    keys = [e.label(n) for e, n in zip(sort.expressions, sort.key_names, strict=True)]
    return (
        shape.listing.select(*keys)
        .where(*conditions)
        .order_by(*shape.sort.order_by(reverse=shape.backward))
        .limit(bindparam("limit", type_=Integer))
    )


@lru_cache(maxsize=STATEMENT_CACHE_SIZE)
def _pages_statement(shape: _PageShape, filters: Filters) -> Prepared:
    listing = shape.listing
    assert listing.parent is not None
    parents = select(func.unnest(ids_param("parents")).label("pid")).subquery("parents")
    inner = _page_select(shape, filters).where(listing.parent == parents.c.pid).lateral("page")
    names = [*listing.names, *shape.sort.key_names]
    return Prepared(
        select(parents.c.pid, *(inner.c[n] for n in names)).select_from(parents).join(inner, true())
    )


@lru_cache(maxsize=STATEMENT_CACHE_SIZE)
def _page_statement(shape: _PageShape, filters: Filters) -> Prepared:
    return Prepared(_page_select(shape, filters))


@lru_cache(maxsize=STATEMENT_CACHE_SIZE)
def _counts_statement(listing: Listing, filters: Filters) -> Prepared:
    assert listing.parent is not None
    return Prepared(
        select(listing.parent, func.count())
        .where(
            listing.parent == any_(ids_param("parents")),
            *_tenancy(listing),
            *filters.conditions(),
        )
        .group_by(listing.parent)
    )


def _window(args: PageArgs, sort: SortKey) -> dict[str, Any]:
    """The keyset values and the row limit (one extra row tells whether more exist)."""
    values: dict[str, Any] = {}
    if args.after is not None:
        decoded = decode_cursor(sort, args.after, "after")
        values.update({f"_a{i}": v for i, v in enumerate(decoded)})
    if args.before is not None:
        decoded = decode_cursor(sort, args.before, "before")
        values.update({f"_b{i}": v for i, v in enumerate(decoded)})
    size = args.last if args.backward else args.first
    assert size is not None
    values["limit"] = size + 1
    return values


def _shape(listing: Listing, sort: SortKey, args: PageArgs) -> _PageShape:
    return _PageShape(listing, sort, args.backward, args.after is not None, args.before is not None)


def _to_page(rows: list[Row], args: PageArgs, sort: SortKey) -> Page[Row]:
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
    return Page(rows, has_next, has_previous, rows, sort)


async def fetch_pages(
    db: Statements,
    listing: Listing,
    parent_ids: Sequence[int],
    sort: SortKey,
    args: PageArgs,
    *,
    workspaces: Sequence[int] = (),
    viewer: int | None = None,
    filters: Filters = NO_FILTERS,
) -> dict[int, Page[Row]]:
    """One page per parent in one statement; parents without rows get an empty page.

    ``workspaces`` and ``viewer`` fill the tenancy and the joined rows' parameters."""
    if not parent_ids:
        return {}
    values = _window(args, sort)
    statement = _pages_statement(_shape(listing, sort, args), _ShapeKey(filters))
    values.update(
        filters.values(), parents=list(parent_ids), workspaces=list(workspaces), viewer=viewer
    )
    grouped: dict[int, list[Row]] = {pid: [] for pid in parent_ids}
    for row in await db.fetch(statement, values):
        grouped[row[0]].append(row)
    return {pid: _to_page(rows, args, sort) for pid, rows in grouped.items()}


async def fetch_page(
    db: Statements,
    listing: Listing,
    sort: SortKey,
    args: PageArgs,
    *,
    workspaces: Sequence[int] = (),
    viewer: int | None = None,
    filters: Filters = NO_FILTERS,
) -> Page[Row]:
    """A single page of a list that has no parent to batch by (viewer's workspaces, search)."""
    values = _window(args, sort)
    statement = _page_statement(_shape(listing, sort, args), _ShapeKey(filters))
    values.update(filters.values(), workspaces=list(workspaces), viewer=viewer)
    return _to_page(list(await db.fetch(statement, values)), args, sort)


async def count_per_parent(
    db: Statements,
    listing: Listing,
    parent_ids: Sequence[int],
    *,
    workspaces: Sequence[int] = (),
    filters: Filters = NO_FILTERS,
) -> dict[int, int]:
    counts = dict.fromkeys(parent_ids, 0)
    if not parent_ids:
        return counts
    statement = _counts_statement(listing, _ShapeKey(filters))
    values = {**filters.values(), "parents": list(parent_ids), "workspaces": list(workspaces)}
    for row in await db.fetch(statement, values):
        counts[row[0]] = row[1]
    return counts


class _ShapeKey:
    """``filters`` as a statement cache key: equal when their shapes are (values aside)."""

    __slots__ = ("filters",)

    def __init__(self, filters: Filters) -> None:
        self.filters = filters

    @property
    def shape(self) -> Hashable:
        return self.filters.shape

    def conditions(self) -> list[ColumnElement[bool]]:
        return self.filters.conditions()

    def values(self) -> dict[str, Any]:
        return self.filters.values()

    def __hash__(self) -> int:
        return hash((type(self.filters), self.filters.shape))

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, _ShapeKey)
            and type(self.filters) is type(other.filters)
            and self.filters.shape == other.filters.shape
        )


# The same shapes, statements, values and pages, for a page nested in its parent's row
# (services/nested_pages.py).
page_shape = _shape
page_select = _page_select
page_values = _window
page_rows = _to_page
