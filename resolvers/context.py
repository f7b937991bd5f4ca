"""The per-request context: who asks (the viewer), the request's loaders and statements, and
the process-wide parts it is wired with (``resolvers.wiring``). It implements what the schema's
types read (``schema.context.RequestContext``); the resolvers read the rest."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sized
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import datetime

from graphql import GraphQLError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from strawberry.fastapi import BaseContext
from strawberry.types import Info

from resolvers import prefetch
from resolvers.job_wiring import JobWiring
from resolvers.loaders import LoaderHooks, Loaders
from resolvers.rate_limit_state import RateLimitInfo
from resolvers.services import Services
from resolvers.wiring import ContextWiring
from services.auth import current_roles
from services.pagination import PageArgs
from services.types import Role, Statements
from services.viewer import Viewer

__all__ = ["Context", "ContextWiring", "JobWiring", "RateLimitInfo", "ResolverInfo"]


class Context(BaseContext):
    def __init__(
        self,
        wiring: ContextWiring,
        *,
        db: Statements,
        viewer: Viewer | None,
        request_id: str,
    ) -> None:
        super().__init__()
        self.wiring = wiring
        # Loader batches and root reads: statements compiled once, each on a pooled connection
        # of its own for its round trip (docs/architecture.md, rule 1; db/statements.py), at most
        # REQUEST_MAX_CONNECTIONS at a time per request.
        self.db = db
        self._viewer = viewer
        self._services: Services | None = None
        self.request_id = request_id
        # Set by strawberry from a WebSocket's connection_init message.
        self.connection_params: object | None = None
        # Set by the query budget extension before execution (the estimate adds up over
        # the operations of a batch).
        self.rate_limit: RateLimitInfo | None = None
        self.nodes_estimated = 0
        self.loaders = Loaders(self)

    # -- the viewer and its services ----------------------------------------------------------

    @property
    def viewer(self) -> Viewer | None:
        return self._viewer

    @viewer.setter
    def viewer(self, viewer: Viewer | None) -> None:
        # The services were built for the previous viewer (its roles).
        self._viewer = viewer
        self._services = None

    @property
    def services(self) -> Services:
        """The viewer's read services on the request's statements, each built on first use."""
        services = self._services
        if services is None:
            services = self._services = Services(
                self.db, self.require_viewer(), overrides=self.wiring.service_overrides
            )
        return services

    def require_viewer(self) -> Viewer:
        viewer = self._viewer
        if viewer is None:  # the auth extension stops such operations before execution
            raise GraphQLError("Authentication required.", extensions={"code": "UNAUTHENTICATED"})
        return viewer

    def grant(self, workspace_id: int, role: Role) -> None:
        """Reflect a membership this request created, for the rest of the request."""
        viewer = self.require_viewer()
        self.viewer = replace(viewer, roles={**viewer.roles, workspace_id: role})

    # -- sessions and writes ------------------------------------------------------------------

    @property
    def session_factory(self) -> async_sessionmaker[AsyncSession]:
        return self.wiring.session_factory

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[Services]:
        """A mutation's own session, with the request's services bound to it. The mutation
        commits explicitly (``services.session.commit()``); leaving rolls back."""
        async with self.wiring.session_factory() as session:
            yield self.services.bound_to(session)

    async def after_write(self, *, memberships: bool = False) -> None:
        """A write committed: the rest of the request sees it (the next operation of a batch,
        a payload's nested fields). The loaders' caches go; with ``memberships``, the viewer's
        roles are read again."""
        self.loaders.clear()
        if memberships and self._viewer is not None:
            self.viewer = await current_roles(self.db, self._viewer)

    def release(self) -> None:
        """Drop what the request loaded, once its answer is out.

        The loaders and the context refer to each other, so the request's whole object graph
        (every loaded row and GraphQL object, through the loader caches) would otherwise wait
        for a cyclic garbage collection, and be promoted into the old generations on the way.
        """
        self.loaders.clear()

    # -- loaders and paging -------------------------------------------------------------------

    @property
    def loader_hooks(self) -> LoaderHooks:
        return self.wiring.loader_hooks

    def page_args(
        self, first: int | None, after: str | None, last: int | None, before: str | None
    ) -> PageArgs:
        return self.wiring.paging.page_args(first, after, last, before)

    def check_list_size(self, values: Sized, argument: str) -> None:
        self.wiring.paging.check_list_size(values, argument)

    def check_string_length(self, value: str | None, argument: str) -> None:
        self.wiring.paging.check_string_length(value, argument)

    # The look-ahead the schema's types start (``TrackerContext.prefetch_issues``).
    prefetch_issues = prefetch.prefetch_issues

    # -- jobs ---------------------------------------------------------------------------------

    @property
    def jobs(self) -> JobWiring:
        if self.wiring.jobs is None:
            raise RuntimeError("the job queue is not configured")
        return self.wiring.jobs

    def download_url(self, job_pk: int, finished_at: datetime) -> str | None:
        base = str(self.request.base_url) if self.request is not None else ""
        return self.jobs.download_url(base, job_pk, finished_at)


# What the resolvers of ``resolvers/`` receive: the whole context, checked by mypy.
ResolverInfo = Info[Context, None]
