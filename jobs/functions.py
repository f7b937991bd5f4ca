"""The arq job functions, ``domain.action``: thin wrappers that pick a service function."""

from __future__ import annotations

from typing import Any

from jobs.deps import WorkerDeps
from jobs.runner import run_job
from services.exports import run_export
from services.imports import run_import
from services.insights import run_triage
from services.job_runs import JobRun


async def _import(run: JobRun, deps: WorkerDeps) -> tuple[dict[str, Any], str]:
    result = await run_import(run, deps.config.imports)
    return result, f"Imported {result['created']} issues; {result['failed']} rows failed."


async def _export(run: JobRun, deps: WorkerDeps) -> tuple[dict[str, Any], str]:
    result = await run_export(run, deps.config.exports)
    return result, f"Exported {result['rows']} issues ({result['bytes']} bytes)."


async def _triage(run: JobRun, deps: WorkerDeps) -> tuple[dict[str, Any], str]:
    result = await run_triage(run, deps.triage)
    return result, f"Triaged by {result['model']}."


async def import_issues(ctx: dict[str, Any], job_id: int, enqueue_seq: int) -> str:
    return await run_job(ctx, _import, job_id, enqueue_seq)


async def export_project(ctx: dict[str, Any], job_id: int, enqueue_seq: int) -> str:
    return await run_job(ctx, _export, job_id, enqueue_seq)


async def triage_issue(ctx: dict[str, Any], job_id: int, enqueue_seq: int) -> str:
    return await run_job(ctx, _triage, job_id, enqueue_seq)
