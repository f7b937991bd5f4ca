"""The typed per-request context: viewer, sessions, loaders, paging rules."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence, Sized
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from graphql import GraphQLError
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from strawberry.fastapi import BaseContext
from strawberry.types import Info

from db.statements import Statements
from resolvers import prefetch
from resolvers.loaders import BatchFn, Loaders
from schema.ids import to_global_id
from schema.types import Issue, Project
from services.auth import current_roles
from services.errors import Invalid
from services.job_kind import ImportSettings
from services.jobs import JobLimits
from services.pagination import PageArgs
from services.queue import JobEvents, JobQueue
from services.types import Role
from services.viewer import Viewer


@dataclass(frozen=True)
class RateLimitInfo:
    """This request's standing against its token's hourly budget (for ``Query.rateLimit``)."""

    limit: int
    remaining: int
    reset_at: datetime
    cost: int


@dataclass(frozen=True)
class JobWiring:
    """The job side as the API sees it: the queue, the event bus, limits and settings."""

    queue: JobQueue
    events: JobEvents
    redis: Redis
    # Namespaces the job event channels (the queue name).
    namespace: str
    limits: JobLimits
    imports: ImportSettings
    export_ttl: timedelta
    # The current trace context as W3C headers, stored in a job row so that its run continues
    # the request's trace; None while tracing is off (app.tracing).
    trace_carrier: Callable[[], dict[str, str]] | None = None


class Context(BaseContext):
    def __init__(
        self,
        *,
        session_factory: async_sessionmaker[AsyncSession],
        db: Statements,
        viewer: Viewer | None,
        request_id: str,
        jobs: JobWiring | None = None,
        default_page_size: int = 20,
        max_page_size: int = 100,
        max_input_list: int = 100,
        observe_batch: Callable[[str, int], None] | None = None,
        trace_batch: Callable[[str, BatchFn], BatchFn] | None = None,
        max_search_length: int = 200,
    ) -> None:
        super().__init__()
        self.session_factory = session_factory
        # Loader batches and root reads: statements compiled once, each on a pooled connection
        # of its own for its round trip (docs/architecture.md, rule 1; db/statements.py), at most
        # REQUEST_MAX_CONNECTIONS at a time per request.
        self.db = db
        self.viewer = viewer
        self.request_id = request_id
        self._jobs = jobs
        # Set by strawberry from a WebSocket's connection_init message.
        self.connection_params: object | None = None
        # Set by the query budget extension before execution (the estimate adds up over
        # the operations of a batch).
        self.rate_limit: RateLimitInfo | None = None
        self.nodes_estimated = 0
        self.default_page_size = default_page_size
        self.max_page_size = max_page_size
        self.max_input_list = max_input_list
        self.observe_batch = observe_batch
        # Wraps each loader's batch function in a span; None while tracing is off.
        self.trace_batch = trace_batch
        self.max_search_length = max_search_length
        self.loaders = Loaders(self)

    async def after_write(self, *, memberships: bool = False) -> None:
        """A write committed: the rest of the request sees it (the next operation of a batch,
        a payload's nested fields). The loaders' caches go; with ``memberships``, the viewer's
        roles are read again."""
        self.loaders.clear()
        if memberships and self.viewer is not None:
            self.viewer = await current_roles(self.db, self.viewer)

    def release(self) -> None:
        """Drop what the request loaded, once its answer is out.

        The loaders and the context refer to each other, so the request's whole object graph
        (every loaded row and GraphQL object, through the loader caches) would otherwise wait
        for a cyclic garbage collection, and be promoted into the old generations on the way.
        """
        self.loaders.clear()

    @property
    def jobs(self) -> JobWiring:
        if self._jobs is None:
            raise RuntimeError("the job queue is not configured")
        return self._jobs

    def download_url(self, job_pk: int, finished_at: datetime) -> str | None:
        """The export's download URL while the file lasts (it expires with the file)."""
        if finished_at + self.jobs.export_ttl <= datetime.now(UTC):
            return None
        base = str(self.request.base_url).rstrip("/") if self.request is not None else ""
        return f"{base}/jobs/{to_global_id('Job', job_pk)}/download"

    def require_viewer(self) -> Viewer:
        if self.viewer is None:  # the auth extension stops such operations before execution
            raise GraphQLError("Authentication required.", extensions={"code": "UNAUTHENTICATED"})
        return self.viewer

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[AsyncSession]:
        """A mutation's own session. The mutation commits explicitly; leaving rolls back."""
        async with self.session_factory() as session:
            yield session

    def page_args(
        self,
        first: int | None,
        after: str | None,
        last: int | None,
        before: str | None,
    ) -> PageArgs:
        try:
            return PageArgs.checked(
                first,
                after,
                last,
                before,
                default_size=self.default_page_size,
                max_size=self.max_page_size,
            )
        except Invalid as error:
            raise GraphQLError(error.message, extensions={"code": "BAD_USER_INPUT"}) from None

    def check_list_size(self, values: Sized, argument: str) -> None:
        if len(values) > self.max_input_list:
            raise GraphQLError(
                f"`{argument}` may hold at most {self.max_input_list} items; got {len(values)}.",
                extensions={"code": "BAD_USER_INPUT"},
            )

    def check_string_length(self, value: str | None, argument: str) -> None:
        if value is not None and len(value) > self.max_search_length:
            raise GraphQLError(
                f"`{argument}` may be at most {self.max_search_length} characters.",
                extensions={"code": "BAD_USER_INPUT"},
            )

    async def prefetch_issues(
        self,
        info: Info[Any, Any],
        issues: Sequence[Issue],
        project: Project | None = None,
        *,
        connection: bool = True,
    ) -> None:
        """Load what the field being resolved will ask of these issues, up front: under its
        ``edges { node }`` (a connection) or, with ``connection=False``, its own selection."""
        await prefetch.prefetch_issues(self, info, issues, connection=connection, project=project)

    def grant(self, workspace_id: int, role: Role) -> None:
        """Reflect a membership this request created, for the rest of the request."""
        viewer = self.require_viewer()
        self.viewer = replace(viewer, roles={**viewer.roles, workspace_id: role})
