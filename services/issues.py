"""Issues: numbered per project, filtered, ordered, searched and changed."""

from __future__ import annotations

import re
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ColumnElement,
    Float,
    Integer,
    String,
    any_,
    bindparam,
    delete,
    exists,
    func,
    insert,
    select,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import (
    Issue,
    IssueLabel,
    IssuePriority,
    IssueStatus,
    Membership,
    Project,
    Workspace,
)
from db.statements import Prepared, Row, Statements
from services import validation
from services.errors import DomainError, Invalid, NotFound
from services.issue_rules import (
    bump_counter,
    closed_at,
    closed_at_on_create,
    is_closed,
    take_numbers,
)
from services.labels import LabelService
from services.pagination import (
    Listing,
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
    ids_param,
)
from services.projects import PROJECTS, ProjectService
from services.tenancy import get_for_write, visible_by_ids
from services.unset import Maybe, Unset
from services.users import joined_user
from services.viewer import WRITERS, Viewer

IDENTIFIER_RE = re.compile(r"^([A-Za-z][A-Za-z0-9]{1,9})-(\d{1,9})$")

_issues = Issue.__table__
_projects = Project.__table__
_workspaces = Workspace.__table__
_issue_labels = IssueLabel.__table__

ISSUES = Listing(
    "issues",
    tuple(c for c in _issues.columns if c.name != "search_vector"),
    parent=_issues.c.project_id,
    tenant=_issues.c.workspace_id,
    joined=(
        joined_user("reporter", _issues.c.reporter_id),
        joined_user("assignee", _issues.c.assignee_id),
    ),
)

_ORDER_COLUMNS: dict[str, tuple[Any, Any]] = {
    "CREATED_AT": (_issues.c.created_at, decode_datetime),
    "UPDATED_AT": (_issues.c.updated_at, decode_datetime),
    "PRIORITY": (_issues.c.priority, decode_enum(IssuePriority)),
    "NUMBER": (_issues.c.number, decode_int),
}


@cache
def issue_order(field: str = "CREATED_AT", descending: bool = True) -> SortKey:
    column, decoder = _ORDER_COLUMNS[field]
    direction = "DESC" if descending else "ASC"
    return SortKey(
        f"issues:{field}:{direction}", (column, _issues.c.id), (decoder, decode_bigint), descending
    )


def _tsquery(text: Any) -> ColumnElement[Any]:
    return func.websearch_to_tsquery("english", text)


_SEARCH = _tsquery(bindparam("search", type_=String))


@dataclass(frozen=True)
class IssueQuery:
    """Filter and order of an issue list; hashable so it can be part of a loader key.

    Also the ``Filters`` of its page and count statements: ``shape`` names the conditions
    present, ``values`` fills their parameters.
    """

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

    @property
    def _searching(self) -> bool:
        return self.search is not None and bool(self.search.strip())

    @property
    def shape(self) -> Hashable:
        return (
            self.statuses is not None,
            self.priorities is not None,
            self.assignee_id is not None,
            self.has_assignee,
            self.label_ids is not None,
            self._searching,
        )

    def conditions(self) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = []
        if self.statuses is not None:
            statuses = bindparam("statuses", type_=ARRAY(_issues.c.status.type))
            conditions.append(_issues.c.status == any_(statuses))
        if self.priorities is not None:
            priorities = bindparam("priorities", type_=ARRAY(_issues.c.priority.type))
            conditions.append(_issues.c.priority == any_(priorities))
        if self.assignee_id is not None:
            conditions.append(_issues.c.assignee_id == bindparam("assignee", type_=BigInteger))
        if self.has_assignee is not None:
            assignee = _issues.c.assignee_id
            conditions.append(assignee.is_not(None) if self.has_assignee else assignee.is_(None))
        if self.label_ids is not None:
            conditions.append(
                exists().where(
                    _issue_labels.c.issue_id == _issues.c.id,
                    _issue_labels.c.label_id == any_(ids_param("labels")),
                )
            )
        if self._searching:
            conditions.append(_issues.c.search_vector.op("@@")(_SEARCH))
        return conditions

    def values(self) -> dict[str, Any]:
        return {
            "statuses": list(self.statuses or ()),
            "priorities": list(self.priorities or ()),
            "assignee": self.assignee_id,
            "labels": list(self.label_ids or ()),
            "search": self.search,
        }


PROJECT_PREFIX = "project."


def _project_column(column: Any) -> Any:
    return column.label(PROJECT_PREFIX + column.name)


# The issue and its project in one row: the project's columns carry ``PROJECT_PREFIX``.
ISSUE_BY_IDENTIFIER = Prepared(
    ISSUES.select(*(_project_column(c) for c in PROJECTS.columns))
    .join_from(_issues, _projects, _projects.c.id == _issues.c.project_id)
    .join(_workspaces, _workspaces.c.id == _projects.c.workspace_id)
    .where(
        _workspaces.c.slug == bindparam("slug", type_=String),
        _projects.c.key == bindparam("key", type_=String),
        _issues.c.number == bindparam("number", type_=Integer),
        _issues.c.workspace_id == any_(ids_param("workspaces")),
    )
)


class SearchFilters:
    """Issues of one workspace (by slug, among the viewer's) matching a full-text query."""

    shape: Hashable = ()

    def __init__(self, workspace_slug: str, text: str) -> None:
        self.workspace_slug = workspace_slug
        self.text = text

    def conditions(self) -> list[ColumnElement[bool]]:
        workspace = (
            select(_workspaces.c.id)
            .where(
                _workspaces.c.slug == bindparam("slug", type_=String),
                _workspaces.c.id == any_(ids_param("workspaces")),
            )
            .scalar_subquery()
        )
        return [_issues.c.workspace_id == workspace, _issues.c.search_vector.op("@@")(_SEARCH)]

    def values(self) -> dict[str, Any]:
        return {"slug": self.workspace_slug, "search": self.text}


SEARCH_ORDER = SortKey(
    "search:rank",
    (func.ts_rank(_issues.c.search_vector, _SEARCH, type_=Float), _issues.c.id),
    (decode_float, decode_bigint),
    descending=True,
)
# Search pages and counts are not scoped by ``:workspaces`` directly: the slug's workspace is.
SEARCH_RESULTS = Listing("search", ISSUES.columns, joined=ISSUES.joined)
SEARCH_COUNT = Prepared(
    select(func.count()).select_from(_issues).where(*SearchFilters("", "").conditions())
)


class IssueReads:
    def __init__(self, db: Statements, viewer: Viewer) -> None:
        self.db = db
        self.viewer = viewer

    async def get_many(self, ids: Sequence[int]) -> list[Row | None]:
        return await visible_by_ids(self.db, self.viewer, ISSUES, ids)

    async def get_by_identifier(self, workspace_slug: str, identifier: str) -> Row | None:
        """The issue with its project's columns (prefixed ``PROJECT_PREFIX``), or None."""
        match = IDENTIFIER_RE.fullmatch(identifier.strip())
        if match is None or not self.viewer.workspace_ids:
            return None
        rows = await self.db.fetch(
            ISSUE_BY_IDENTIFIER,
            {
                "slug": workspace_slug,
                "key": match.group(1).upper(),
                "number": int(match.group(2)),
                "workspaces": self.viewer.workspace_ids,
                "viewer": self.viewer.user_id,
            },
        )
        return rows[0] if rows else None

    async def pages(
        self, project_ids: Sequence[int], args: PageArgs, query: IssueQuery
    ) -> dict[int, Page[Row]]:
        return await fetch_pages(
            self.db,
            ISSUES,
            project_ids,
            query.sort,
            args,
            workspaces=self.viewer.workspace_ids,
            viewer=self.viewer.user_id,
            filters=query,
        )

    async def counts(self, project_ids: Sequence[int], query: IssueQuery) -> dict[int, int]:
        return await count_per_parent(
            self.db, ISSUES, project_ids, workspaces=self.viewer.workspace_ids, filters=query
        )

    async def search(self, workspace_slug: str, text: str, args: PageArgs) -> tuple[Page[Row], int]:
        """Full-text matches, best first, with the total count of matches."""
        if not text.strip() or not self.viewer.workspace_ids:
            return Page.empty(), 0
        filters = SearchFilters(workspace_slug, text)
        page = await fetch_page(
            self.db,
            SEARCH_RESULTS,
            SEARCH_ORDER,
            args,
            workspaces=self.viewer.workspace_ids,
            viewer=self.viewer.user_id,
            filters=filters,
        )
        if not page.items and not page.has_next_page and args.after is None:
            return page, 0  # a first page with nothing on it: nothing matches
        values = {**filters.values(), "workspaces": self.viewer.workspace_ids}
        [count] = await self.db.fetch(SEARCH_COUNT, values)
        return page, int(count[0])


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


class IssueService:
    def __init__(self, session: AsyncSession, viewer: Viewer) -> None:
        self.session = session
        self.viewer = viewer

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

    async def get_for_write(self, issue_id: int, action: str) -> Issue:
        return await get_for_write(
            self.session,
            self.viewer,
            Issue,
            issue_id,
            missing="Issue not found.",
            field=["input", "id"],
            action=action,
            lock=True,
        )

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
        issue = await self.get_for_write(issue_id, "delete issues")
        await self.session.execute(delete(Issue).where(Issue.id == issue.id))
