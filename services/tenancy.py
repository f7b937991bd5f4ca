"""Reads scoped to the viewer's workspaces: the one place a batch lookup applies tenancy."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.viewer import Viewer

R = TypeVar("R", bound=Any)


async def visible_by_ids(
    session: AsyncSession, viewer: Viewer, model: type[R], ids: Sequence[int]
) -> list[R | None]:
    """Rows of ``model`` by id, in key order, ``None`` for missing and for other tenants'
    rows alike (a non-member learns nothing): the shape a dataloader batch returns."""
    if not viewer.workspace_ids:
        return [None] * len(ids)
    rows = await session.scalars(
        select(model).where(model.id.in_(ids), model.workspace_id.in_(viewer.workspace_ids))
    )
    by_id = {row.id: row for row in rows}
    return [by_id.get(i) for i in ids]
