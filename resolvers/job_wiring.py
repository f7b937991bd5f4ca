"""The job side as the API sees it: the queue, the event bus, limits and settings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis

from schema.ids import to_global_id
from services.jobs import JobLimits
from services.queue import JobEvents, JobQueue


@dataclass(frozen=True)
class JobWiring:
    queue: JobQueue
    events: JobEvents
    redis: Redis
    # Namespaces the job event channels (the queue name).
    namespace: str
    limits: JobLimits
    export_ttl: timedelta
    # The download route's path, with a ``{job_id}`` placeholder (app/downloads.py).
    download_path: str
    # The current trace context as W3C headers, stored in a job row so that its run continues
    # the request's trace; None while tracing is off (app.tracing).
    trace_carrier: Callable[[], dict[str, str]] | None = None

    def download_url(self, base_url: str, job_pk: int, finished_at: datetime) -> str | None:
        """The export's download URL while the file lasts (it expires with the file)."""
        if finished_at + self.export_ttl <= datetime.now(UTC):
            return None
        path = self.download_path.format(job_id=to_global_id("Job", job_pk))
        return base_url.rstrip("/") + path

    def trace_context(self) -> dict[str, str] | None:
        """The request's trace, for a job row to carry to the worker (None while off)."""
        return self.trace_carrier() if self.trace_carrier is not None else None
