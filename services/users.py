"""Users as other people see them: the email is shown only to those who share a workspace."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, any_, bindparam, case, or_, select

from db.models import Membership, User
from db.statements import Prepared, Row
from services.pagination import Joined, ids_param
from services.tenancy import Reads, in_key_order

_users = User.__table__
_memberships = Membership.__table__


def _user_columns(users: Any, prefix: str = "") -> tuple[ColumnElement[Any], ...]:
    """A user's columns as others see them: the email only for the viewer themself and for
    those who share a workspace (``:viewer``, ``:workspaces``); null otherwise."""
    visible = or_(
        users.c.id == bindparam("viewer", type_=BigInteger),
        users.c.id.in_(
            select(_memberships.c.user_id).where(
                _memberships.c.workspace_id == any_(ids_param("workspaces"))
            )
        ),
    )
    return (
        users.c.id.label(f"{prefix}id"),
        users.c.name.label(f"{prefix}name"),
        case((visible, users.c.email)).label(f"{prefix}email"),
        visible.label(f"{prefix}visible_to_viewer"),
    )


USERS_BY_ID = Prepared(select(*_user_columns(_users)).where(_users.c.id == any_(ids_param("ids"))))


def joined_user(name: str, foreign_key: ColumnElement[Any]) -> Joined:
    """The user ``foreign_key`` names, joined to each listed row as ``<name>.id`` and so on
    (``schema.types.joined_user`` reads it back)."""
    users = _users.alias(name)
    return Joined(users, users.c.id == foreign_key, _user_columns(users, f"{name}."))


class UserReads(Reads):
    async def get_many(self, ids: Sequence[int]) -> list[Row | None]:
        """Users by id (``id, name, email, visible_to_viewer``), for fields reached through an
        object the viewer may read; ``email`` is null unless the viewer may see it."""
        viewer = self.viewer
        rows = await self.db.fetch(
            USERS_BY_ID,
            {"ids": list(ids), "viewer": viewer.user_id, "workspaces": viewer.workspace_ids},
        )
        return in_key_order(rows, ids, column=0)
