"""The arq job functions: one per declared job kind (``jobs/kinds.py``), named by its
``task`` ("domain.action"), a thin wrapper around its run; the rest is ``jobs/runner.py``."""

from __future__ import annotations

from typing import Any

from arq.typing import WorkerCoroutine
from arq.worker import Function, func

from jobs.deps import WorkerDeps
from jobs.kinds import JOB_KINDS
from jobs.runner import run_job
from services.job_kind import JobKindSpec
from services.job_runs import JobRun


def worker_functions(timeout: float) -> list[Function]:
    """``WorkerSettings.functions``: every kind's function, each under its task name."""
    return [
        func(_arq_function(spec), name=spec.task, timeout=timeout) for spec in JOB_KINDS.values()
    ]


def _arq_function(spec: JobKindSpec) -> WorkerCoroutine:
    async def handler(run: JobRun, deps: WorkerDeps) -> tuple[dict[str, Any], str]:
        result = await spec.run(run, deps.resources)
        return result, spec.summary(result)

    async def arq_function(ctx: dict[str, Any], job_id: int, enqueue_seq: int) -> str:
        return await run_job(ctx, handler, job_id, enqueue_seq)

    return arq_function
