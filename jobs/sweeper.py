"""Periodic housekeeping (arq cron): recover lost jobs, delete expired files and old jobs."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy import delete, func

from db.models import TERMINAL_JOB_STATUSES, Job, JobFile
from jobs.deps import WorkerDeps
from services import job_runs

log = structlog.get_logger("issuegraph.jobs.sweeper")

# A QUEUED row younger than this may be one whose mutation is enqueueing it right now.
QUEUED_GRACE = timedelta(seconds=2)


async def sweep(ctx: dict[str, Any]) -> dict[str, int]:
    """Nothing is lost: re-enqueue QUEUED rows no arq task holds, retry or fail lost runs."""
    deps: WorkerDeps = ctx["deps"]
    requeued = failed = enqueued = 0
    async with deps.session_factory() as session:
        stale = await job_runs.stale_running(
            session, timedelta(seconds=deps.config.job_stale_after_seconds)
        )
    for job in stale:
        async with deps.session_factory() as session:
            row = await job_runs.requeue_stale(session, job)
            await session.commit()
        if row is None:
            continue
        await deps.events.publish(row)
        if row.status in TERMINAL_JOB_STATUSES:
            failed += 1
            log.warning("job.lost_and_failed", job_id=row.id, attempts=row.attempts)
        elif await deps.queue.enqueue(row):
            requeued += 1
            log.warning("job.lost_and_requeued", job_id=row.id, attempts=row.attempts)

    async with deps.session_factory() as session:
        queued = await job_runs.queued_since(session, QUEUED_GRACE)
    for job in queued:
        if await deps.queue.is_alive(job):
            continue
        async with deps.session_factory() as session:
            row = await job_runs.bump_enqueue_seq(session, job)
            await session.commit()
        if row is not None and await deps.queue.enqueue(row):
            enqueued += 1
            log.info("job.enqueued_by_sweeper", job_id=row.id, enqueue_seq=row.enqueue_seq)
    return {"requeued": requeued, "failed": failed, "enqueued": enqueued}


async def clean_up(ctx: dict[str, Any]) -> dict[str, int]:
    """Daily: drop expired export files and job rows older than the retention period."""
    deps: WorkerDeps = ctx["deps"]
    async with deps.session_factory() as session:
        files = await session.execute(
            delete(JobFile).where(JobFile.purpose == "export", JobFile.expires_at < func.now())
        )
        jobs = await session.execute(
            delete(Job).where(
                Job.status.in_(TERMINAL_JOB_STATUSES),
                Job.finished_at < func.now() - timedelta(days=deps.config.job_retention_days),
            )
        )
        await session.commit()
    counts = {"files": files.rowcount, "jobs": jobs.rowcount}  # type: ignore[attr-defined]
    log.info("jobs.cleaned_up", **counts)
    return counts
