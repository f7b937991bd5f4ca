"""The tracker's containment tree: workspaces hold projects, projects hold issues, issues hold
comments; each refers to its parent and its children, so they share a module (the rest of
what the package's docstring says holds here too).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Protocol, TypeVar, cast

import strawberry
from aiodataloader import DataLoader
from strawberry.types import Info

from schema.connections import Connection, counter, paged
from schema.context import IssuePageKey, JobCountKey, JobPageKey, PageKey, RequestContext
from schema.inputs import IssueFilter, IssueOrder, issue_query
from schema.issue_lookahead import issue_relations
from schema.relations import Relation, RelationLoaders
from schema.selection import SelectionInfo
from schema.types import relation_loads as loads
from schema.types.base import (
    PRIORITY,
    STATUS,
    FromColumns,
    Node,
    built,
    deferred,
    model_row,
    node_fields,
)
from schema.types.insights import IssueInsight, LabelLoaders
from schema.types.jobs import Job
from schema.types.labels import Label
from schema.types.users import Membership, User, UserLoaders
from services import types as domain
from services.issue_relations import NO_RELATIONS, IssueRelations
from services.issues import IssueQuery
from services.pagination import Page, PageArgs
from services.types import Row

NodeT = TypeVar("NodeT")


class TrackerLoaders(UserLoaders, LabelLoaders, Protocol):
    """The loaders the tracker's types read (and the look-ahead, ``resolvers/prefetch.py``)."""

    @property
    def workspace(self) -> DataLoader[int, Workspace | None]: ...
    @property
    def project(self) -> DataLoader[int, Project | None]: ...
    @property
    def issue(self) -> DataLoader[int, Issue | None]: ...
    @property
    def issue_labels(self) -> DataLoader[int, list[Label]]: ...
    @property
    def issue_insight(self) -> DataLoader[int, IssueInsight | None]: ...
    @property
    def workspace_members(self) -> DataLoader[PageKey, Page[Membership]]: ...
    @property
    def workspace_member_count(self) -> DataLoader[int, int]: ...
    @property
    def workspace_projects(self) -> DataLoader[PageKey, Page[Project]]: ...
    @property
    def workspace_project_count(self) -> DataLoader[int, int]: ...
    @property
    def workspace_labels(self) -> DataLoader[PageKey, Page[Label]]: ...
    @property
    def workspace_label_count(self) -> DataLoader[int, int]: ...
    @property
    def project_issues(self) -> DataLoader[IssuePageKey, Page[Issue]]: ...
    @property
    def project_issue_count(self) -> DataLoader[tuple[int, IssueQuery], int]: ...
    @property
    def issue_comments(self) -> DataLoader[PageKey, Page[Comment]]: ...
    @property
    def issue_comment_count(self) -> DataLoader[int, int]: ...
    @property
    def workspace_jobs(self) -> DataLoader[JobPageKey, Page[Job]]: ...
    @property
    def workspace_job_count(self) -> DataLoader[JobCountKey, int]: ...


@dataclass(frozen=True, slots=True)
class IssueBatch:
    """Issues a field produced, as a look-ahead sees them: its selection holds them under
    ``edges { node }`` (``connection``) or directly; ``project``, when they share a known one;
    ``nested``, what their rows brought along (not to be loaded again)."""

    issues: Sequence[Issue]
    connection: bool
    project: Project | None = None
    nested: IssueRelations = NO_RELATIONS


class TrackerContext(RequestContext[TrackerLoaders], Protocol):
    """The request as the tracker's types see it: also the look-ahead they start."""

    async def prefetch_issues(self, info: SelectionInfo, batch: IssueBatch) -> None:
        """Load, up front, what the field being resolved will ask of the batch's issues."""


ContextInfo = Info[TrackerContext, None]


def _viewer_role(self: Workspace, info: ContextInfo) -> domain.Role:
    return info.context.require_viewer().roles[self.pk]


def _workspace_list(
    page: Callable[[TrackerLoaders], DataLoader[PageKey, Page[NodeT]]],
    count: Callable[[TrackerLoaders], DataLoader[int, int]],
) -> Callable[..., Awaitable[Connection[NodeT]]]:
    """The resolver of a workspace's list that takes nothing but page arguments: a page of
    ``page``'s loader, and ``totalCount`` from ``count``'s when selected."""

    @paged
    async def resolve(self: Workspace, info: ContextInfo, args: PageArgs) -> Connection[NodeT]:
        loaders = info.context.loaders
        total = counter(info, lambda: count(loaders).load(self.pk))
        return Connection.of(await page(loaders).load((self.pk, args)), total)

    return resolve


# The plain columns ``Issue.from_row`` and ``Comment.from_row`` read besides ``id`` (a written
# object's, for ``from_model``).
_ISSUE_COLUMNS = (
    "number",
    "title",
    "body",
    "created_at",
    "updated_at",
    "closed_at",
    "project_id",
    "workspace_id",
    "reporter_id",
    "assignee_id",
)
_COMMENT_COLUMNS = ("body", "created_at", "issue_id", "author_id")


@strawberry.type
class Workspace(Node, FromColumns):
    COLUMNS = ("slug", "name")
    slug: str
    name: str
    pk: strawberry.Private[int]
    # Fields in the SDL's order: the annotated ones as declared, then the methods.
    viewer_role: domain.Role = strawberry.field(resolver=_viewer_role)
    members: Connection[Membership] = strawberry.field(
        resolver=_workspace_list(
            lambda loaders: loaders.workspace_members,
            lambda loaders: loaders.workspace_member_count,
        )
    )
    projects: Connection[Project] = strawberry.field(
        resolver=_workspace_list(
            lambda loaders: loaders.workspace_projects,
            lambda loaders: loaders.workspace_project_count,
        )
    )
    labels: Connection[Label] = strawberry.field(
        resolver=_workspace_list(
            lambda loaders: loaders.workspace_labels,
            lambda loaders: loaders.workspace_label_count,
        )
    )

    @strawberry.field
    @paged
    async def jobs(
        self,
        info: ContextInfo,
        args: PageArgs,
        status: domain.JobStatus | None = None,
        kind: domain.JobKind | None = None,
    ) -> Connection[Job]:
        loaders = info.context.loaders
        count = counter(info, lambda: loaders.workspace_job_count.load((self.pk, status, kind)))
        page = await loaders.workspace_jobs.load((self.pk, args, status, kind))
        return Connection.of(page, count)


@strawberry.type
class Project(Node, FromColumns):
    COLUMNS = ("key", "name", "description", "workspace_id")
    key: str
    name: str
    description: str
    pk: strawberry.Private[int]
    workspace_id: strawberry.Private[int]

    @strawberry.field
    async def workspace(self, info: ContextInfo) -> Workspace:
        return cast(Workspace, await info.context.loaders.workspace.load(self.workspace_id))

    @strawberry.field(description="Newest first unless orderBy says otherwise.")
    @paged
    async def issues(
        self,
        info: ContextInfo,
        args: PageArgs,
        filter: IssueFilter | None = None,
        order_by: IssueOrder | None = None,
    ) -> Connection[Issue]:
        loaders = info.context.loaders
        if filter is not None:
            info.context.check_list_size(filter.label_ids or [], "filter.labelIds")
            info.context.check_string_length(filter.search, "filter.search")
        query = issue_query(filter, order_by)
        count = counter(info, lambda: loaders.project_issue_count.load((self.pk, query)))
        relations = issue_relations(info)  # what the issues' rows bring along
        page = await loaders.project_issues.load((self.pk, args, query, relations))
        batch = IssueBatch(page.items, connection=True, project=self, nested=relations)
        await info.context.prefetch_issues(info, batch)
        return Connection.of(page, count)


@strawberry.type
class Issue(Node):
    number: int
    title: str
    body: str
    status: domain.IssueStatus
    priority: domain.IssuePriority
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    # Relations (schema.relations): the look-ahead's values, else loaded when read.
    identifier: str = strawberry.field(
        description="Project key and number, e.g. ENG-42.",
        default=Relation("identifier", loads.issue_identifier),
    )
    project: Project = strawberry.field(default=Relation("project", loads.issue_project))
    reporter: User = strawberry.field(default=Relation("reporter", loads.issue_reporter))
    assignee: User | None = strawberry.field(default=Relation("assignee", loads.issue_assignee))
    labels: list[Label] = strawberry.field(default=Relation("labels", loads.issue_labels))
    pk: strawberry.Private[int]
    project_id: strawberry.Private[int]
    workspace_id: strawberry.Private[int]
    reporter_id: strawberry.Private[int]
    assignee_id: strawberry.Private[int | None]
    loaders: strawberry.Private[RelationLoaders]
    # The row read (its joined reporter and assignee); None for an issue a write returned.
    row: strawberry.Private[Row | None] = None
    # Comment pages loaded ahead or read with the row, by their page arguments.
    loaded_comments: strawberry.Private[dict[PageArgs, Page[Comment]] | None] = None

    @classmethod
    def from_model(cls, issue: domain.Issue, loaders: RelationLoaders) -> Issue:
        row = model_row(issue, "id", *_ISSUE_COLUMNS)
        # Read rows carry enums as their database labels.
        row["status"], row["priority"] = issue.status.value, issue.priority.value
        return cls.from_row(row, loaders)

    @classmethod
    def from_row(cls, row: Row, loaders: RelationLoaders) -> Issue:
        fields = node_fields("Issue", row, _ISSUE_COLUMNS)
        fields["status"] = STATUS[row["status"]]
        fields["priority"] = PRIORITY[row["priority"]]
        fields["loaders"], fields["row"] = loaders, row
        return built(cls, fields)

    @strawberry.field
    @paged
    def comments(self, info: ContextInfo, args: PageArgs) -> Connection[Comment]:
        loaders = info.context.loaders
        count = partial(loaders.issue_comment_count.load, self.pk)
        page = self.loaded_comments.get(args) if self.loaded_comments is not None else None
        if page is not None:
            return Connection.of(page, count)
        return deferred(self._comments(info, args, count))

    async def _comments(
        self, info: ContextInfo, args: PageArgs, count: Callable[[], Awaitable[int]]
    ) -> Connection[Comment]:
        page = await info.context.loaders.issue_comments.load((self.pk, args))
        return Connection.of(page, count)

    @strawberry.field(description="The latest AI triage result, if the issue has been triaged.")
    async def insight(self, info: ContextInfo) -> IssueInsight | None:
        return await info.context.loaders.issue_insight.load(self.pk)


@strawberry.type
class Comment(Node):
    body: str
    created_at: datetime
    # A relation (schema.relations): the look-ahead's value, else loaded when read.
    author: User = strawberry.field(default=Relation("author", loads.comment_author))
    pk: strawberry.Private[int]
    issue_id: strawberry.Private[int]
    author_id: strawberry.Private[int]
    loaders: strawberry.Private[RelationLoaders]
    # The row read (its joined author); None for a comment a write returned.
    row: strawberry.Private[Row | None] = None

    @classmethod
    def from_model(cls, comment: domain.Comment, loaders: RelationLoaders) -> Comment:
        return cls.from_row(model_row(comment, "id", *_COMMENT_COLUMNS), loaders)

    @classmethod
    def from_row(cls, row: Row, loaders: RelationLoaders) -> Comment:
        fields = node_fields("Comment", row, _COMMENT_COLUMNS)
        fields["loaders"], fields["row"] = loaders, row
        return built(cls, fields)

    @strawberry.field
    async def issue(self, info: ContextInfo) -> Issue:
        return cast(Issue, await info.context.loaders.issue.load(self.issue_id))
