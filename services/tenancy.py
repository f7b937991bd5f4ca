"""Tenancy applied once: batch lookups scoped to the viewer's workspaces, and the load a write
starts with (the row, ``NotFound`` if it is another tenant's, then the writer check).

The base classes every read and write service starts from live here too, so that scoping a
list's parents and loading a row to change are written once (``Reads``, ``TenantReads``,
``Service``)."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from functools import cache
from typing import Any, ClassVar, Protocol, TypeVar

from sqlalchemy import ColumnElement, FromClause, any_
from sqlalchemy.ext.asyncio import AsyncSession

from db.statements import Prepared, Row, Statements
from services.errors import NotFound
from services.pagination import (
    NO_FILTERS,
    Filters,
    Joined,
    Listing,
    Page,
    PageArgs,
    SortKey,
    count_per_parent,
    fetch_pages,
    ids_param,
)
from services.viewer import WRITERS, Viewer


class Tenanted(Protocol):
    """A mapped row that belongs to one workspace."""

    @property
    def workspace_id(self) -> int: ...


T = TypeVar("T", bound=Tenanted)


def tenant_listing(
    name: str,
    table: FromClause,
    columns: Sequence[str],
    *,
    parent: str = "workspace_id",
    joined: tuple[Joined, ...] = (),
) -> Listing:
    """A listing of a tenant-scoped table, its rows scoped by their ``workspace_id``: the
    table is named once, its ``columns`` and ``parent`` by their names."""
    return Listing(
        name,
        tuple(table.c[column] for column in columns),
        parent=table.c[parent],
        tenant=table.c.workspace_id,
        joined=joined,
    )


@cache
def _by_ids(listing: Listing) -> Prepared:
    assert listing.tenant is not None
    table_id = listing.columns[0]
    return Prepared(
        listing.select().where(
            table_id == any_(ids_param("ids")), listing.tenant == any_(ids_param("workspaces"))
        )
    )


async def visible_by_ids(
    db: Statements, viewer: Viewer, listing: Listing, ids: Sequence[int]
) -> list[Row | None]:
    """Rows of ``listing`` by id, in key order, ``None`` for missing and for other tenants'
    rows alike (a non-member learns nothing): the shape a dataloader batch returns."""
    if not viewer.workspace_ids:
        return [None] * len(ids)
    rows = await db.fetch(
        _by_ids(listing),
        {"ids": list(ids), "workspaces": viewer.workspace_ids, "viewer": viewer.user_id},
    )
    return in_key_order(rows, ids)


def in_key_order(
    rows: Sequence[Row], keys: Sequence[Hashable], column: int | str = "id"
) -> list[Row | None]:
    """One row (or ``None``) per key, in key order: the shape a dataloader batch returns."""
    by_key = {row[column]: row for row in rows}
    return [by_key.get(key) for key in keys]


async def get_for_write(
    session: AsyncSession,
    viewer: Viewer,
    model: type[T],
    row_id: int,
    *,
    missing: str,
    field: Sequence[str],
    action: str,
    lock: bool = False,
) -> T:
    """The row a mutation changes: ``NotFound`` (with ``missing``) when it does not exist or is
    another tenant's (the two look the same, so a non-member learns nothing), ``Forbidden`` when
    the viewer's role may not ``action``. ``lock`` takes the row lock (``FOR UPDATE``) for writes
    that read the row before changing it."""
    row = await session.get(model, row_id, with_for_update=True if lock else None)
    if row is None or not viewer.can_read(row.workspace_id):
        raise NotFound(missing, field)
    viewer.require_role(row.workspace_id, WRITERS, action=action)
    return row


class Reads:
    """A read class: the statements it runs and the viewer it reads for (one per request)."""

    def __init__(self, db: Statements, viewer: Viewer) -> None:
        self.db = db
        self.viewer = viewer

    def readable(self, workspace_ids: Sequence[int]) -> list[int]:
        """The workspaces of ``workspace_ids`` the viewer is in (a foreign one lists nothing)."""
        return [i for i in workspace_ids if self.viewer.can_read(i)]


class TenantReads(Reads):
    """Reads of one tenant-scoped ``listing``: its rows by id, and pages and counts per parent.

    A list whose parent is the workspace itself (projects, labels, jobs) lists only the
    workspaces the viewer is in; a list under another parent (an issue's comments, a
    project's issues) is scoped by its rows' tenancy column to the viewer's workspaces.
    """

    listing: ClassVar[Listing]

    async def get_many(self, ids: Sequence[int]) -> list[Row | None]:
        return await visible_by_ids(self.db, self.viewer, self.listing, ids)

    def _scope(self, parent_ids: Sequence[int]) -> tuple[Sequence[int], list[int]]:
        """The parents to list and the workspaces to scope the rows to."""
        if self.listing.parent is self.listing.tenant:
            readable = self.readable(parent_ids)
            return readable, readable
        return parent_ids, self.viewer.workspace_ids

    async def pages_per_parent(
        self,
        parent_ids: Sequence[int],
        args: PageArgs,
        sort: SortKey,
        filters: Filters = NO_FILTERS,
        extra: tuple[ColumnElement[Any], ...] = (),
        extra_values: Mapping[str, Any] | None = None,
    ) -> dict[int, Page[Row]]:
        """``fetch_pages`` for the parents the viewer may list (``extra``: columns each row
        brings along, ``extra_values`` their parameters)."""
        parents, workspaces = self._scope(parent_ids)
        return await fetch_pages(
            self.db,
            self.listing,
            parents,
            sort,
            args,
            workspaces=workspaces,
            viewer=self.viewer.user_id,
            filters=filters,
            extra=extra,
            extra_values=extra_values,
        )

    async def counts_per_parent(
        self, parent_ids: Sequence[int], filters: Filters = NO_FILTERS
    ) -> dict[int, int]:
        parents, workspaces = self._scope(parent_ids)
        return await count_per_parent(
            self.db, self.listing, parents, workspaces=workspaces, filters=filters
        )


class Service:
    """A write service: the unit of work's session and the viewer who writes (the caller
    commits, docs/architecture.md)."""

    def __init__(self, session: AsyncSession, viewer: Viewer) -> None:
        self.session = session
        self.viewer = viewer

    async def load_for_write(
        self,
        model: type[T],
        row_id: int,
        *,
        action: str,
        field: Sequence[str] = ("input", "id"),
        lock: bool = False,
    ) -> T:
        """``get_for_write`` with the message every service gives: ``<Model> not found.``"""
        return await get_for_write(
            self.session,
            self.viewer,
            model,
            row_id,
            missing=f"{model.__name__} not found.",
            field=field,
            action=action,
            lock=lock,
        )
