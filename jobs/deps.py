"""What every job function gets in arq's ``ctx["deps"]``: built once per worker process."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from db.engine import create_engine, create_session_factory
from jobs.queue import ArqJobQueue, RedisJobEvents
from services.job_kind import ExportSettings, ImportSettings, JobResources
from services.triage import TriageProvider


@dataclass(frozen=True)
class WorkerConfig:
    """The settings the worker side needs; ``app`` fills it from the environment, so the
    defaults are app/settings.py's alone."""

    database_url: str
    queue_name: str
    max_jobs: int
    job_timeout_seconds: float
    heartbeat_seconds: float
    stale_after_seconds: float
    retry_backoff_seconds: float
    retention_days: int
    imports: ImportSettings
    exports: ExportSettings

    @property
    def stale_after(self) -> timedelta:
        return timedelta(seconds=self.stale_after_seconds)


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
    metrics: JobMetrics = field(default_factory=_NoMetrics)
    tracing: JobTracing = field(default_factory=_NoTracing)

    @property
    def resources(self) -> JobResources:
        """What the kinds' runs use."""
        return JobResources(self.config.imports, self.config.exports, self.triage)

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
    engine = create_engine(
        config.database_url, pool_size=max(2, config.max_jobs), max_overflow=config.max_jobs
    )
    return WorkerDeps(
        config=config,
        engine=engine,
        session_factory=create_session_factory(engine),
        queue=ArqJobQueue(redis, config.queue_name),
        events=RedisJobEvents(redis, config.queue_name),
        triage=triage,
        metrics=metrics or _NoMetrics(),
        tracing=tracing or _NoTracing(),
    )
