"""Issues: numbered per project, filtered, ordered, searched and changed."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Float, delete, exists, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import (
    CLOSED_STATUSES,
    Issue,
    IssueLabel,
    IssuePriority,
    IssueStatus,
    Membership,
    Project,
    Workspace,
)
from services import validation
from services.errors import Invalid, NotFound
from services.labels import LabelService
from services.pagination import (
    Page,
    PageArgs,
    SortKey,
    count_per_parent,
    decode_bigint,
    decode_datetime,
    decode_enum,
    decode_float,
    decode_int,
    fetch_page,
    fetch_pages,
)
from services.projects import ProjectService
from services.tenancy import visible_by_ids
from services.unset import Maybe, Unset
from services.viewer import WRITERS, Viewer

IDENTIFIER_RE = re.compile(r"^([A-Za-z][A-Za-z0-9]{1,9})-(\d{1,9})$")

_ORDER_COLUMNS: dict[str, tuple[Any, Any]] = {
    "CREATED_AT": (Issue.created_at, decode_datetime),
    "UPDATED_AT": (Issue.updated_at, decode_datetime),
    "PRIORITY": (Issue.priority, decode_enum(IssuePriority)),
    "NUMBER": (Issue.number, decode_int),
}


def issue_order(field: str = "CREATED_AT", descending: bool = True) -> SortKey:
    column, decoder = _ORDER_COLUMNS[field]
    direction = "DESC" if descending else "ASC"
    return SortKey(
        f"issues:{field}:{direction}", (column, Issue.id), (decoder, decode_bigint), descending
    )


@dataclass(frozen=True)
class IssueQuery:
    """Filter and order of an issue list; hashable so it can be part of a loader key."""

    statuses: tuple[IssueStatus, ...] | None = None
    priorities: tuple[IssuePriority, ...] | None = None
    assignee_id: int | None = None
    has_assignee: bool | None = None
    label_ids: tuple[int, ...] | None = None
    search: str | None = None
    order_field: str = "CREATED_AT"
    descending: bool = True

    @property
    def sort(self) -> SortKey:
        return issue_order(self.order_field, self.descending)

    def conditions(self) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = []
        if self.statuses is not None:
            conditions.append(Issue.status.in_(self.statuses))
        if self.priorities is not None:
            conditions.append(Issue.priority.in_(self.priorities))
        if self.assignee_id is not None:
            conditions.append(Issue.assignee_id == self.assignee_id)
        if self.has_assignee is not None:
            conditions.append(
                Issue.assignee_id.is_not(None) if self.has_assignee else Issue.assignee_id.is_(None)
            )
        if self.label_ids is not None:
            conditions.append(
                exists().where(
                    IssueLabel.issue_id == Issue.id, IssueLabel.label_id.in_(self.label_ids)
                )
            )
        if self.search is not None and self.search.strip():
            conditions.append(Issue.search_vector.op("@@")(_tsquery(self.search)))
        return conditions


def _tsquery(text: str) -> ColumnElement[Any]:
    return func.websearch_to_tsquery("english", text)


def _closed_at(status: IssueStatus, current: datetime | None) -> Any:
    """Set when moving to DONE/CANCELED, cleared when moving back to an open status.

    The closedAt rule of docs/architecture.md (domain rules).
    """
    if status in CLOSED_STATUSES:
        return current if current is not None else func.now()
    return None


class IssueService:
    def __init__(self, session: AsyncSession, viewer: Viewer) -> None:
        self.session = session
        self.viewer = viewer

    # -- reads ---------------------------------------------------------------------------------

    async def get_many(self, ids: Sequence[int]) -> list[Issue | None]:
        return await visible_by_ids(self.session, self.viewer, Issue, ids)

    async def get_by_identifier(self, workspace_slug: str, identifier: str) -> Issue | None:
        match = IDENTIFIER_RE.fullmatch(identifier.strip())
        if match is None or not self.viewer.workspace_ids:
            return None
        key, number = match.group(1).upper(), int(match.group(2))
        return await self.session.scalar(
            select(Issue)
            .join(Project, Project.id == Issue.project_id)
            .join(Workspace, Workspace.id == Project.workspace_id)
            .where(
                Workspace.slug == workspace_slug,
                Project.key == key,
                Issue.number == number,
                Issue.workspace_id.in_(self.viewer.workspace_ids),
            )
        )

    async def pages(
        self, project_ids: Sequence[int], args: PageArgs, query: IssueQuery
    ) -> dict[int, Page[Issue]]:
        return await fetch_pages(
            self.session,
            entity=Issue,
            parent_column=Issue.project_id,
            parent_ids=project_ids,
            sort=query.sort,
            args=args,
            where=[Issue.workspace_id.in_(self.viewer.workspace_ids), *query.conditions()],
        )

    async def counts(self, project_ids: Sequence[int], query: IssueQuery) -> dict[int, int]:
        return await count_per_parent(
            self.session,
            parent_column=Issue.project_id,
            parent_ids=project_ids,
            where=[Issue.workspace_id.in_(self.viewer.workspace_ids), *query.conditions()],
        )

    async def _search_scope(
        self, workspace_slug: str, text: str
    ) -> list[ColumnElement[bool]] | None:
        if not text.strip() or not self.viewer.workspace_ids:
            return None
        workspace_id = await self.session.scalar(
            select(Workspace.id).where(
                Workspace.slug == workspace_slug, Workspace.id.in_(self.viewer.workspace_ids)
            )
        )
        if workspace_id is None:
            return None
        return [Issue.workspace_id == workspace_id, Issue.search_vector.op("@@")(_tsquery(text))]

    async def search(
        self, workspace_slug: str, text: str, args: PageArgs
    ) -> tuple[Page[Issue], int]:
        """Full-text matches, best first, with the total count of matches."""
        scope = await self._search_scope(workspace_slug, text)
        if scope is None:
            return Page.empty(), 0
        rank = func.ts_rank(Issue.search_vector, _tsquery(text), type_=Float)
        sort = SortKey(
            "search:rank", (rank, Issue.id), (decode_float, decode_bigint), descending=True
        )
        page = await fetch_page(self.session, entity=Issue, sort=sort, args=args, where=scope)
        total = await self.session.scalar(select(func.count()).select_from(Issue).where(*scope))
        return page, total or 0

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
        # The row lock taken by this UPDATE serializes concurrent creators on the project.
        number = await self.session.scalar(
            update(Project)
            .where(Project.id == project.id)
            .values(issue_counter=Project.issue_counter + 1)
            .returning(Project.issue_counter)
        )
        assert number is not None
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
                closed_at=_closed_at(status, None),
            )
            .returning(Issue.id)
        )
        assert issue_id is not None
        if labels:
            await self.session.execute(
                insert(IssueLabel), [{"issue_id": issue_id, "label_id": i} for i in labels]
            )
        return await self.session.get_one(Issue, issue_id)

    async def get_for_write(self, issue_id: int, action: str) -> Issue:
        issue = await self.session.get(Issue, issue_id, with_for_update=True)
        if issue is None or not self.viewer.can_read(issue.workspace_id):
            raise NotFound("Issue not found.", ["input", "id"])
        self.viewer.require_role(issue.workspace_id, WRITERS, action=action)
        return issue

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
        issue = await self.get_for_write(issue_id, "change issues")
        values: dict[str, Any] = {}
        if not isinstance(title, Unset):
            values["title"] = validation.name(title or "", ["input", "title"], "Title")
        if not isinstance(body, Unset):
            values["body"] = validation.body(body or "", ["input", "body"])
        if not isinstance(status, Unset):
            if status is None:
                raise Invalid("Status cannot be null.", ["input", "status"])
            values["status"] = status
            values["closed_at"] = _closed_at(status, issue.closed_at)
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
        issue = await self.get_for_write(issue_id, "delete issues")
        await self.session.execute(delete(Issue).where(Issue.id == issue.id))
