"""The life of one job run, shared by every job kind.

claim -> heartbeat while working -> SUCCEEDED / FAILED, or back to QUEUED for a retry.
Job functions stay thin: they pick the service function; everything about status,
retries, timeouts, cancellation and logging is here, once.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import structlog
from arq import Retry
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from db.models import Job
from jobs.deps import WorkerDeps
from jobs.kinds import JOB_KINDS
from services import job_runs
from services.errors import DomainError
from services.job_runs import ClaimedJob, JobRun, JobStopped
from services.triage import ProviderAnswerError, TransientProviderError

log = structlog.get_logger("issuegraph.jobs")

# Failures worth another attempt: the database, Redis or the network hiccupped.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OperationalError,
    InterfaceError,
    ConnectionError,
    TimeoutError,
    RedisConnectionError,
    RedisTimeoutError,
    httpx.TransportError,
    TransientProviderError,
)
# Failures that another attempt would repeat: report them as they are.
PERMANENT_ERRORS: tuple[type[BaseException], ...] = (DomainError, ProviderAnswerError)

Handler = Callable[[JobRun, WorkerDeps], Awaitable[tuple[dict[str, Any], str]]]


def _is_transient(error: BaseException) -> bool:
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, TRANSIENT_ERRORS)


async def _publish(deps: WorkerDeps, row: Job | None) -> None:
    if row is not None:
        await deps.events.publish(row)


async def _heartbeat(deps: WorkerDeps, job: ClaimedJob) -> None:
    """Prove the run is alive; the sweeper re-queues jobs whose heartbeat stops."""
    while True:
        await asyncio.sleep(deps.config.job_heartbeat_seconds)
        try:
            async with deps.session_factory() as session:
                await job_runs.heartbeat(session, job)
                await session.commit()
        except Exception as error:  # a missed beat is not fatal; the next one may land
            log.warning("job.heartbeat_failed", error=str(error))


async def _record(deps: WorkerDeps, write: Callable[[Any], Awaitable[Job | None]]) -> None:
    """Write a final transition in its own unit of work, safe from the task's cancellation."""

    async def unit() -> None:
        async with deps.session_factory() as session:
            row = await write(session)
            await session.commit()
        await _publish(deps, row)

    await asyncio.shield(unit())


async def run_job(ctx: dict[str, Any], handler: Handler, job_id: int, enqueue_seq: int) -> str:
    """Run one arq task for a job row; the return value is only arq's short-lived result."""
    deps: WorkerDeps = ctx["deps"]
    async with deps.session_factory() as session:
        job, row = await job_runs.claim(session, job_id, enqueue_seq)
        allowed = job is not None and await job_runs.creator_may_write(session, job)
        await session.commit()
    if row is None:
        log.info("job.skipped", job_id=job_id, enqueue_seq=enqueue_seq)
        return "skipped"
    # The run continues the trace of the request that started the job (kept in its row, so
    # the claim itself, which reads the row, is not part of it).
    span = deps.tracing.run(
        JOB_KINDS[row.kind].task,
        row.trace_context,
        {"issuegraph.job.id": row.id, "issuegraph.job.attempt": row.attempts},
    )
    with span:
        return await _run_job(deps, handler, job, row, allowed)


async def _run_job(
    deps: WorkerDeps, handler: Handler, job: ClaimedJob | None, row: Job, allowed: bool
) -> str:
    await _publish(deps, row)
    if job is None:  # attempts spent: the claim failed the job
        log.info("job.skipped", job_id=row.id, enqueue_seq=row.enqueue_seq)
        return "skipped"
    structlog.contextvars.bind_contextvars(
        job_id=job.id, job_kind=job.kind.value, request_id=job.request_id, attempt=job.attempt
    )
    try:
        if not allowed:
            await _record(
                deps,
                lambda s: job_runs.fail(s, job, "The job's creator may no longer start jobs here."),
            )
            return "failed"
        return await _run_claimed(deps, handler, job)
    finally:
        structlog.contextvars.unbind_contextvars("job_id", "job_kind", "request_id", "attempt")


async def _run_claimed(deps: WorkerDeps, handler: Handler, job: ClaimedJob) -> str:
    started = time.perf_counter()
    deps.metrics.started(job.kind.value)
    outcome = "interrupted"
    try:
        outcome = await _run_measured(deps, handler, job)
        return outcome
    finally:
        deps.metrics.finished(job.kind.value, outcome, time.perf_counter() - started)


async def _run_measured(deps: WorkerDeps, handler: Handler, job: ClaimedJob) -> str:
    log.info("job.started")
    run = JobRun(job=job, session_factory=deps.session_factory, events=deps.events)
    beat = asyncio.create_task(_heartbeat(deps, job))
    deadline = asyncio.timeout(deps.config.job_timeout_seconds)
    try:
        async with deadline:
            result, message = await handler(run, deps)
    except JobStopped:
        log.info("job.stopped", reason="canceled or superseded")
        return "stopped"
    except TimeoutError as error:
        if not deadline.expired():  # a socket or client timeout inside: transient
            return await _retry_or_fail(deps, job, error)
        seconds = deps.config.job_timeout_seconds
        log.warning("job.timed_out", seconds=seconds)
        await _record(deps, lambda s: job_runs.fail(s, job, f"Timed out after {seconds:g} s."))
        return "failed"
    except PERMANENT_ERRORS as error:
        reason = str(error)
        log.info("job.failed", error=reason)
        await _record(deps, lambda s: job_runs.fail(s, job, reason))
        return "failed"
    except asyncio.CancelledError:
        # cancelJob aborted the task (the row is already CANCELED), or the worker is
        # shutting down: then hand the job back so another worker picks it up.
        await _record(deps, lambda s: job_runs.release(s, job, "Worker stopped; will resume."))
        log.info("job.interrupted")
        raise
    except Exception as error:
        if _is_transient(error):
            return await _retry_or_fail(deps, job, error)
        log.exception("job.crashed")
        # The error's text may hold SQL or internals: the job says only what kind it was.
        reason = f"Unexpected error ({type(error).__name__})."
        await _record(deps, lambda s: job_runs.fail(s, job, reason))
        return "failed"
    finally:
        beat.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await beat
    await _record(deps, lambda s: job_runs.succeed(s, job, result, message))
    log.info("job.succeeded")
    return "succeeded"


async def _retry_or_fail(deps: WorkerDeps, job: ClaimedJob, error: BaseException) -> str:
    if job.attempt >= job.max_attempts:
        log.warning("job.failed", error=str(error), transient=True)
        await _record(
            deps,
            lambda s: job_runs.fail(
                s, job, f"Failed after {job.attempt} attempts: {type(error).__name__}: {error}"
            ),
        )
        return "failed"
    delay = deps.config.job_retry_backoff_seconds * 2 ** (job.attempt - 1)
    log.warning("job.retrying", error=str(error), delay_seconds=delay)
    await _record(
        deps,
        lambda s: job_runs.release(
            s, job, f"Retrying in {delay:g} s after a transient error: {type(error).__name__}."
        ),
    )
    raise Retry(defer=delay)
