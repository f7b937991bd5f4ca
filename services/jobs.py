"""Jobs as the API sees them: start (with limits and idempotency), read, list, cancel."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, bindparam, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import (
    ACTIVE_JOB_STATUSES,
    TERMINAL_JOB_STATUSES,
    Job,
    JobFile,
    JobFileChunk,
    JobKind,
    JobStatus,
    Role,
    Workspace,
)
from db.statements import Row
from services.errors import Conflict, Forbidden, Invalid, LimitExceeded
from services.pagination import Page, PageArgs, SortKey, decode_bigint, decode_datetime
from services.tenancy import Service, TenantReads, tenant_listing
from services.viewer import WRITERS, Viewer

IDEMPOTENCY_KEY_MAX = 200


@dataclass(frozen=True)
class JobLimits:
    """What the API checks before it writes a job row."""

    max_active_per_workspace: int = 10
    max_attempts: int = 3
    idempotency_window: timedelta = timedelta(hours=24)
    import_max_bytes: int = 10 * 1024 * 1024


@dataclass(frozen=True)
class JobInput:
    """A file the job will read, stored with the job row in the same transaction."""

    data: bytes
    content_type: str
    filename: str


_jobs = Job.__table__
JOBS = tenant_listing(
    "jobs",
    _jobs,
    (
        "id",
        "workspace_id",
        "created_by",
        "kind",
        "status",
        "progress",
        "message",
        "result",
        "error",
        "attempts",
        "created_at",
        "started_at",
        "finished_at",
    ),
)
JOB_ORDER = SortKey(
    "jobs:created_at", (_jobs.c.created_at, _jobs.c.id), (decode_datetime, decode_bigint), True
)


@dataclass(frozen=True)
class JobFilters:
    """``Workspace.jobs(status:, kind:)``: the ``Filters`` of the job list."""

    status: JobStatus | None = None
    kind: JobKind | None = None

    @property
    def shape(self) -> Hashable:
        return (self.status is not None, self.kind is not None)

    def conditions(self) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = []
        if self.status is not None:
            conditions.append(_jobs.c.status == bindparam("status", type_=_jobs.c.status.type))
        if self.kind is not None:
            conditions.append(_jobs.c.kind == bindparam("kind", type_=_jobs.c.kind.type))
        return conditions

    def values(self) -> dict[str, Any]:
        return {"status": self.status, "kind": self.kind}


class JobReads(TenantReads):
    listing = JOBS

    async def pages(
        self,
        workspace_ids: Sequence[int],
        args: PageArgs,
        status: JobStatus | None,
        kind: JobKind | None,
    ) -> dict[int, Page[Row]]:
        return await self.pages_per_parent(workspace_ids, args, JOB_ORDER, JobFilters(status, kind))

    async def counts(
        self, workspace_ids: Sequence[int], status: JobStatus | None, kind: JobKind | None
    ) -> dict[int, int]:
        return await self.counts_per_parent(workspace_ids, JobFilters(status, kind))


class JobService(Service):
    def __init__(
        self, session: AsyncSession, viewer: Viewer, limits: JobLimits | None = None
    ) -> None:
        super().__init__(session, viewer)
        self.limits = limits or JobLimits()

    # -- start -----------------------------------------------------------------------------------

    async def start(
        self,
        *,
        kind: JobKind,
        workspace_id: int,
        params: dict[str, Any],
        idempotency_key: str | None,
        request_id: str | None,
        job_input: JobInput | None = None,
        trace_context: dict[str, str] | None = None,
    ) -> tuple[Job, bool]:
        """Write a QUEUED job row; ``(job, False)`` when the idempotency key names an earlier one.

        ``trace_context`` (W3C trace headers, while tracing is on) is kept with the row, so
        every run of the job, however it is enqueued, continues the trace that started it.

        The caller commits, then enqueues (docs/architecture.md, rule 4): the row is the outbox.
        """
        self.viewer.require_role(workspace_id, WRITERS, action="start jobs")
        if idempotency_key is not None:
            if not 1 <= len(idempotency_key) <= IDEMPOTENCY_KEY_MAX:
                raise Invalid(
                    f"idempotencyKey must be 1-{IDEMPOTENCY_KEY_MAX} characters.",
                    ["input", "idempotencyKey"],
                )
            existing = await self._find_idempotent(idempotency_key)
            if existing is not None:
                return existing, False
        await self._check_active_limit(workspace_id)
        job = Job(
            workspace_id=workspace_id,
            created_by=self.viewer.user_id,
            kind=kind,
            status=JobStatus.QUEUED,
            progress=0.0,
            message="Queued.",
            params=params,
            attempts=0,
            max_attempts=self.limits.max_attempts,
            enqueue_seq=1,
            idempotency_key=idempotency_key,
            request_id=request_id,
            trace_context=trace_context,
        )
        self.session.add(job)
        await self.session.flush()
        if job_input is not None:
            await store_file(self.session, job.id, "input", job_input)
        await self.session.refresh(job)
        return job, True

    async def _find_idempotent(self, key: str) -> Job | None:
        # Serialize requests with the same (user, key) so two concurrent ones make one job.
        await self.session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:lock_key, 0))"),
            {"lock_key": f"job-idempotency:{self.viewer.user_id}:{key}"},
        )
        window_start = func.now() - self.limits.idempotency_window
        return await self.session.scalar(
            select(Job)
            .where(
                Job.created_by == self.viewer.user_id,
                Job.idempotency_key == key,
                Job.created_at > window_start,
            )
            .order_by(Job.created_at)
            .limit(1)
        )

    async def _check_active_limit(self, workspace_id: int) -> None:
        # The workspace row lock makes count-then-insert safe against concurrent starts.
        await self.session.execute(
            select(Workspace.id).where(Workspace.id == workspace_id).with_for_update()
        )
        active = await self.session.scalar(
            select(func.count()).where(
                Job.workspace_id == workspace_id, Job.status.in_(ACTIVE_JOB_STATUSES)
            )
        )
        limit = self.limits.max_active_per_workspace
        if (active or 0) >= limit:
            raise LimitExceeded(
                f"This workspace already has {limit} queued or running jobs; "
                "wait for one to finish."
            )

    # -- cancel ----------------------------------------------------------------------------------

    async def cancel(self, job_id: int) -> Job:
        job = await self.load_for_write(Job, job_id, action="cancel jobs", lock=True)
        role = self.viewer.require_member(job.workspace_id)
        if job.created_by != self.viewer.user_id and role is not Role.OWNER:
            raise Forbidden("Only the job's creator or a workspace owner may cancel it.")
        if job.status in TERMINAL_JOB_STATUSES:
            raise Conflict(f"The job has already finished ({job.status.value}).", ["input", "id"])
        await self.session.execute(
            update(Job)
            .where(Job.id == job.id)
            .values(
                status=JobStatus.CANCELED,
                message=f"Canceled by {self.viewer.name}.",
                finished_at=func.now(),
                updated_at=func.now(),
            )
        )
        await self.session.refresh(job)
        return job


async def store_file(session: AsyncSession, job_id: int, purpose: str, data: JobInput) -> int:
    """Store a whole (small) file for a job in chunks; large outputs are written as they stream."""
    file_id: int | None = await session.scalar(
        insert(JobFile)
        .values(
            job_id=job_id,
            purpose=purpose,
            content_type=data.content_type,
            filename=data.filename,
            size_bytes=len(data.data),
        )
        .returning(JobFile.id)
    )
    assert file_id is not None
    chunk = 1024 * 1024
    rows = [
        {"file_id": file_id, "seq": n, "data": data.data[offset : offset + chunk]}
        for n, offset in enumerate(range(0, len(data.data), chunk))
    ]
    if rows:
        await session.execute(insert(JobFileChunk), rows)
    return file_id
