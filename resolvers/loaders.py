"""Per-request dataloaders (aiodataloader), built in the context, never at module level.

Each batch function calls one service batch method on the request's statements (``db.statements``: a
pooled connection per statement) and returns exactly one result per key, in key order
(docs/architecture.md, rule 3). Paged loaders take ``(parent id, page args[, query])`` keys and
run one query per distinct argument set, which in a nested query is one query per level.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property, partial
from typing import Any, Generic, Protocol, TypeVar

from aiodataloader import DataLoader

from resolvers.prefetch import issue_page
from resolvers.services import Services
from schema.context import IssuePageKey, JobCountKey, JobPageKey, PageKey
from schema.entities import COMMENT, ISSUE, JOB, LABEL, PROJECT, USER, WORKSPACE, Entity
from schema.types import (
    Comment,
    Issue,
    IssueInsight,
    Job,
    Label,
    Membership,
    Project,
    User,
)
from schema.types.labels import label_builder
from services.errors import DomainError
from services.issues import IssueQuery
from services.pagination import Page
from services.types import Row

V = TypeVar("V")
N = TypeVar("N")

GroupFetch = Callable[[list[int], tuple[Any, ...]], Awaitable[dict[int, V]]]
# A read service's pages or counts per parent, called with the parents and the key's other parts.
PagesFetch = Callable[..., Awaitable[dict[int, Page[Row]]]]
CountsFetch = Callable[..., Awaitable[dict[int, int]]]
BatchFn = Callable[[list[Any]], Coroutine[Any, Any, list[Any]]]


class SharedFutureLoader(DataLoader[Any, Any]):
    """A dataloader whose cached futures survive a cancelled awaiter.

    When a non-null field fails, graphql-core cancels the sibling fields still running
    (``gather_with_cancel``). A task cancelled while awaiting a loader's cached future cancels
    that shared future too, and every later load of the key in the same request would then
    raise ``CancelledError`` (a 500). Each caller awaits its own shield of the shared future.
    """

    def load(self, key: Any) -> asyncio.Future[Any]:
        return asyncio.shield(super().load(key))

    def load_many(self, keys: Iterable[Any]) -> asyncio.Future[list[Any]]:
        # One shield for the batch, not one per key: the gather is this caller's own.
        return asyncio.shield(asyncio.gather(*(DataLoader.load(self, key) for key in keys)))


@dataclass(frozen=True, slots=True)
class LoaderHooks:
    """What the app attaches to every batch; built once per process."""

    # Reports each batch's size (app.observability), or None.
    observe_batch: Callable[[str, int], None] | None = None
    # Wraps each batch function in a span; None while tracing is off.
    trace_batch: Callable[[str, BatchFn], BatchFn] | None = None


class LoaderSource(Protocol):
    """What the loaders need of the request (``resolvers.context.Context``)."""

    @property
    def services(self) -> Services: ...
    @property
    def loader_hooks(self) -> LoaderHooks: ...


class _ById(Generic[N]):
    """A ``Loaders`` attribute naming an entity's by-id loader: ``by_id`` builds it on first
    read and stores it in the instance under the same name, which then shadows this."""

    def __init__(self, entity: Entity[N]) -> None:
        self.entity = entity

    def __set_name__(self, owner: type[Loaders], name: str) -> None:
        assert name == self.entity.loader, (name, self.entity.loader)

    def __get__(self, loaders: Loaders, owner: type[Loaders]) -> DataLoader[int, N | None]:
        return loaders.by_id(self.entity)


class Loaders:
    """The request's dataloaders, each built on first use (a one-issue read needs five)."""

    def __init__(self, source: LoaderSource) -> None:
        self._source = source
        self.people: dict[int, User] = {}

    # The by-id loaders (``by_id``), under their entities' loader names.
    user = _ById(USER)
    workspace = _ById(WORKSPACE)
    project = _ById(PROJECT)
    issue = _ById(ISSUE)
    label = _ById(LABEL)
    comment = _ById(COMMENT)
    job = _ById(JOB)

    @cached_property
    def issue_labels(self) -> DataLoader[int, list[Label]]:
        return self._loader("issue_labels", self._issue_labels)

    @cached_property
    def workspace_members(self) -> DataLoader[PageKey, Page[Membership]]:
        return self._paged(
            "workspace_members", lambda s: s.workspace_reads.member_pages, Membership.from_row
        )

    @cached_property
    def workspace_member_count(self) -> DataLoader[int, int]:
        return self._counted("workspace_member_count", lambda s: s.workspace_reads.member_counts)

    @cached_property
    def workspace_projects(self) -> DataLoader[PageKey, Page[Project]]:
        return self._paged(
            "workspace_projects",
            lambda s: s.project_reads.pages,
            Project.from_row,
            primes=lambda: self.project,
        )

    @cached_property
    def workspace_project_count(self) -> DataLoader[int, int]:
        return self._counted("workspace_project_count", lambda s: s.project_reads.counts)

    @cached_property
    def workspace_labels(self) -> DataLoader[PageKey, Page[Label]]:
        return self._paged("workspace_labels", lambda s: s.label_reads.pages, Label.from_row)

    @cached_property
    def workspace_label_count(self) -> DataLoader[int, int]:
        return self._counted("workspace_label_count", lambda s: s.label_reads.counts)

    @cached_property
    def project_issues(self) -> DataLoader[IssuePageKey, Page[Issue]]:
        """Keyed ``(project, page args, query, relations)``: the relations come in each
        issue's row (``services.issue_relations``)."""

        async def fetch(parents: list[int], rest: tuple[Any, ...]) -> dict[int, Page[Issue]]:
            args, query, relations = rest
            pages = await self._services.issue_reads.pages(parents, args, query, relations)
            return {project: issue_page(self, page, relations) for project, page in pages.items()}

        empty: Page[Issue] = Page.empty()
        return self._loader("project_issues", self._grouped(fetch, empty))

    @cached_property
    def project_issue_count(self) -> DataLoader[tuple[int, IssueQuery], int]:
        return self._counted("project_issue_count", lambda s: s.issue_reads.counts, keyed=True)

    @cached_property
    def issue_comments(self) -> DataLoader[PageKey, Page[Comment]]:
        return self._paged(
            "issue_comments",
            lambda s: s.comment_reads.pages,
            partial(Comment.from_row, loaders=self),
        )

    @cached_property
    def issue_comment_count(self) -> DataLoader[int, int]:
        return self._counted("issue_comment_count", lambda s: s.comment_reads.counts)

    @cached_property
    def issue_insight(self) -> DataLoader[int, IssueInsight | None]:
        return self._loader("issue_insight", self._insights)

    @cached_property
    def workspace_jobs(self) -> DataLoader[JobPageKey, Page[Job]]:
        return self._paged(
            "workspace_jobs", lambda s: s.job_reads.pages, Job.from_row, primes=lambda: self.job
        )

    @cached_property
    def workspace_job_count(self) -> DataLoader[JobCountKey, int]:
        return self._counted("workspace_job_count", lambda s: s.job_reads.counts, keyed=True)

    def by_id(self, entity: Entity[N]) -> DataLoader[int, N | None]:
        """The entity's by-id loader (``Query.node``; ``schema/entities.py``), built on first use
        under its name, where its typed attribute above finds it."""
        loader: DataLoader[int, N | None] | None = self.__dict__.get(entity.loader)
        if loader is None:

            async def batch(ids: list[int]) -> list[N | None]:
                rows = await self._services.reads(entity.reads).get_many(ids)
                return [entity.build(row, self) if row else None for row in rows]

            loader = self.__dict__[entity.loader] = self._loader(entity.loader, batch)
        return loader

    def clear(self) -> None:
        """Drop every loader built so far, with its cache, and the people built from rows
        (``Context.release``: after a write, reads see it)."""
        self.people.clear()
        for name, value in list(vars(self).items()):
            if isinstance(value, DataLoader):
                value.clear_all()
                del self.__dict__[name]

    def _loader(self, name: str, batch: BatchFn) -> DataLoader[Any, Any]:
        """A dataloader whose batch sizes are reported (the metrics hook of the context), and
        whose batches are spans while tracing is on (its tracing hook)."""
        hooks = self._source.loader_hooks
        if hooks.trace_batch is not None:
            batch = hooks.trace_batch(name, batch)
        observe = hooks.observe_batch
        if observe is None:
            return SharedFutureLoader(batch, loop=self._event_loop)

        async def observed(keys: list[Any]) -> list[Any]:
            observe(name, len(keys))
            return await batch(keys)

        return SharedFutureLoader(observed, loop=self._event_loop)

    @cached_property
    def _event_loop(self) -> asyncio.AbstractEventLoop:
        """The request's loop, looked up once: a loader built without one looks it up itself,
        and on CPython 3.11 each lookup is a ``getpid`` system call (a W2 request builds five
        loaders)."""
        return asyncio.get_running_loop()

    @property
    def _services(self) -> Services:
        """Read at each batch: the viewer's services as they are then (``Context.viewer``)."""
        return self._source.services

    # -- objects by id ---------------------------------------------------------------------

    async def _insights(self, issue_ids: Sequence[int]) -> list[IssueInsight | None]:
        rows = await self._services.insight_reads.latest_for_issues(issue_ids)
        return [IssueInsight.from_row(r) if r else None for r in rows]

    async def _issue_labels(self, issue_ids: Sequence[int]) -> list[list[Label]]:
        per_issue = await self._services.label_reads.for_issues(issue_ids)
        label_of = label_builder()
        return [[label_of(row) for row in rows] for rows in per_issue]

    # -- pages and counts per parent ---------------------------------------------------------

    def _grouped(self, fetch: GroupFetch[V], missing: V) -> BatchFn:
        """Batch ``(parent, *args)`` keys: one fetch per distinct ``args`` for all parents."""

        async def load(keys: list[tuple[Any, ...]]) -> list[V | Exception]:
            groups: dict[tuple[Any, ...], list[int]] = defaultdict(list)
            for key in keys:
                groups[key[1:]].append(key[0])
            results: dict[tuple[Any, ...], V | Exception] = {}
            for rest, parents in groups.items():
                try:
                    by_parent = await fetch(parents, rest)
                except DomainError as error:  # e.g. a bad cursor: fails only its own keys
                    for parent in parents:
                        results[(parent, *rest)] = error
                    continue
                for parent in parents:
                    results[(parent, *rest)] = by_parent.get(parent, missing)
            return [results[tuple(key)] for key in keys]

        return load

    def _counts(self, fetch: GroupFetch[int]) -> BatchFn:
        grouped = self._grouped(fetch, 0)

        async def load(parent_ids: list[int]) -> list[Any]:
            return await grouped([(parent,) for parent in parent_ids])

        return load

    def _prime(self, loader: DataLoader[int, Any], items: Sequence[Any]) -> None:
        for item in items:
            loader.prime(item.pk, item)

    def _paged(
        self,
        name: str,
        pages_of: Callable[[Services], PagesFetch],
        convert: Callable[[Row], V],
        *,
        primes: Callable[[], DataLoader[int, Any]] | None = None,
    ) -> DataLoader[Any, Page[V]]:
        """A loader of pages per parent: ``pages_of(services)(parents, *args)`` gives the rows'
        pages, each row becomes ``convert(row)``; with ``primes``, each item also goes into
        that by-id loader (a later lookup of it costs nothing)."""

        async def fetch(parents: list[int], rest: tuple[Any, ...]) -> dict[int, Page[V]]:
            pages = await pages_of(self._services)(parents, *rest)
            converted = {k: p.map(convert) for k, p in pages.items()}
            if primes is not None:
                loader = primes()
                for page in converted.values():
                    self._prime(loader, page.items)
            return converted

        empty: Page[V] = Page.empty()
        return self._loader(name, self._grouped(fetch, empty))

    def _counted(
        self, name: str, counts_of: Callable[[Services], CountsFetch], *, keyed: bool = False
    ) -> DataLoader[Any, int]:
        """A loader of counts per parent: ``counts_of(services)(parents, *args)``; its keys are
        parent ids, or with ``keyed`` ``(parent id, *args)`` tuples."""

        async def fetch(parents: list[int], rest: tuple[Any, ...]) -> dict[int, int]:
            return await counts_of(self._services)(parents, *rest)

        return self._loader(name, self._grouped(fetch, 0) if keyed else self._counts(fetch))
