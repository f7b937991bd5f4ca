"""Pages of rows: one statement for the pages of many parents, and their counts."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Subquery

from db.statements import Row, Statements
from services.pagination.cursors import PageArgs, SortKey, decode_cursor, encode_cursor
from services.pagination.listing import NO_FILTERS, Filters, Listing
from services.pagination.statements import (
    PageShape,
    ShapeKey,
    counts_statement,
    page_statement,
    pages_statement,
    parent_with_page_statement,
)

T = TypeVar("T")
U = TypeVar("U")


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


def page_values(args: PageArgs, sort: SortKey, params: str = "") -> dict[str, Any]:
    """The keyset values and the row limit (one extra row tells whether more exist), named
    with the ``params`` prefix of the page's shape."""
    values: dict[str, Any] = {}
    if args.after is not None:
        decoded = decode_cursor(sort, args.after, "after")
        values.update({f"{params}_a{i}": v for i, v in enumerate(decoded)})
    if args.before is not None:
        decoded = decode_cursor(sort, args.before, "before")
        values.update({f"{params}_b{i}": v for i, v in enumerate(decoded)})
    size = args.last if args.backward else args.first
    assert size is not None
    values[f"{params}limit"] = size + 1
    return values


def page_shape(listing: Listing, sort: SortKey, args: PageArgs, params: str = "") -> PageShape:
    return PageShape(
        listing, sort, args.backward, args.after is not None, args.before is not None, params
    )


def page_rows(rows: list[Row], args: PageArgs, sort: SortKey) -> Page[Row]:
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
    extra: tuple[ColumnElement[Any], ...] = (),
    extra_values: Mapping[str, Any] | None = None,
) -> dict[int, Page[Row]]:
    """One page per parent in one statement; parents without rows get an empty page.

    ``workspaces`` and ``viewer`` fill the tenancy and the joined rows' parameters; ``extra``
    columns come with each row (``pages_statement``), ``extra_values`` fill theirs."""
    if not parent_ids:
        return {}
    values = page_values(args, sort)
    statement = pages_statement(page_shape(listing, sort, args), ShapeKey(filters), extra)
    values.update(
        filters.values(), parents=list(parent_ids), workspaces=list(workspaces), viewer=viewer
    )
    if extra_values:
        values.update(extra_values)
    grouped: dict[int, list[Row]] = {pid: [] for pid in parent_ids}
    for row in await db.fetch(statement, values):
        grouped[row[0]].append(row)
    return {pid: page_rows(rows, args, sort) for pid, rows in grouped.items()}


async def fetch_parent_with_page(
    db: Statements,
    listing: Listing,
    parent: Subquery,
    sort: SortKey,
    args: PageArgs,
    values: Mapping[str, Any],
    *,
    workspaces: Sequence[int] = (),
    viewer: int | None = None,
    filters: Filters = NO_FILTERS,
    extra: tuple[ColumnElement[Any], ...] = (),
    extra_values: Mapping[str, Any] | None = None,
) -> tuple[Row, Page[Row]] | None:
    """The one row ``parent`` selects (with ``values``) and its page of ``listing``, in one
    statement (``parent_with_page_statement``); None when it selects nothing. The page's rows
    carry the parent's columns too. A cursor that does not decode raises ``Invalid``."""
    all_values = page_values(args, sort)
    statement = parent_with_page_statement(
        page_shape(listing, sort, args), ShapeKey(filters), extra, parent
    )
    all_values.update(filters.values())
    all_values.update(values)
    all_values.update(extra_values or {}, workspaces=list(workspaces), viewer=viewer)
    rows = await db.fetch(statement, all_values)
    if not rows:
        return None
    first_column = listing.columns[0].name  # the page's, null for a parent alone
    items = [row for row in rows if row[first_column] is not None]
    return rows[0], page_rows(items, args, sort)


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
    values = page_values(args, sort)
    statement = page_statement(page_shape(listing, sort, args), ShapeKey(filters))
    values.update(filters.values(), workspaces=list(workspaces), viewer=viewer)
    return page_rows(list(await db.fetch(statement, values)), args, sort)


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
    statement = counts_statement(listing, ShapeKey(filters))
    values = {**filters.values(), "parents": list(parent_ids), "workspaces": list(workspaces)}
    for row in await db.fetch(statement, values):
        counts[row[0]] = row[1]
    return counts
