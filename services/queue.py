"""What services need from the job queue and the event bus, as protocols.

Implemented in ``jobs`` (arq and Redis pub/sub) and wired in ``app``; services stay free of
arq and Redis, and tests of services can pass simple fakes.
"""

from __future__ import annotations

from typing import Protocol

from db.models import Job


class JobQueue(Protocol):
    async def enqueue(self, job: Job, *, defer_seconds: float = 0) -> bool:
        """Hand the job to the workers; False when the queue is unreachable.

        Never raises for an unreachable queue: the job row is already committed, and the
        sweeper enqueues QUEUED rows that no queued task holds once the queue is back.
        """
        ...

    async def abort(self, job: Job) -> None:
        """Ask the worker running the job to stop it now (best effort)."""
        ...


class JobEvents(Protocol):
    async def publish(self, job: Job) -> None:
        """Tell subscribers the job changed (best effort; the row stays the truth)."""
        ...
