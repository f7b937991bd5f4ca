"""Users and workspace memberships."""

from __future__ import annotations

from functools import cache
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
    @property
    def people(self) -> dict[int, User]: ...


ContextInfo = Info[RequestContext[UserLoaders], None]
# A user's id, name, email and visible_to_viewer columns, by name.
UserColumns = tuple[str, str, str, str]


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
    def from_row(
        cls, row: Row, columns: UserColumns = ("id", "name", "email", "visible_to_viewer")
    ) -> User:
        """From ``UserReads``, or joined to another row (``joined_user``): ``email`` is
        already null where the viewer may not see it."""
        id_column, name_column, email_column, visible_column = columns
        pk = row[id_column]
        return built(
            cls,
            {
                "id": to_global_id("User", pk),
                "name": row[name_column],
                "email": row[email_column],
                "pk": pk,
                "visible_to_viewer": row[visible_column],
            },
        )

    @classmethod
    def from_view_of_self(cls, pk: int, name: str, email: str) -> User:
        return cls(
            id=to_global_id("User", pk), name=name, email=email, pk=pk, visible_to_viewer=True
        )


@cache
def _joined_columns(name: str) -> UserColumns:
    """The column names of the user joined as ``<name>.…`` (``services.users.joined_user``)."""
    return (f"{name}.id", f"{name}.name", f"{name}.email", f"{name}.visible_to_viewer")


def joined_user(row: Row | None, name: str, people: dict[int, User]) -> User | None:
    """The user read with ``row`` as ``<name>.…``, if any; ``people`` (the request's, see
    ``schema.relations.RelationLoaders.people``) keeps one object per person."""
    if row is None:
        return None
    columns = _joined_columns(name)
    try:
        pk = row[columns[0]]
    except KeyError:  # a row read without that join
        return None
    if pk is None:
        return None
    user = people.get(pk)
    if user is None:
        # The viewer's view of this person is the same in every row of the request.
        user = people[pk] = User.from_row(row, columns)
    return user


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
