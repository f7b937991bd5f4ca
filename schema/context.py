"""What the schema's types read from the request context, as a protocol they can name.

The types resolve with ``Info[RequestContext, None]`` (``ContextInfo``), so strict mypy checks
every ``info.context`` access in ``schema/`` against this; ``resolvers.context.Context`` is the
implementation. The types and the loaders they read name each other; at run time only the
types need this module, so the type names below are imported for the checker alone.
"""

from __future__ import annotations

from collections.abc import Sequence, Sized
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from aiodataloader import DataLoader
from strawberry.types import Info

from schema.selection import SelectionInfo
from services.issues import IssueQuery
from services.pagination import Page, PageArgs
from services.types import JobKind, JobStatus
from services.viewer import Viewer

if TYPE_CHECKING:
    from schema.types import (
        Comment,
        Issue,
        IssueInsight,
        Job,
        Label,
        Membership,
        Project,
        User,
        Workspace,
    )

PageKey = tuple[int, PageArgs]
IssuePageKey = tuple[int, PageArgs, IssueQuery]
JobPageKey = tuple[int, PageArgs, JobStatus | None, JobKind | None]
JobCountKey = tuple[int, JobStatus | None, JobKind | None]


class RequestLoaders(Protocol):
    """The request's dataloaders (``resolvers.loaders.Loaders``), by what they load."""

    @property
    def user(self) -> DataLoader[int, User | None]: ...
    @property
    def workspace(self) -> DataLoader[int, Workspace | None]: ...
    @property
    def project(self) -> DataLoader[int, Project | None]: ...
    @property
    def issue(self) -> DataLoader[int, Issue | None]: ...
    @property
    def label(self) -> DataLoader[int, Label | None]: ...
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


class RequestContext(Protocol):
    """The request as the schema's types see it: its loaders, viewer and paging rules."""

    @property
    def loaders(self) -> RequestLoaders: ...

    def require_viewer(self) -> Viewer:
        """The authenticated viewer (the auth extension refuses anonymous operations)."""
        ...

    def page_args(
        self, first: int | None, after: str | None, last: int | None, before: str | None
    ) -> PageArgs:
        """Checked page arguments (a GraphQL error for out-of-range sizes)."""
        ...

    def check_list_size(self, values: Sized, argument: str) -> None: ...

    def check_string_length(self, value: str | None, argument: str) -> None: ...

    async def prefetch_issues(
        self,
        info: SelectionInfo,
        issues: Sequence[Issue],
        project: Project | None = None,
        *,
        connection: bool = True,
    ) -> None:
        """Load what the field being resolved selects on ``issues`` up front."""
        ...

    def download_url(self, job_pk: int, finished_at: datetime) -> str | None:
        """An export's download URL while its file lasts."""
        ...


ContextInfo = Info[RequestContext, None]
