"""A world built through the services themselves (no GraphQL), for the service-level tests:
viewers with their roles, and two workspaces so every rule can be tried on a foreign row."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Issue, IssueStatus, Role
from services import auth
from services.issues import IssueService
from services.labels import LabelService
from services.projects import ProjectService
from services.unset import UNSET, Maybe
from services.viewer import Viewer
from services.workspaces import WorkspaceService


async def make_viewer(session: AsyncSession, email: str, roles: dict[int, Role]) -> Viewer:
    """A new user, acting with ``roles`` (workspace id -> role) as a request would load them."""
    user = await auth.create_user(session, email=email, name=email.split("@")[0])
    return Viewer(user_id=user.id, name=user.name, email=user.email, roles=roles)


def with_role(viewer: Viewer, workspace_id: int, role: Role) -> Viewer:
    return Viewer(viewer.user_id, viewer.name, viewer.email, {**viewer.roles, workspace_id: role})


@dataclass
class Tenants:
    """Workspace ``home`` (owner, member, reader: OWNER, MEMBER, VIEWER) with project HOME and
    label ``bug``; workspace ``away`` of ``stranger`` with project AWAY and label ``bug``."""

    owner: Viewer
    member: Viewer
    reader: Viewer
    stranger: Viewer
    workspace_id: int
    project_id: int
    label_id: int
    away_workspace_id: int
    away_project_id: int
    away_label_id: int


async def build_tenants(session: AsyncSession) -> Tenants:
    """The two workspaces, written through the services and committed."""
    owner = await make_viewer(session, "owner@example.com", {})
    stranger = await make_viewer(session, "stranger@example.com", {})
    spaces = []
    for viewer, slug in ((owner, "home"), (stranger, "away")):
        workspace = await WorkspaceService(session, viewer).create(slug=slug, name=slug)
        viewer = with_role(viewer, workspace.id, Role.OWNER)
        project = await ProjectService(session, viewer).create(
            workspace_id=workspace.id, key=slug.upper(), name=slug, description=None
        )
        label = await LabelService(session, viewer).create(
            workspace_id=workspace.id, name="bug", color="#d73a4a"
        )
        spaces.append((viewer, workspace.id, project.id, label.id))
    (owner, home, project, label), (stranger, away, away_project, away_label) = spaces
    member = await make_viewer(session, "member@example.com", {home: Role.MEMBER})
    reader = await make_viewer(session, "reader@example.com", {home: Role.VIEWER})
    workspaces = WorkspaceService(session, owner)
    await workspaces.add_member(workspace_id=home, email=member.email, role=Role.MEMBER)
    await workspaces.add_member(workspace_id=home, email=reader.email, role=Role.VIEWER)
    await session.commit()
    return Tenants(
        owner, member, reader, stranger, home, project, label, away, away_project, away_label
    )


async def update_issue(
    service: IssueService,
    issue_id: int,
    *,
    title: Maybe[str] = UNSET,
    status: Maybe[IssueStatus] = UNSET,
    assignee_id: Maybe[int] = UNSET,
    label_ids: Maybe[Sequence[int]] = UNSET,
) -> Issue:
    """``IssueService.update`` with only the given fields changed."""
    return await service.update(
        issue_id=issue_id,
        title=title,
        body=UNSET,
        status=status,
        priority=UNSET,
        assignee_id=assignee_id,
        label_ids=label_ids,
    )
