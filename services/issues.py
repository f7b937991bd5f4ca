"""Issues: created (numbered per project), changed and deleted.

The reads live in ``services/issue_reads.py``; their names are re-exported here so that callers
import everything about issues from ``services.issues``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    String,
    any_,
    bindparam,
    delete,
    func,
    insert,
    select,
    true,
    update,
)

from db.models import Issue, IssueLabel, IssuePriority, IssueStatus, Membership, Project
from db.statements import Prepared, Row, Statements
from services import validation
from services.errors import DomainError, Invalid, NotFound
from services.issue_reads import ISSUES, PROJECT_PREFIX, IssueQuery, IssueReads
from services.issue_rules import (
    bump_counter,
    closed_at,
    closed_at_on_create,
    is_closed,
    take_numbers,
)
from services.labels import LabelService
from services.pagination import ids_param
from services.projects import ProjectService
from services.tenancy import Service
from services.unset import Maybe, Unset
from services.viewer import WRITERS, Viewer

__all__ = [
    "CREATE_ISSUE",
    "ISSUES",
    "PROJECT_PREFIX",
    "IssueQuery",
    "IssueReads",
    "IssueService",
    "create_issue_at_once",
]

_issues = Issue.__table__
_projects = Project.__table__


def _create_issue_statement() -> Prepared:
    """The common ``createIssue`` (no assignee, no labels) as one statement, which commits by
    itself: the project's counter bumped (its row lock serializes concurrent creators, so
    numbers stay consecutive) and the issue inserted, returning the issue and its project."""
    project_columns = ("id", "workspace_id", "key", "name", "description", "issue_counter")
    counter = (
        bump_counter()
        .where(
            _projects.c.id == bindparam("project", type_=BigInteger),
            _projects.c.workspace_id == any_(ids_param("writable")),
        )
        .returning(*(_projects.c[n] for n in project_columns))
        .cte("counter")
    )
    closed = bindparam("closed", type_=Boolean)
    new_issue = (
        insert(Issue)
        .from_select(
            [
                "workspace_id",
                "project_id",
                "number",
                "title",
                "body",
                "status",
                "priority",
                "reporter_id",
                "closed_at",
            ],
            select(
                counter.c.workspace_id,
                counter.c.id,
                counter.c.issue_counter,
                bindparam("title", type_=String),
                bindparam("body", type_=String),
                bindparam("status", type_=_issues.c.status.type),
                bindparam("priority", type_=_issues.c.priority.type),
                bindparam("reporter", type_=BigInteger),
                closed_at_on_create(closed),
            ),
        )
        .returning(*ISSUES.columns)
        .cte("new_issue")
    )
    return Prepared(
        select(
            *(new_issue.c[c.name] for c in ISSUES.columns),
            *(counter.c[n].label(PROJECT_PREFIX + n) for n in project_columns[:5]),
        )
        .select_from(new_issue)
        .join(counter, true())
    )


CREATE_ISSUE = _create_issue_statement()


async def create_issue_at_once(
    db: Statements,
    viewer: Viewer,
    *,
    project_id: int,
    title: str,
    body: str | None,
    status: IssueStatus | None,
    priority: IssuePriority | None,
) -> Row | None:
    """``createIssue`` without assignee or labels, in one statement: the new issue with its
    project's columns (prefixed ``PROJECT_PREFIX``), or None when anything is not plainly
    allowed and valid. Then ``IssueService.create`` runs the unit of work, whose checks, in
    their order, give the exact error (or, after a race, the issue)."""
    try:
        title = validation.name(title, ["input", "title"], "Title")
        body = validation.body(body or "", ["input", "body"])
    except DomainError:
        return None
    writable = [w for w, role in viewer.roles.items() if role in WRITERS]
    if not writable:
        return None
    status = status or IssueStatus.BACKLOG
    rows = await db.fetch(
        CREATE_ISSUE,
        {
            "project": project_id,
            "writable": writable,
            "title": title,
            "body": body,
            "status": status,
            "priority": priority or IssuePriority.NONE,
            "reporter": viewer.user_id,
            "closed": is_closed(status),
        },
    )
    return rows[0] if rows else None


class IssueService(Service):
    # -- writes --------------------------------------------------------------------------------

    async def _check_assignee(self, workspace_id: int, user_id: int) -> None:
        is_member = await self.session.scalar(
            select(Membership.id).where(
                Membership.workspace_id == workspace_id, Membership.user_id == user_id
            )
        )
        if is_member is None:
            raise NotFound("No such member of this workspace.", ["input", "assigneeId"])

    async def create(
        self,
        *,
        project_id: int,
        title: str,
        body: str | None = None,
        status: IssueStatus | None = None,
        priority: IssuePriority | None = None,
        assignee_id: int | None = None,
        label_ids: Sequence[int] | None = None,
    ) -> Issue:
        project = await ProjectService(self.session, self.viewer).get_for_write(
            project_id, ["input", "projectId"]
        )
        title = validation.name(title, ["input", "title"], "Title")
        body = validation.body(body or "", ["input", "body"])
        status = status or IssueStatus.BACKLOG
        if assignee_id is not None:
            await self._check_assignee(project.workspace_id, assignee_id)
        labels = await LabelService(self.session, self.viewer).require_in_workspace(
            project.workspace_id, label_ids or [], ["input", "labelIds"]
        )
        [number] = await take_numbers(self.session, project.id)
        issue_id = await self.session.scalar(
            insert(Issue)
            .values(
                workspace_id=project.workspace_id,
                project_id=project.id,
                number=number,
                title=title,
                body=body,
                status=status,
                priority=priority or IssuePriority.NONE,
                reporter_id=self.viewer.user_id,
                assignee_id=assignee_id,
                closed_at=closed_at(status),
            )
            .returning(Issue.id)
        )
        assert issue_id is not None
        if labels:
            await self.session.execute(
                insert(IssueLabel), [{"issue_id": issue_id, "label_id": i} for i in labels]
            )
        return await self.session.get_one(Issue, issue_id)

    async def update(
        self,
        *,
        issue_id: int,
        title: Maybe[str],
        body: Maybe[str],
        status: Maybe[IssueStatus],
        priority: Maybe[IssuePriority],
        assignee_id: Maybe[int],
        label_ids: Maybe[Sequence[int]],
    ) -> Issue:
        issue = await self.load_for_write(Issue, issue_id, action="change issues", lock=True)
        values: dict[str, Any] = {}
        if not isinstance(title, Unset):
            values["title"] = validation.name(title or "", ["input", "title"], "Title")
        if not isinstance(body, Unset):
            values["body"] = validation.body(body or "", ["input", "body"])
        if not isinstance(status, Unset):
            if status is None:
                raise Invalid("Status cannot be null.", ["input", "status"])
            values["status"] = status
            values["closed_at"] = closed_at(status, issue.closed_at)
        if not isinstance(priority, Unset):
            if priority is None:
                raise Invalid("Priority cannot be null.", ["input", "priority"])
            values["priority"] = priority
        if not isinstance(assignee_id, Unset):
            if assignee_id is not None:
                await self._check_assignee(issue.workspace_id, assignee_id)
            values["assignee_id"] = assignee_id
        if not isinstance(label_ids, Unset):
            labels = await LabelService(self.session, self.viewer).require_in_workspace(
                issue.workspace_id, label_ids or [], ["input", "labelIds"]
            )
            await self.session.execute(delete(IssueLabel).where(IssueLabel.issue_id == issue.id))
            if labels:
                await self.session.execute(
                    insert(IssueLabel), [{"issue_id": issue.id, "label_id": i} for i in labels]
                )
        await self.session.execute(
            update(Issue).where(Issue.id == issue.id).values(**values, updated_at=func.now())
        )
        await self.session.refresh(issue)
        return issue

    async def delete(self, *, issue_id: int) -> None:
        issue = await self.load_for_write(Issue, issue_id, action="delete issues", lock=True)
        await self.session.execute(delete(Issue).where(Issue.id == issue.id))
