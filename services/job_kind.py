"""What declares a job kind: its name on the queue, how it runs, and how it starts.

Each kind is declared once, beside its start and run functions (``services/imports.py``,
``services/exports.py``, ``services/insights.py``), and listed once in ``jobs/kinds.py``,
from which the worker's functions and the queue's task names come (docs/architecture.md,
"Adding a job kind"). Nothing here knows arq or Redis.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Job, JobKind, Project
from services.job_runs import JobRun
from services.jobs import JobInput, JobLimits, JobService
from services.projects import ProjectService
from services.triage import TriageProvider
from services.viewer import Viewer


@dataclass(frozen=True)
class JobStart:
    """Who starts a job and how: what every kind's start takes besides its own input."""

    session: AsyncSession
    viewer: Viewer
    limits: JobLimits
    idempotency_key: str | None = None
    request_id: str | None = None
    # W3C trace headers of the request, while tracing is on (JobService.start).
    trace_context: dict[str, str] | None = None

    async def project_for_write(self, project_id: int) -> Project:
        """The project the job is about (the input's ``projectId``), if the viewer may write."""
        service = ProjectService(self.session, self.viewer)
        return await service.get_for_write(project_id, ["input", "projectId"])


@dataclass(frozen=True)
class ImportSettings:
    """How the worker runs an import (the upload's size is a start limit: ``JobLimits``)."""

    batch_size: int = 500
    create_unknown_labels: bool = False


@dataclass(frozen=True)
class ExportSettings:
    """How the worker writes an export, and how long its file is kept."""

    chunk_bytes: int = 256 * 1024
    ttl: timedelta = timedelta(hours=24)


@dataclass(frozen=True)
class JobResources:
    """What a run may use, from the worker's settings and clients (``jobs/deps.py:WorkerDeps``)."""

    imports: ImportSettings
    exports: ExportSettings
    triage: TriageProvider


@dataclass(frozen=True)
class JobKindSpec:
    """One job kind.

    ``task`` is its arq function name ("domain.action"): tasks already queued in Redis carry
    it, so it never changes. ``run`` does the work and returns the job's ``result``;
    ``summary`` turns that result into the SUCCEEDED job's message.
    """

    kind: JobKind
    task: str
    run: Callable[[JobRun, JobResources], Awaitable[dict[str, Any]]]
    summary: Callable[[dict[str, Any]], str]

    async def start(
        self,
        start: JobStart,
        *,
        workspace_id: int,
        params: dict[str, Any],
        job_input: JobInput | None = None,
    ) -> tuple[Job, bool]:
        """Write the QUEUED row once the kind's own checks passed (``JobService.start``)."""
        return await JobService(start.session, start.viewer, start.limits).start(
            kind=self.kind,
            workspace_id=workspace_id,
            params=params,
            idempotency_key=start.idempotency_key,
            request_id=start.request_id,
            trace_context=start.trace_context,
            job_input=job_input,
        )
