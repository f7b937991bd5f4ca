"""Users and workspace memberships."""

from __future__ import annotations

from typing import Protocol, cast

import strawberry
from aiodataloader import DataLoader
from strawberry.types import Info

from schema.context import RequestContext
from schema.ids import to_global_id
from schema.types.base import ROLE, Node, built
from services import types as domain
from services.types import Row


class UserLoaders(Protocol):
    """The loaders the types of this module read."""

    @property
    def user(self) -> DataLoader[int, User | None]: ...


ContextInfo = Info[RequestContext[UserLoaders], None]


@strawberry.type
class User(Node):
    name: str
    email: str | None = strawberry.field(
        description="Visible to the user themself and to members of a workspace they share; "
        "null otherwise."
    )
    pk: strawberry.Private[int]
    visible_to_viewer: strawberry.Private[bool]

    @classmethod
    def from_row(cls, row: Row, prefix: str = "") -> User:
        """From ``UserReads``, or joined to another row under ``prefix``: ``email`` is
        already null where the viewer may not see it."""
        pk = row[prefix + "id"]
        return built(
            cls,
            {
                "id": to_global_id("User", pk),
                "name": row[prefix + "name"],
                "email": row[prefix + "email"],
                "pk": pk,
                "visible_to_viewer": row[prefix + "visible_to_viewer"],
            },
        )

    @classmethod
    def from_view_of_self(cls, pk: int, name: str, email: str) -> User:
        return cls(
            id=to_global_id("User", pk), name=name, email=email, pk=pk, visible_to_viewer=True
        )


def joined_user(row: Row | None, name: str) -> User | None:
    """The user read with ``row`` as ``<name>.…`` (``services.users.joined_user``), if any."""
    if row is None:
        return None
    prefix = name + "."
    try:
        pk = row[prefix + "id"]
    except KeyError:  # a row read without that join
        return None
    return None if pk is None else User.from_row(row, prefix)


@strawberry.type
class Membership:
    role: domain.Role
    user_id: strawberry.Private[int]
    workspace_id: strawberry.Private[int]

    @strawberry.field
    async def user(self, info: ContextInfo) -> User:
        # A member's user exists (a null here is the executor's non-null error, as before).
        return cast(User, await info.context.loaders.user.load(self.user_id))

    @classmethod
    def from_model(cls, membership: domain.Membership) -> Membership:
        return cls(
            role=membership.role,
            user_id=membership.user_id,
            workspace_id=membership.workspace_id,
        )

    @classmethod
    def from_row(cls, row: Row) -> Membership:
        return built(
            cls,
            {
                "role": ROLE[row["role"]],
                "user_id": row["user_id"],
                "workspace_id": row["workspace_id"],
            },
        )
