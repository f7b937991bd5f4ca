"""Statements scoped to the viewer's workspaces: the one place a batch lookup applies tenancy."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

from sqlalchemy import any_

from db.statements import Prepared, Row, Statements
from services.pagination import Listing, ids_param
from services.viewer import Viewer


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
