"""What every job function gets in arq's ``ctx["deps"]``: built once per worker process."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any, Protocol

from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from db.engine import create_engine, create_session_factory
from jobs.queue import ArqJobQueue, RedisJobEvents
from services.job_kind import ExportSettings, ImportSettings, JobResources
from services.triage import TriageProvider


class WorkerConfig(Protocol):
    """What the worker side reads of its settings: ``app.settings.Settings`` is one, so the
    names, defaults and environment variables are its alone (``jobs`` does not import ``app``)."""

    queue_name: str
    worker_max_jobs: int
    job_timeout_seconds: float
    job_heartbeat_seconds: float
    # A RUNNING job whose heartbeat is older than this is taken as lost and retried.
    job_stale_after_seconds: float
    job_retry_backoff_seconds: float
    job_retention_days: int

    def require_database_url(self) -> str: ...

    def import_settings(self) -> ImportSettings: ...

    def export_settings(self) -> ExportSettings: ...


class JobMetrics(Protocol):
    def started(self, kind: str) -> None: ...

    def finished(self, kind: str, status: str, seconds: float) -> None: ...


class _NoMetrics:
    def started(self, kind: str) -> None:
        pass

    def finished(self, kind: str, status: str, seconds: float) -> None:
        pass


class JobTracing(Protocol):
    def run(
        self, name: str, carrier: Mapping[str, str] | None, attributes: dict[str, Any]
    ) -> AbstractContextManager[None]:
        """A span around one run of a job, continuing the trace in ``carrier``."""
        ...


class _NoTracing:
    def run(
        self, name: str, carrier: Mapping[str, str] | None, attributes: dict[str, Any]
    ) -> AbstractContextManager[None]:
        return nullcontext()


@dataclass
class WorkerDeps:
    config: WorkerConfig
    engine: AsyncEngine
    session_factory: async_sessionmaker[AsyncSession]
    queue: ArqJobQueue
    events: RedisJobEvents
    triage: TriageProvider
    resources: JobResources  # what the kinds' runs use
    metrics: JobMetrics = field(default_factory=_NoMetrics)
    tracing: JobTracing = field(default_factory=_NoTracing)

    async def aclose(self) -> None:
        await self.triage.aclose()
        await self.engine.dispose()


def build_deps(
    config: WorkerConfig,
    redis: ArqRedis,
    triage: TriageProvider,
    metrics: JobMetrics | None = None,
    tracing: JobTracing | None = None,
) -> WorkerDeps:
    max_jobs = config.worker_max_jobs
    engine = create_engine(
        config.require_database_url(), pool_size=max(2, max_jobs), max_overflow=max_jobs
    )
    return WorkerDeps(
        config=config,
        engine=engine,
        session_factory=create_session_factory(engine),
        queue=ArqJobQueue(redis, config.queue_name),
        events=RedisJobEvents(redis, config.queue_name),
        triage=triage,
        resources=JobResources(config.import_settings(), config.export_settings(), triage),
        metrics=metrics or _NoMetrics(),
        tracing=tracing or _NoTracing(),
    )
