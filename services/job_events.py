"""The job-change event: what workers publish and subscriptions read (a JSON snapshot)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from db.models import Job


def channel(namespace: str, job_id: int) -> str:
    """The pub/sub channel of a job. Pub/sub ignores Redis database numbers, so channels carry
    the deployment's queue name: two deployments sharing a Redis never see each other's jobs."""
    return f"{namespace}:events:{job_id}"


_DATES = ("created_at", "updated_at", "started_at", "finished_at")


def snapshot(job: Job) -> dict[str, Any]:
    """The job as a row of its columns (enums as their labels), like a read's: what an event
    carries, and what ``schema/types/jobs.py:Job`` is built from after a write too."""
    return {
        "id": job.id,
        "workspace_id": job.workspace_id,
        "created_by": job.created_by,
        "kind": job.kind.value,
        "status": job.status.value,
        "progress": job.progress,
        "message": job.message,
        "result": job.result,
        "error": job.error,
        "attempts": job.attempts,
        **{name: getattr(job, name) for name in _DATES},
    }


def encode(job: Job) -> bytes:
    return orjson.dumps(snapshot(job))


def decode(raw: bytes | str) -> dict[str, Any]:
    """The snapshot as a row of the job's columns (enums as their labels), like a read's."""
    data: dict[str, Any] = orjson.loads(raw)
    for name in _DATES:
        if data[name] is not None:
            data[name] = datetime.fromisoformat(data[name])
    return data
