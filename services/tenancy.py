"""Tenancy applied once: batch lookups scoped to the viewer's workspaces, and the load a write
starts with (the row, ``NotFound`` if it is another tenant's, then the writer check)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Protocol, TypeVar

from sqlalchemy import any_
from sqlalchemy.ext.asyncio import AsyncSession

from db.statements import Prepared, Row, Statements
from services.errors import NotFound
from services.pagination import Listing, ids_param
from services.viewer import WRITERS, Viewer


class Tenanted(Protocol):
    """A mapped row that belongs to one workspace."""

    @property
    def workspace_id(self) -> int: ...


T = TypeVar("T", bound=Tenanted)


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
    by_id = {row["id"]: row for row in rows}
    return [by_id.get(i) for i in ids]


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
