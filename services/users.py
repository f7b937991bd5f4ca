"""Users as other people see them: the email is shown only to those who share a workspace."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Membership, User
from services.viewer import Viewer


@dataclass(frozen=True)
class UserView:
    id: int
    name: str
    # None unless the viewer is this user or shares a workspace with them.
    email: str | None
    visible_to_viewer: bool


class UserService:
    def __init__(self, session: AsyncSession, viewer: Viewer) -> None:
        self.session = session
        self.viewer = viewer

    async def get_many(self, ids: Sequence[int]) -> list[UserView | None]:
        """Users by id, for fields reached through an object the viewer may read."""
        shares = exists().where(
            Membership.user_id == User.id,
            Membership.workspace_id.in_(self.viewer.workspace_ids),
        )
        rows = (
            await self.session.execute(
                select(User.id, User.name, User.email, shares).where(User.id.in_(ids))
            )
        ).all()
        by_id: dict[int, UserView] = {}
        for user_id, name, email, shared in rows:
            visible = bool(shared) or user_id == self.viewer.user_id
            by_id[user_id] = UserView(user_id, name, email if visible else None, visible)
        return [by_id.get(i) for i in ids]
