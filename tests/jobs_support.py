"""Helpers for job tests: a real arq worker in this process, and polling a job."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator
from typing import Any

from arq.worker import Worker

from app.settings import Settings
from app.worker import worker_options

TERMINAL = {"SUCCEEDED", "FAILED", "CANCELED"}
JOB_FIELDS = "id kind status progress message result error attempts downloadUrl"


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


async def wait_for_job(
    gql: Any, person: Any, job_id: str, *, statuses: set[str] = TERMINAL, within: float = 30
) -> dict[str, Any]:
    """Poll ``Query.job`` the way a client would, until the job reaches one of ``statuses``."""
    query = f"query($id: ID!) {{ job(id: $id) {{ {JOB_FIELDS} }} }}"
    async with asyncio.timeout(within):
        while True:
            body = await gql(query, {"id": job_id}, as_=person)
            job: dict[str, Any] = body["data"]["job"]
            if job["status"] in statuses:
                return job
            await asyncio.sleep(0.05)
