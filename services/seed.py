"""Demo data for `issuegraph dev` and `issuegraph seed`: a small workspace to explore."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import IssuePriority, IssueStatus, Role, User, Workspace
from services import auth
from services.comments import CommentService
from services.issues import IssueService
from services.labels import LabelService
from services.projects import ProjectService
from services.viewer import Viewer
from services.workspaces import WorkspaceService

DEMO_SLUG = "demo"

_ISSUES = [
    (
        "Login page crashes on Safari",
        "Steps: open /login in Safari 17; the page crashes.",
        IssueStatus.TODO,
        IssuePriority.URGENT,
        ["bug"],
    ),
    (
        "Add dark mode",
        "Users keep asking for a dark theme.",
        IssueStatus.BACKLOG,
        IssuePriority.LOW,
        ["feature"],
    ),
    (
        "Export issues as CSV",
        "Operators need a CSV export of a project.",
        IssueStatus.IN_PROGRESS,
        IssuePriority.MEDIUM,
        ["feature"],
    ),
    (
        "Slow search on large projects",
        "Full-text search takes seconds on 10k issues.",
        IssueStatus.DONE,
        IssuePriority.HIGH,
        ["bug", "performance"],
    ),
]


@dataclass(frozen=True)
class DemoSeed:
    email: str
    workspace_slug: str
    created: bool


async def _user_id(session: AsyncSession, email: str, name: str) -> int:
    user_id = await session.scalar(select(User.id).where(func.lower(User.email) == email.lower()))
    if user_id is not None:
        return user_id
    return (await auth.create_user(session, email=email, name=name)).id


async def seed_demo(session: AsyncSession, email: str = "demo@example.com") -> DemoSeed:
    """Create the demo workspace once; later calls find it and change nothing."""
    if await session.scalar(select(Workspace.id).where(Workspace.slug == DEMO_SLUG)):
        return DemoSeed(email, DEMO_SLUG, created=False)
    user_id = await _user_id(session, email, "Demo User")
    viewer = Viewer(user_id=user_id, name="Demo User", email=email)
    workspace = await WorkspaceService(session, viewer).create(slug=DEMO_SLUG, name="Demo")
    viewer = Viewer(
        user_id=user_id, name=viewer.name, email=email, roles={workspace.id: Role.OWNER}
    )
    project = await ProjectService(session, viewer).create(
        workspace_id=workspace.id, key="DEMO", name="Demo project", description="Try me."
    )
    labels = LabelService(session, viewer)
    label_ids = {
        name: (await labels.create(workspace_id=workspace.id, name=name, color=color)).id
        for name, color in (("bug", "#d73a4a"), ("feature", "#a2eeef"), ("performance", "#fbca04"))
    }
    issues = IssueService(session, viewer)
    for title, body, status, priority, names in _ISSUES:
        issue = await issues.create(
            project_id=project.id,
            title=title,
            body=body,
            status=status,
            priority=priority,
            assignee_id=user_id,
            label_ids=[label_ids[n] for n in names],
        )
        await CommentService(session, viewer).add(issue_id=issue.id, body="Looking into it.")
    return DemoSeed(email, DEMO_SLUG, created=True)
