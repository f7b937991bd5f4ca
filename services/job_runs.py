"""Job state transitions on the worker side, all fenced by (status, attempt).

A run *claims* a QUEUED row (status RUNNING, attempts + 1); every later write of that run
names the attempt it claimed, so a worker that was given up on (its heartbeat stopped, the
sweeper re-queued the job) can no longer move the job: nothing runs twice to completion.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import Job, JobKind, JobStatus, Membership, Role
from services.errors import Invalid
from services.queue import JobEvents

M = TypeVar("M")  # a mapped class


class JobStopped(Exception):
    """The run no longer owns its job (canceled, or handed to another attempt): stop now."""


@dataclass(frozen=True)
class ClaimedJob:
    id: int
    kind: JobKind
    workspace_id: int
    created_by: int
    params: dict[str, Any]
    attempt: int
    max_attempts: int
    request_id: str | None


def _owned(job_id: int, attempt: int) -> Any:
    return and_(Job.id == job_id, Job.status == JobStatus.RUNNING, Job.attempts == attempt)


async def claim(
    session: AsyncSession, job_id: int, enqueue_seq: int
) -> tuple[ClaimedJob | None, Job | None]:
    """Start a run of the job if this queued task is the job's current one.

    A RUNNING row with the same ``enqueue_seq`` is this same arq task re-run (after a crash
    or an arq retry), so it may be claimed again; an older ``enqueue_seq`` is a superseded
    task and gets nothing. Returns the claim and the row after the change (for events).
    """
    row = await session.scalar(
        update(Job)
        .where(
            Job.id == job_id,
            Job.enqueue_seq == enqueue_seq,
            or_(Job.status == JobStatus.QUEUED, Job.status == JobStatus.RUNNING),
        )
        .values(
            status=JobStatus.RUNNING,
            attempts=Job.attempts + 1,
            started_at=func.coalesce(Job.started_at, func.now()),
            heartbeat_at=func.now(),
            updated_at=func.now(),
            message="Running.",
            error=None,
        )
        .returning(Job)
    )
    if row is None:
        return None, None
    if row.attempts > row.max_attempts:
        failed = await _finish(
            session,
            row.id,
            row.attempts,
            JobStatus.FAILED,
            error=f"Gave up after {row.max_attempts} attempts.",
            message="Failed.",
        )
        return None, failed
    claimed = ClaimedJob(
        id=row.id,
        kind=row.kind,
        workspace_id=row.workspace_id,
        created_by=row.created_by,
        params=dict(row.params),
        attempt=row.attempts,
        max_attempts=row.max_attempts,
        request_id=row.request_id,
    )
    return claimed, row


async def creator_may_write(session: AsyncSession, job: ClaimedJob) -> bool:
    """The job runs with its creator's rights: are they still a MEMBER or OWNER?"""
    role = await session.scalar(
        select(Membership.role).where(
            Membership.workspace_id == job.workspace_id, Membership.user_id == job.created_by
        )
    )
    return role in (Role.MEMBER, Role.OWNER)


async def heartbeat(session: AsyncSession, job: ClaimedJob) -> bool:
    result = await session.execute(
        update(Job).where(_owned(job.id, job.attempt)).values(heartbeat_at=func.now())
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def report_progress(
    session: AsyncSession, job: ClaimedJob, progress: float | None, message: str | None = None
) -> Job:
    """Record progress; raise ``JobStopped`` when the run no longer owns the job.

    Called inside a job's own unit of work, it is also the checkpoint: if the job was
    canceled, the work of that unit is rolled back with it.
    """
    values: dict[str, Any] = {"updated_at": func.now(), "heartbeat_at": func.now()}
    if progress is not None:  # None: only the message changes
        values["progress"] = max(0.0, min(1.0, progress))
    if message is not None:
        values["message"] = message
    row: Job | None = await session.scalar(
        update(Job).where(_owned(job.id, job.attempt)).values(**values).returning(Job)
    )
    if row is None:
        raise JobStopped(f"job {job.id} attempt {job.attempt} no longer owns the job")
    return row


async def _finish(
    session: AsyncSession,
    job_id: int,
    attempt: int,
    status: JobStatus,
    *,
    result: dict[str, Any] | None = None,
    error: str | None = None,
    message: str | None = None,
) -> Job | None:
    return await session.scalar(
        update(Job)
        .where(_owned(job_id, attempt))
        .values(
            status=status,
            result=result,
            error=error,
            message=message,
            progress=1.0 if status is JobStatus.SUCCEEDED else Job.progress,
            finished_at=func.now(),
            updated_at=func.now(),
        )
        .returning(Job)
    )


async def succeed(
    session: AsyncSession, job: ClaimedJob, result: dict[str, Any], message: str
) -> Job | None:
    return await _finish(
        session, job.id, job.attempt, JobStatus.SUCCEEDED, result=result, message=message
    )


async def fail(session: AsyncSession, job: ClaimedJob, error: str) -> Job | None:
    return await _finish(
        session, job.id, job.attempt, JobStatus.FAILED, error=error, message="Failed."
    )


async def release(session: AsyncSession, job: ClaimedJob, message: str) -> Job | None:
    """Put the job back to QUEUED (a transient failure, or the worker shutting down)."""
    return await session.scalar(
        update(Job)
        .where(_owned(job.id, job.attempt))
        .values(status=JobStatus.QUEUED, message=message, updated_at=func.now())
        .returning(Job)
    )


async def status_of(session: AsyncSession, job_id: int) -> JobStatus | None:
    return await session.scalar(select(Job.status).where(Job.id == job_id))


# -- the sweeper's queries ---------------------------------------------------------------------


async def stale_running(session: AsyncSession, stale_after: timedelta) -> Sequence[Job]:
    """RUNNING jobs whose worker stopped writing heartbeats."""
    rows = await session.scalars(
        select(Job).where(
            Job.status == JobStatus.RUNNING,
            Job.heartbeat_at < func.now() - stale_after,
        )
    )
    return list(rows)


async def requeue_stale(session: AsyncSession, job: Job) -> Job | None:
    """A lost run: retry as a new attempt (new enqueue_seq) or, past the limit, fail."""
    if job.attempts >= job.max_attempts:
        return await _finish(
            session,
            job.id,
            job.attempts,
            JobStatus.FAILED,
            error=f"The worker stopped responding; gave up after {job.attempts} attempts.",
            message="Failed.",
        )
    return await session.scalar(
        update(Job)
        .where(_owned(job.id, job.attempts))
        .values(
            status=JobStatus.QUEUED,
            enqueue_seq=Job.enqueue_seq + 1,
            message=f"The worker stopped responding; retrying (attempt {job.attempts + 1}).",
            updated_at=func.now(),
        )
        .returning(Job)
    )


async def queued_since(session: AsyncSession, older_than: timedelta) -> Sequence[Job]:
    """QUEUED jobs not touched for a while: candidates for re-enqueueing."""
    rows = await session.scalars(
        select(Job).where(Job.status == JobStatus.QUEUED, Job.updated_at < func.now() - older_than)
    )
    return list(rows)


async def bump_enqueue_seq(session: AsyncSession, job: Job) -> Job | None:
    """Give a QUEUED job a fresh task id (its old task is gone), fenced on the old one."""
    return await session.scalar(
        update(Job)
        .where(
            Job.id == job.id,
            Job.status == JobStatus.QUEUED,
            Job.enqueue_seq == job.enqueue_seq,
        )
        .values(enqueue_seq=Job.enqueue_seq + 1, updated_at=func.now())
        .returning(Job)
    )


@dataclass
class JobRun:
    """What a job's service function gets: its claim, sessions, and the event bus."""

    job: ClaimedJob
    session_factory: async_sessionmaker[AsyncSession]
    events: JobEvents

    async def checkpoint(
        self, session: AsyncSession, progress: float | None, message: str | None = None
    ) -> Job:
        """Record progress in the caller's unit of work; raises ``JobStopped`` if canceled."""
        return await report_progress(session, self.job, progress, message)

    async def target(self, session: AsyncSession, model: type[M], param: str) -> M:
        """The row the job works on, by the id in ``params[param]``. The job may outlive it:
        then it fails for good (``Invalid``), as another attempt would find it gone too."""
        row = await session.get(model, self.job.params[param])
        if row is None:
            raise Invalid(f"The {model.__name__.lower()} no longer exists.")
        return row

    async def progress(self, progress: float | None, message: str | None = None) -> None:
        """Record progress in a unit of its own and tell subscribers."""
        async with self.session_factory() as session:
            row = await report_progress(session, self.job, progress, message)
            await session.commit()
        await self.events.publish(row)
