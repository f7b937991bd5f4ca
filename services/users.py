"""Users as other people see them: the email is shown only to those who share a workspace."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import BigInteger, any_, bindparam, case, exists, or_, select

from db.models import Membership, User
from db.statements import Prepared, Row, Statements
from services.pagination import ids_param
from services.viewer import Viewer

_users = User.__table__
_memberships = Membership.__table__
# The viewer themself, or anyone sharing one of the viewer's workspaces, sees the email.
_visible = or_(
    _users.c.id == bindparam("viewer", type_=BigInteger),
    exists().where(
        _memberships.c.user_id == _users.c.id,
        _memberships.c.workspace_id == any_(ids_param("workspaces")),
    ),
)
USERS_BY_ID = Prepared(
    select(
        _users.c.id,
        _users.c.name,
        case((_visible, _users.c.email)).label("email"),
        _visible.label("visible_to_viewer"),
    ).where(_users.c.id == any_(ids_param("ids")))
)


class UserReads:
    def __init__(self, db: Statements, viewer: Viewer) -> None:
        self.db = db
        self.viewer = viewer

    async def get_many(self, ids: Sequence[int]) -> list[Row | None]:
        """Users by id (``id, name, email, visible_to_viewer``), for fields reached through an
        object the viewer may read; ``email`` is null unless the viewer may see it."""
        viewer = self.viewer
        rows = await self.db.fetch(
            USERS_BY_ID,
            {"ids": list(ids), "viewer": viewer.user_id, "workspaces": viewer.workspace_ids},
        )
        by_id = {row[0]: row for row in rows}
        return [by_id.get(i) for i in ids]
