"""A real arq worker in this process, and waiting for what a worker records."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from arq.connections import ArqRedis
from arq.jobs import Job as ArqJob
from arq.jobs import JobStatus as ArqJobStatus
from arq.worker import Worker

from app.settings import Settings
from app.worker import worker_options
from jobs.queue import arq_job_id
from schema.ids import pk_of


@contextlib.asynccontextmanager
async def running_worker(settings: Settings, **overrides: Any) -> AsyncIterator[Worker]:
    """A real arq worker on the test Redis and database, for the duration of the block.

    ``Worker.close()`` cancels the running tasks and then gathers them without
    ``return_exceptions``, so it raises ``CancelledError`` whenever a task (a job finishing its
    arq bookkeeping, a sweep) is cancelled at that moment: a flaky teardown. Here the tasks are
    cancelled and awaited first, and ``close()`` only releases the connections.
    """
    worker = Worker(**worker_options(settings.model_copy(update=overrides)), handle_signals=False)
    task = asyncio.create_task(worker.async_run())
    try:
        yield worker
    finally:
        worker.handle_sig(signal.SIGUSR1)  # cancels the job tasks and the polling loop
        await asyncio.gather(*worker.tasks.values(), return_exceptions=True)
        worker.tasks.clear()
        await worker.close()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def eventually(
    check: Callable[[], Awaitable[bool]], *, within: float = 10, what: str = "the condition"
) -> None:
    """Poll ``check`` until it holds: for state a worker records after the job row (its log
    lines, its metrics), which a client can see change before the worker has recorded it."""
    try:
        async with asyncio.timeout(within):
            while not await check():  # noqa: ASYNC110 (state in another process or task)
                await asyncio.sleep(0.02)
    except TimeoutError:
        raise AssertionError(f"{what} did not hold within {within} s") from None


async def wait_for_arq_task(
    settings: Settings, job_id: str, *, enqueue_seq: int = 1, within: float = 30
) -> None:
    """Wait until arq has finished the task of (job, enqueue_seq) and stored its result.

    arq keeps a task on its queue until the task ends without a retry, so once its result is
    stored no retry of that task is pending: a test may then assert that nothing more happens.
    """
    assert settings.redis_url
    row_id = pk_of(job_id, "Job")
    assert row_id is not None, job_id
    redis = ArqRedis.from_url(settings.redis_url)
    task = ArqJob(
        arq_job_id(settings.queue_name, row_id, enqueue_seq),
        redis,
        _queue_name=settings.queue_name,
    )
    try:
        await eventually(
            lambda: _is_complete(task), within=within, what=f"arq task of job {job_id} finished"
        )
    finally:
        await redis.aclose()


async def _is_complete(task: ArqJob) -> bool:
    return await task.status() is ArqJobStatus.complete


# The name the job tests use for it.
worker = running_worker
