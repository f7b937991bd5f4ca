"""The page and count statements, built and compiled once per shape.

Every page query is ``unnest(:parents) CROSS JOIN LATERAL (... ORDER BY ... LIMIT :limit)``:
each parent gets its own page, and an index on (parent, sort columns) serves each lateral scan.
A query's *shape* (the list, its ordering and direction, which cursors and filters it has) is
compiled once (``db.statements.Prepared``); a request only supplies the values.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    Subquery,
    any_,
    bindparam,
    func,
    select,
    true,
    tuple_,
)

from db.statements import Prepared
from services.pagination.cursors import SortKey
from services.pagination.listing import Filters, Listing, ids_param

# Compiled page, list and count statements kept per process (shapes are finite; this bounds
# what unusual filter combinations can add).
STATEMENT_CACHE_SIZE = 1024


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
class PageShape:
    listing: Listing
    sort: SortKey
    backward: bool
    after: bool
    before: bool
    # Prefixes the page's own parameters (limit, cursors): a page nested in another page's
    # rows (``services/nested_pages.py``) must not share the outer page's.
    params: str = ""


def _labelled(key_name: str) -> bool:
    """A sort value the page labels itself (``SortKey.key_names``): not a listed column."""
    return key_name.startswith("_k")


def page_names(listing: Listing, sort: SortKey) -> list[str]:
    """The columns of a page's rows: the listing's, then the sort values it lacks."""
    names = listing.names
    for name in sort.key_names:
        if not _labelled(name) and name not in names:
            # A plain column sorted on carries its own name: the listing must select it.
            raise ValueError(f"{listing.name} does not select its sort column {name!r}")
    return [*names, *filter(_labelled, sort.key_names)]


def page_select(shape: PageShape, filters: Filters) -> Select[Any]:
    """The rows of one page, with the sort values the listing lacks labelled for the cursors."""
    conditions = [*_tenancy(shape.listing), *filters.conditions()]
    if shape.after:
        conditions.append(_keyset(shape.sort, f"{shape.params}_a", after=True))
    if shape.before:
        conditions.append(_keyset(shape.sort, f"{shape.params}_b", after=False))
    sort = shape.sort
    page_names(shape.listing, sort)  # (checks that the listing has its sort columns)
    keys = [
        e.label(n) for e, n in zip(sort.expressions, sort.key_names, strict=True) if _labelled(n)
    ]
    return (
        shape.listing.select(*keys)
        .where(*conditions)
        .order_by(*shape.sort.order_by(reverse=shape.backward))
        .limit(bindparam(f"{shape.params}limit", type_=Integer))
    )


def _page_under(
    shape: PageShape,
    filters: Filters,
    extra: tuple[ColumnElement[Any], ...],
    parents: Subquery,
) -> tuple[Any, list[str]]:
    """The page of each row of ``parents`` (its ``pid`` column) as a lateral subquery, and
    the names of its columns."""
    listing = shape.listing
    assert listing.parent is not None
    inner = (
        page_select(shape, filters)
        .add_columns(*extra)
        .where(listing.parent == parents.c.pid)
        .lateral("page")
    )
    return inner, [*page_names(listing, shape.sort), *(c.name for c in extra)]


@lru_cache(maxsize=STATEMENT_CACHE_SIZE)
def pages_statement(
    shape: PageShape, filters: Filters, extra: tuple[ColumnElement[Any], ...] = ()
) -> Prepared:
    """``extra``: labelled columns each row brings along (a relation nested in it); built once
    per shape by the caller, since they key this cache."""
    parents = select(func.unnest(ids_param("parents")).label("pid")).subquery("parents")
    inner, names = _page_under(shape, filters, extra, parents)
    return Prepared(
        select(parents.c.pid, *(inner.c[n] for n in names)).select_from(parents).join(inner, true())
    )


@lru_cache(maxsize=STATEMENT_CACHE_SIZE)
def parent_with_page_statement(
    shape: PageShape,
    filters: Filters,
    extra: tuple[ColumnElement[Any], ...],
    parent: Subquery,
) -> Prepared:
    """The row ``parent`` selects (its ``pid`` and other columns) with its page, in one
    statement: a row per item, each with the parent's columns, or the parent alone (the page's
    columns null) when the page is empty. ``parent`` is built once: it keys this cache."""
    inner, names = _page_under(shape, filters, extra, parent)
    return Prepared(
        select(*parent.c, *(inner.c[n] for n in names)).select_from(parent).outerjoin(inner, true())
    )


@lru_cache(maxsize=STATEMENT_CACHE_SIZE)
def page_statement(shape: PageShape, filters: Filters) -> Prepared:
    return Prepared(page_select(shape, filters))


@lru_cache(maxsize=STATEMENT_CACHE_SIZE)
def counts_statement(listing: Listing, filters: Filters) -> Prepared:
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


class ShapeKey:
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
            isinstance(other, ShapeKey)
            and type(self.filters) is type(other.filters)
            and self.filters.shape == other.filters.shape
        )
