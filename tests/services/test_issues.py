"""IssueService: writers only, another workspace's project or issue is NotFound, numbers per
project, closedAt set once on closing, assignees and labels from the issue's workspace only,
and validation (tests/services/test_domain_rules.py has the rules shared with the other
writers of issues)."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import IssueStatus
from services.errors import Forbidden, Invalid, NotFound
from services.issues import IssueService
from services.projects import ProjectService
from tests.support.domain import Tenants, update_issue


async def test_issues_are_numbered_per_project(session: AsyncSession, tenants: Tenants) -> None:
    other = await ProjectService(session, tenants.owner).create(
        workspace_id=tenants.workspace_id, key="OTH", name="Other", description=None
    )
    service = IssueService(session, tenants.member)
    numbers = [
        (await service.create(project_id=project_id, title=f"Issue {n}")).number
        for n, project_id in enumerate(
            [tenants.project_id, tenants.project_id, other.id, tenants.project_id]
        )
    ]
    assert numbers == [1, 2, 1, 3]
    away = await IssueService(session, tenants.stranger).create(
        project_id=tenants.away_project_id, title="Away"
    )
    assert away.number == 1


async def test_only_writers_of_the_workspace_create_issues(
    session: AsyncSession, tenants: Tenants
) -> None:
    with pytest.raises(Forbidden):
        await IssueService(session, tenants.reader).create(
            project_id=tenants.project_id, title="Read only"
        )
    for project_id in (tenants.away_project_id, tenants.away_project_id + 1_000_000):
        with pytest.raises(NotFound) as missing:
            await IssueService(session, tenants.owner).create(project_id=project_id, title="X")
        assert missing.value.field == ["input", "projectId"]


async def test_a_foreign_issue_is_not_found_for_writes(
    session: AsyncSession, tenants: Tenants
) -> None:
    away = await IssueService(session, tenants.stranger).create(
        project_id=tenants.away_project_id, title="Away"
    )
    service = IssueService(session, tenants.owner)
    with pytest.raises(NotFound):
        await update_issue(service, away.id, title="Mine")
    with pytest.raises(NotFound):
        await service.delete(issue_id=away.id)
    ours = await service.create(project_id=tenants.project_id, title="Ours")
    with pytest.raises(Forbidden):
        await IssueService(session, tenants.reader).delete(issue_id=ours.id)


async def test_closed_at_is_set_once_when_the_issue_closes(
    session: AsyncSession, tenants: Tenants
) -> None:
    service = IssueService(session, tenants.member)
    issue = await service.create(project_id=tenants.project_id, title="Bug")
    assert issue.closed_at is None
    in_progress = await update_issue(service, issue.id, status=IssueStatus.IN_PROGRESS)
    assert in_progress.closed_at is None
    done = await update_issue(service, issue.id, status=IssueStatus.DONE)
    closed_at = done.closed_at
    assert closed_at is not None
    renamed = await update_issue(service, issue.id, title="Bug, fixed")
    assert renamed.closed_at == closed_at  # another change leaves it alone


async def test_invalid_input_is_refused_with_its_field(
    session: AsyncSession, tenants: Tenants
) -> None:
    service = IssueService(session, tenants.member)
    with pytest.raises(Invalid) as blank:
        await service.create(project_id=tenants.project_id, title="   ")
    assert blank.value.field == ["input", "title"]
    issue = await service.create(project_id=tenants.project_id, title="Fine")
    with pytest.raises(Invalid) as null_status:
        await update_issue(service, issue.id, status=None)
    assert null_status.value.field == ["input", "status"]
    with pytest.raises(NotFound) as stranger:
        await update_issue(service, issue.id, assignee_id=tenants.stranger.user_id)
    assert stranger.value.field == ["input", "assigneeId"]
    with pytest.raises(NotFound):
        await update_issue(service, issue.id, label_ids=[tenants.away_label_id])
    labelled = await update_issue(
        service, issue.id, assignee_id=tenants.reader.user_id, label_ids=[tenants.label_id]
    )
    assert labelled.assignee_id == tenants.reader.user_id
