"""The request's services, injected: resolvers ask ``info.context.services.issues`` (or
``.issue_reads``, ...) instead of building the service classes themselves.

A container is bound to one viewer and to the request's ``Statements`` (the read classes), and
inside a mutation's unit of work also to its session (the write services): ``Context.services``
for reads, ``Context.unit_of_work()`` for writes. Each service is built on first use and kept
for the container's life, so a request pays only for the services it uses. Tests replace one
through ``ContextWiring.service_overrides``: a factory called like the class it replaces.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar, cast

from sqlalchemy.ext.asyncio import AsyncSession

from services.comments import CommentReads, CommentService
from services.insights import InsightReads
from services.issues import IssueReads, IssueService
from services.jobs import JobReads, JobService
from services.labels import LabelReads, LabelService
from services.projects import ProjectReads, ProjectService
from services.types import Statements
from services.users import UserReads
from services.viewer import Viewer
from services.workspaces import WorkspaceReads, WorkspaceService

S = TypeVar("S")
# A replacement for a service class, keyed by that class: called with the same arguments.
ServiceFactory = Callable[[Any, Viewer], object]
ServiceOverrides = Mapping[object, ServiceFactory]


class Services:
    __slots__ = ("_built", "_overrides", "_session", "db", "viewer")

    def __init__(
        self,
        db: Statements,
        viewer: Viewer,
        *,
        session: AsyncSession | None = None,
        overrides: ServiceOverrides | None = None,
    ) -> None:
        self.db = db
        self.viewer = viewer
        self._session = session
        self._overrides = overrides
        self._built: dict[object, object] = {}

    @property
    def session(self) -> AsyncSession:
        """The unit of work's session (``Context.unit_of_work``)."""
        if self._session is None:
            raise RuntimeError("write services are only available inside a unit of work")
        return self._session

    def bound_to(self, session: AsyncSession) -> Services:
        """The same container (viewer, overrides) for a unit of work on ``session``."""
        return Services(self.db, self.viewer, session=session, overrides=self._overrides)

    def for_viewer(self, viewer: Viewer) -> Services:
        """The same container for another view of the viewer (e.g. their current roles)."""
        return Services(self.db, viewer, session=self._session, overrides=self._overrides)

    def reads(self, make: Callable[[Statements, Viewer], S]) -> S:
        """The read service ``make`` builds on the request's statements, built once."""
        built = self._built.get(make)
        if built is None:
            built = self._built[make] = self._factory(make)(self.db, self.viewer)
        return cast(S, built)

    def writes(self, make: Callable[[AsyncSession, Viewer], S]) -> S:
        """The write service ``make`` builds on the unit of work's session, built once."""
        built = self._built.get(make)
        if built is None:
            built = self._built[make] = self._factory(make)(self.session, self.viewer)
        return cast(S, built)

    def _factory(self, make: Callable[[Any, Viewer], object]) -> ServiceFactory:
        if self._overrides is None:
            return make
        return self._overrides.get(make, make)

    # -- reads (the request's statements) -----------------------------------------------------

    @property
    def user_reads(self) -> UserReads:
        return self.reads(UserReads)

    @property
    def workspace_reads(self) -> WorkspaceReads:
        return self.reads(WorkspaceReads)

    @property
    def project_reads(self) -> ProjectReads:
        return self.reads(ProjectReads)

    @property
    def issue_reads(self) -> IssueReads:
        return self.reads(IssueReads)

    @property
    def label_reads(self) -> LabelReads:
        return self.reads(LabelReads)

    @property
    def comment_reads(self) -> CommentReads:
        return self.reads(CommentReads)

    @property
    def job_reads(self) -> JobReads:
        return self.reads(JobReads)

    @property
    def insight_reads(self) -> InsightReads:
        return self.reads(InsightReads)

    # -- writes (inside a unit of work) -------------------------------------------------------

    @property
    def workspaces(self) -> WorkspaceService:
        return self.writes(WorkspaceService)

    @property
    def projects(self) -> ProjectService:
        return self.writes(ProjectService)

    @property
    def issues(self) -> IssueService:
        return self.writes(IssueService)

    @property
    def labels(self) -> LabelService:
        return self.writes(LabelService)

    @property
    def comments(self) -> CommentService:
        return self.writes(CommentService)

    @property
    def jobs(self) -> JobService:
        return self.writes(JobService)
