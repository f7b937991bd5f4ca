"""Issue reads: listed per project, filtered, ordered, looked up by identifier (``ENG-42``) and
searched. ``services/issues.py`` changes them (and re-exports these for its callers)."""

from __future__ import annotations

import re
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Float,
    Integer,
    String,
    any_,
    bindparam,
    exists,
    func,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY

from db.models import Issue, IssueLabel, IssuePriority, IssueStatus, Label, Project, Workspace
from db.statements import Prepared, Row, Statements
from services.issue_relations import NO_RELATIONS, IssueFound, IssueRelations, NestedRead
from services.pagination import (
    Listing,
    Page,
    PageArgs,
    SortKey,
    decode_bigint,
    decode_datetime,
    decode_enum,
    decode_float,
    decode_int,
    fetch_page,
    fetch_parent_with_page,
    ids_param,
)
from services.projects import PROJECTS
from services.tenancy import TenantReads
from services.users import joined_user
from services.viewer import Viewer

IDENTIFIER_RE = re.compile(r"^([A-Za-z][A-Za-z0-9]{1,9})-(\d{1,9})$")

_issues = Issue.__table__
_projects = Project.__table__
_workspaces = Workspace.__table__
_issue_labels = IssueLabel.__table__
_labels = Label.__table__

# The columns an issue is read with: not the search vector, nor which import line wrote it
# (only the import itself reads those, through the session).
_UNREAD = frozenset({"search_vector", "import_job_id", "import_line"})
ISSUES = Listing(
    "issues",
    tuple(c for c in _issues.columns if c.name not in _UNREAD),
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


def _issue_select() -> Any:
    return (
        ISSUES.select(*(c.label(PROJECT_PREFIX + c.name) for c in PROJECTS.columns))
        .join_from(_issues, _projects, _projects.c.id == _issues.c.project_id)
        .join(_workspaces, _workspaces.c.id == _projects.c.workspace_id)
        .where(
            _workspaces.c.slug == bindparam("slug", type_=String),
            _projects.c.key == bindparam("key", type_=String),
            _issues.c.number == bindparam("number", type_=Integer),
            _issues.c.workspace_id == any_(ids_param("workspaces")),
        )
    )


@lru_cache(maxsize=64)
def _statement(relations: tuple[ColumnElement[Any], ...]) -> Prepared:
    """The lookup with one combination of relation columns (``NestedRead.columns``)."""
    return Prepared(_issue_select().add_columns(*relations))


async def issue_by_identifier(
    db: Statements,
    viewer: Viewer,
    project_key: str,
    number: int,
    workspace_slug: str,
    relations: IssueRelations = NO_RELATIONS,
) -> IssueFound | None:
    """The viewer's issue ``<project_key>-<number>`` of the workspace (its project's columns
    prefixed ``PROJECT_PREFIX``), or None; with the ``relations`` in the same row."""
    nested = NestedRead.of(relations)
    values: dict[str, Any] = {
        "slug": workspace_slug,
        "key": project_key,
        "number": number,
        "workspaces": viewer.workspace_ids,
        "viewer": viewer.user_id,
        **nested.values,
    }
    rows = await db.fetch(_statement(nested.columns), values)
    return nested.found(rows[0]) if rows else None


# A project by its workspace's slug and its key, among the viewer's, as the parent of a page
# of its issues (``IssueReads.project_with_issues``): its columns prefixed ``PROJECT_PREFIX``.
_PROJECT_BY_KEY = (
    select(
        _projects.c.id.label("pid"), *(c.label(PROJECT_PREFIX + c.name) for c in PROJECTS.columns)
    )
    .join(_workspaces, _workspaces.c.id == _projects.c.workspace_id)
    .where(
        _workspaces.c.slug == bindparam("slug", type_=String),
        _projects.c.key == bindparam("key", type_=String),
        _projects.c.workspace_id == any_(ids_param("workspaces")),
    )
    .subquery("parents")
)


@dataclass(frozen=True)
class ProjectIssues:
    """A project (its columns prefixed ``PROJECT_PREFIX``) and a page of its issues."""

    project: Row
    issues: Page[IssueFound]


class IssueReads(TenantReads):
    listing = ISSUES

    async def get_by_identifier(
        self, workspace_slug: str, identifier: str, relations: IssueRelations = NO_RELATIONS
    ) -> IssueFound | None:
        """The issue with its project's columns (prefixed ``PROJECT_PREFIX``), or None; with
        the ``relations`` too, in the same statement."""
        match = IDENTIFIER_RE.fullmatch(identifier.strip())
        if match is None or not self.viewer.workspace_ids:
            return None
        return await issue_by_identifier(
            self.db,
            self.viewer,
            match.group(1).upper(),
            int(match.group(2)),
            workspace_slug,
            relations,
        )

    async def pages(
        self,
        project_ids: Sequence[int],
        args: PageArgs,
        query: IssueQuery,
        relations: IssueRelations = NO_RELATIONS,
    ) -> dict[int, Page[IssueFound]]:
        """A page of issues per project, each with the ``relations`` in its row."""
        nested = NestedRead.of(relations)
        pages = await self.pages_per_parent(
            project_ids, args, query.sort, query, nested.columns, nested.values
        )
        return {project: page.map(nested.found) for project, page in pages.items()}

    async def project_with_issues(
        self,
        workspace_slug: str,
        key: str,
        args: PageArgs,
        relations: IssueRelations = NO_RELATIONS,
    ) -> ProjectIssues | None:
        """The viewer's project ``key`` of the workspace and its first page of issues in the
        default order, each with the ``relations`` in its row: one statement where the project
        and then its page took two. None when there is no such project; a cursor that does not
        decode raises ``Invalid`` (the page's own field reports it)."""
        if not self.viewer.workspace_ids:
            return None
        nested = NestedRead.of(relations)
        query = IssueQuery()
        found = await fetch_parent_with_page(
            self.db,
            self.listing,
            _PROJECT_BY_KEY,
            query.sort,
            args,
            {"slug": workspace_slug, "key": key.upper()},
            workspaces=self.viewer.workspace_ids,
            viewer=self.viewer.user_id,
            filters=query,
            extra=nested.columns,
            extra_values=nested.values,
        )
        if found is None:
            return None
        project, page = found
        return ProjectIssues(project, page.map(nested.found))

    async def counts(self, project_ids: Sequence[int], query: IssueQuery) -> dict[int, int]:
        return await self.counts_per_parent(project_ids, query)

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
