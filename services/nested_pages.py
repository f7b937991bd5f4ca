"""Rows nested in their parent's row: a child list or page as one array column.

A read of one object with its relations (``Query.issue``: the issue, its labels, a page of its
comments) took a statement per relation, each a round trip after the parent's. Here a relation
is a correlated subquery of the parent's statement that aggregates its rows into an array of
anonymous records (``array_agg(ROW(...) ORDER BY ...)``), which asyncpg decodes into tuples
with their columns' types; :func:`nested_rows` gives them back their names. A page is the same
keyset page ``services.pagination`` runs per parent (tenancy, cursors, limit), correlated to
the parent's column instead of a list of parent ids, so its rows, cursors and page flags are
the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, FromClause, func, select
from sqlalchemy.dialects.postgresql import aggregate_order_by

from db.statements import Row
from services.pagination import (
    NO_FILTERS,
    Listing,
    Page,
    PageArgs,
    SortKey,
    page_names,
    page_rows,
    page_select,
    page_shape,
    page_values,
)


def nested_rows(records: Sequence[tuple[Any, ...]] | None, names: Sequence[str]) -> list[Row]:
    """The rows of a nested array column (NULL when the subquery found none), by name.

    Plain dicts: built in C and read in C (a W1 page has ~400 nested records)."""
    if not records:
        return []
    # Not strict: each record is ROW(...) of exactly these columns, and the check costs a
    # third of building the dict.
    return [dict(zip(names, values, strict=False)) for values in records]


def nested_page(
    listing: Listing,
    sort: SortKey,
    args: PageArgs,
    parent: ColumnElement[Any],
    outer: FromClause,
    params: str,
) -> tuple[Any, list[str]]:
    """One keyset page of ``listing`` under the row of ``outer`` (the table of the statement
    it goes in) whose ``parent`` column it matches: the array column and the names of its
    records' fields. Its values come from :func:`page_values` with the same ``params`` prefix
    (the statement it goes in may be a page with parameters of its own)."""
    shape = page_shape(listing, sort, args, params)
    assert listing.parent is not None
    page = page_select(shape, NO_FILTERS).where(listing.parent == parent).correlate(outer)
    names = page_names(listing, sort)
    rows = page.subquery("page")
    fetch_order = [
        (rows.c[n].desc() if sort.descending != args.backward else rows.c[n].asc())
        for n in sort.key_names
    ]
    records = func.row(*(rows.c[n] for n in names))
    column = (
        select(func.array_agg(aggregate_order_by(records, *fetch_order)))
        .select_from(rows)
        .scalar_subquery()
    )
    return column, names


def nested_page_of(
    records: Sequence[tuple[Any, ...]] | None, names: Sequence[str], args: PageArgs, sort: SortKey
) -> Page[Row]:
    """The page a :func:`nested_page` column holds, as ``fetch_pages`` would return it."""
    return page_rows(nested_rows(records, names), args, sort)


__all__ = ["nested_page", "nested_page_of", "nested_rows", "page_values"]
