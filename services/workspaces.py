"""Workspaces and their members."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import String, any_, bindparam, func, select
from sqlalchemy.dialects.postgresql import insert

from db.models import Membership, Role, User, Workspace
from db.statements import Prepared, Row
from services import validation
from services.errors import Conflict, NotFound
from services.pagination import (
    Listing,
    Page,
    PageArgs,
    SortKey,
    count_per_parent,
    decode_bigint,
    fetch_page,
    fetch_pages,
    ids_param,
)
from services.tenancy import Reads, Service, in_key_order
from services.viewer import OWNERS

_workspaces = Workspace.__table__
_memberships = Membership.__table__
# The viewer's own workspaces: scoped by id.
WORKSPACES = Listing(
    "workspaces",
    (_workspaces.c.id, _workspaces.c.slug, _workspaces.c.name),
    tenant=_workspaces.c.id,
)
MEMBERS = Listing(
    "members",
    (
        _memberships.c.id,
        _memberships.c.workspace_id,
        _memberships.c.user_id,
        _memberships.c.role,
    ),
    parent=_memberships.c.workspace_id,
)
WORKSPACE_ORDER = SortKey("workspaces:id", (_workspaces.c.id,), (decode_bigint,), False)
MEMBER_ORDER = SortKey("members:id", (_memberships.c.id,), (decode_bigint,), False)
WORKSPACES_BY_ID = Prepared(
    select(*WORKSPACES.columns).where(_workspaces.c.id == any_(ids_param("ids")))
)
WORKSPACE_BY_SLUG = Prepared(
    select(*WORKSPACES.columns).where(
        _workspaces.c.slug == bindparam("slug", type_=String),
        _workspaces.c.id == any_(ids_param("workspaces")),
    )
)


class WorkspaceReads(Reads):
    async def get_many(self, ids: Sequence[int]) -> list[Row | None]:
        readable = self.readable(ids)
        if not readable:
            return [None] * len(ids)
        return in_key_order(await self.db.fetch(WORKSPACES_BY_ID, {"ids": readable}), ids)

    async def get_by_slug(self, slug: str) -> Row | None:
        if not self.viewer.workspace_ids:
            return None
        rows = await self.db.fetch(
            WORKSPACE_BY_SLUG, {"slug": slug, "workspaces": self.viewer.workspace_ids}
        )
        return rows[0] if rows else None

    async def page_for_viewer(self, args: PageArgs) -> Page[Row]:
        if not self.viewer.workspace_ids:
            return Page.empty()
        return await fetch_page(
            self.db, WORKSPACES, WORKSPACE_ORDER, args, workspaces=self.viewer.workspace_ids
        )

    def count_for_viewer(self) -> int:
        return len(self.viewer.roles)

    async def member_pages(
        self, workspace_ids: Sequence[int], args: PageArgs
    ) -> dict[int, Page[Row]]:
        return await fetch_pages(self.db, MEMBERS, self.readable(workspace_ids), MEMBER_ORDER, args)

    async def member_counts(self, workspace_ids: Sequence[int]) -> dict[int, int]:
        return await count_per_parent(self.db, MEMBERS, self.readable(workspace_ids))


class WorkspaceService(Service):
    # -- writes --------------------------------------------------------------------------------

    async def create(self, *, slug: str, name: str) -> Workspace:
        slug = validation.slug(slug, ["input", "slug"])
        name = validation.name(name, ["input", "name"])
        # ON CONFLICT instead of check-then-insert: two concurrent creators cannot both win.
        workspace_id = await self.session.scalar(
            insert(Workspace)
            .values(slug=slug, name=name)
            .on_conflict_do_nothing(index_elements=["slug"])
            .returning(Workspace.id)
        )
        if workspace_id is None:
            raise Conflict(f"The slug '{slug}' is taken.", ["input", "slug"])
        self.session.add(
            Membership(workspace_id=workspace_id, user_id=self.viewer.user_id, role=Role.OWNER)
        )
        await self.session.flush()
        return await self.session.get_one(Workspace, workspace_id)

    async def add_member(self, *, workspace_id: int, email: str, role: Role) -> Membership:
        self.viewer.require_role(
            workspace_id, OWNERS, ["input", "workspaceId"], action="add members"
        )
        user_id = await self.session.scalar(
            select(User.id).where(func.lower(User.email) == email.strip().lower())
        )
        if user_id is None:
            raise NotFound("No user with this email.", ["input", "email"])
        membership_id = await self.session.scalar(
            insert(Membership)
            .values(workspace_id=workspace_id, user_id=user_id, role=role)
            .on_conflict_do_nothing(index_elements=["workspace_id", "user_id"])
            .returning(Membership.id)
        )
        if membership_id is None:
            raise Conflict("This user is already a member.", ["input", "email"])
        return await self.session.get_one(Membership, membership_id)

    async def _lock_membership(self, workspace_id: int, user_id: int) -> Membership:
        """Lock the workspace row first: owner-count checks below are then serialized."""
        await self.session.execute(
            select(Workspace.id).where(Workspace.id == workspace_id).with_for_update()
        )
        membership = await self.session.scalar(
            select(Membership).where(
                Membership.workspace_id == workspace_id, Membership.user_id == user_id
            )
        )
        if membership is None:
            raise NotFound("This user is not a member of the workspace.", ["input", "userId"])
        return membership

    async def _other_owner_exists(self, workspace_id: int, user_id: int) -> bool:
        owners = await self.session.scalar(
            select(func.count()).where(
                Membership.workspace_id == workspace_id,
                Membership.role == Role.OWNER,
                Membership.user_id != user_id,
            )
        )
        return bool(owners)

    async def update_member(self, *, workspace_id: int, user_id: int, role: Role) -> Membership:
        self.viewer.require_role(
            workspace_id, OWNERS, ["input", "workspaceId"], action="change members' roles"
        )
        membership = await self._lock_membership(workspace_id, user_id)
        if (
            membership.role is Role.OWNER
            and role is not Role.OWNER
            and not await self._other_owner_exists(workspace_id, user_id)
        ):
            raise Conflict("The last owner cannot be demoted.", ["input", "role"])
        membership.role = role
        await self.session.flush()
        return membership

    async def remove_member(self, *, workspace_id: int, user_id: int) -> None:
        self.viewer.require_role(
            workspace_id, OWNERS, ["input", "workspaceId"], action="remove members"
        )
        membership = await self._lock_membership(workspace_id, user_id)
        if membership.role is Role.OWNER and not await self._other_owner_exists(
            workspace_id, user_id
        ):
            raise Conflict("The last owner cannot be removed.", ["input", "userId"])
        await self.session.delete(membership)
        await self.session.flush()
