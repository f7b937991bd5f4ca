"""What the schema's types read from the request context, as a protocol they can name.

The types resolve with ``Info[RequestContext[L], None]``, so strict mypy checks every
``info.context`` access in ``schema/`` against this; ``resolvers.context.Context`` is the
implementation. ``L`` is the loaders a module's types read, declared beside those types
(``schema/types/users.py:UserLoaders``, ``schema/types/tracker.py:TrackerLoaders`` ...): the
loaders name the types and the types name the context, so the context names no type (no
import cycle, not even for the checker).
"""

from __future__ import annotations

from collections.abc import Sized
from datetime import datetime
from typing import Protocol, TypeVar

from services.issue_relations import IssueRelations
from services.issues import IssueQuery
from services.pagination import PageArgs
from services.types import JobKind, JobStatus
from services.viewer import Viewer

PageKey = tuple[int, PageArgs]
IssuePageKey = tuple[int, PageArgs, IssueQuery, IssueRelations]
JobPageKey = tuple[int, PageArgs, JobStatus | None, JobKind | None]
JobCountKey = tuple[int, JobStatus | None, JobKind | None]

L_co = TypeVar("L_co", covariant=True)


class RequestContext(Protocol[L_co]):
    """The request as the schema's types see it: its loaders (``L_co``), viewer and paging."""

    @property
    def loaders(self) -> L_co: ...

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

    def download_url(self, job_pk: int, finished_at: datetime) -> str | None:
        """An export's download URL while its file lasts."""
        ...
