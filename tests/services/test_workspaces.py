"""WorkspaceService: creating a workspace makes its creator OWNER; only owners manage members;
the last OWNER stays; slugs are validated and unique."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Membership, Role
from services.errors import Conflict, Forbidden, Invalid, NotFound
from services.workspaces import WorkspaceService
from tests.support.domain import Tenants, make_viewer


async def test_the_creator_owns_the_new_workspace(session: AsyncSession) -> None:
    creator = await make_viewer(session, "creator@example.com", {})
    workspace = await WorkspaceService(session, creator).create(slug="fresh", name="Fresh")
    members = (
        await session.execute(
            select(Membership.user_id, Membership.role).where(
                Membership.workspace_id == workspace.id
            )
        )
    ).all()
    assert [tuple(m) for m in members] == [(creator.user_id, Role.OWNER)]


async def test_slugs_are_validated_and_unique(session: AsyncSession, tenants: Tenants) -> None:
    service = WorkspaceService(session, tenants.stranger)
    with pytest.raises(Invalid) as invalid:
        await service.create(slug="Not a slug!", name="Bad")
    assert invalid.value.field == ["input", "slug"]
    with pytest.raises(Conflict) as taken:
        await service.create(slug="home", name="Mine now")
    assert taken.value.field == ["input", "slug"]


async def test_only_owners_manage_members(session: AsyncSession, tenants: Tenants) -> None:
    newcomer = await make_viewer(session, "newcomer@example.com", {})
    for who in (tenants.member, tenants.reader):
        with pytest.raises(Forbidden):
            await WorkspaceService(session, who).add_member(
                workspace_id=tenants.workspace_id, email=newcomer.email, role=Role.MEMBER
            )
    # A non-member of the workspace learns nothing: not found, not forbidden.
    with pytest.raises(NotFound):
        await WorkspaceService(session, tenants.stranger).remove_member(
            workspace_id=tenants.workspace_id, user_id=tenants.member.user_id
        )
    owners = WorkspaceService(session, tenants.owner)
    added = await owners.add_member(
        workspace_id=tenants.workspace_id, email=newcomer.email.upper(), role=Role.VIEWER
    )
    assert (added.user_id, added.role) == (newcomer.user_id, Role.VIEWER)
    with pytest.raises(Conflict):
        await owners.add_member(
            workspace_id=tenants.workspace_id, email=newcomer.email, role=Role.MEMBER
        )
    with pytest.raises(NotFound) as nobody:
        await owners.add_member(
            workspace_id=tenants.workspace_id, email="nobody@example.com", role=Role.MEMBER
        )
    assert nobody.value.field == ["input", "email"]


async def test_the_last_owner_is_neither_demoted_nor_removed(
    session: AsyncSession, tenants: Tenants
) -> None:
    owners = WorkspaceService(session, tenants.owner)
    with pytest.raises(Conflict):
        await owners.update_member(
            workspace_id=tenants.workspace_id, user_id=tenants.owner.user_id, role=Role.MEMBER
        )
    with pytest.raises(Conflict):
        await owners.remove_member(workspace_id=tenants.workspace_id, user_id=tenants.owner.user_id)
    # With a second owner, the first may step down.
    await owners.update_member(
        workspace_id=tenants.workspace_id, user_id=tenants.member.user_id, role=Role.OWNER
    )
    demoted = await owners.update_member(
        workspace_id=tenants.workspace_id, user_id=tenants.owner.user_id, role=Role.MEMBER
    )
    assert demoted.role is Role.MEMBER
    with pytest.raises(NotFound):
        await owners.remove_member(
            workspace_id=tenants.workspace_id, user_id=tenants.stranger.user_id
        )
