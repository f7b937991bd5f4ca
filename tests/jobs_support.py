"""Helpers for job tests: a real arq worker in this process, and polling a job."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from arq.worker import Worker

from app.settings import Settings
from app.worker import worker_options

TERMINAL = {"SUCCEEDED", "FAILED", "CANCELED"}
JOB_FIELDS = "id kind status progress message result error attempts downloadUrl"


@contextlib.asynccontextmanager
async def running_worker(settings: Settings, **overrides: Any) -> AsyncIterator[Worker]:
    """A real arq worker on the test Redis and database, for the duration of the block."""
    worker = Worker(
        **{**worker_options(settings.model_copy(update=overrides))}, handle_signals=False
    )
    task = asyncio.create_task(worker.async_run())
    try:
        yield worker
    finally:
        await worker.close()
        task.cancel()
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
