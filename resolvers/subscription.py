"""The Subscription root: job updates fed by Redis pub/sub, so any API replica can serve them."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncGenerator

import strawberry
from graphql import GraphQLError
from redis.asyncio.client import PubSub

from resolvers.context import Context, ResolverInfo
from schema.ids import pk_of
from schema.types import Job
from services import job_events
from services.auth import current_roles
from services.types import JobStatus

ContextInfo = ResolverInfo

TERMINAL = {JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELED}
# With no event for this long, re-read the row: a lost message must not stall a client.
RESYNC_SECONDS = 10.0


async def _load(context: Context, pk: int, *, fresh_roles: bool = False) -> Job | None:
    services = context.services
    if fresh_roles:  # a socket lives long: take the viewer's memberships as they are now
        services = services.for_viewer(await current_roles(context.db, services.viewer))
    [row] = await services.job_reads.get_many([pk])
    return Job.from_row(row) if row is not None else None


def _state(job: Job) -> tuple[object, ...]:
    return (job.status, job.progress, job.message, job.attempts)


async def _stream(
    context: Context, pk: int, pubsub: PubSub, first: Job
) -> AsyncGenerator[Job, None]:
    """The current state, then each change, until a terminal status."""
    try:
        job = first
        yield job
        last = _state(job)
        checked = time.monotonic()
        while job.status not in TERMINAL:
            message = await pubsub.get_message(
                ignore_subscribe_messages=True, timeout=RESYNC_SECONDS
            )
            if message is not None and message.get("type") == "message":
                job = Job.from_row(job_events.decode(message["data"]))
                if time.monotonic() - checked < RESYNC_SECONDS:
                    if _state(job) != last:
                        last = _state(job)
                        yield job
                    continue
            # Every RESYNC_SECONDS at most: re-read the row with the viewer's current roles,
            # so a removed member's subscription ends and a lost message is made up for.
            refreshed = await _load(context, pk, fresh_roles=True)
            checked = time.monotonic()
            if refreshed is None:  # deleted, or the viewer lost access
                return
            job = refreshed
            if _state(job) != last:
                last = _state(job)
                yield job
    finally:
        with contextlib.suppress(Exception):
            await asyncio.shield(pubsub.aclose())  # type: ignore[no-untyped-call]


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="Emits the job's current state first, then on every change of status or "
        "progress, and completes after a terminal status (at once, after the first message, "
        "for a job already finished)."
    )
    async def job_updates(
        self,
        info: ContextInfo,
        id: strawberry.ID,
    ) -> AsyncGenerator[Job, None]:
        # A plain coroutine that checks first and then returns the stream: a missing or
        # foreign job is then an `error` message, not a `next` carrying errors.
        context = info.context
        pk = pk_of(id, "Job")
        if pk is None:
            raise GraphQLError("Job not found.", extensions={"code": "NOT_FOUND"})
        pubsub = context.jobs.redis.pubsub()
        try:
            # Subscribe before reading the row, so no change between the two is missed.
            await pubsub.subscribe(job_events.channel(context.jobs.namespace, pk))
            job = await _load(context, pk)
        except BaseException:
            await pubsub.aclose()  # type: ignore[no-untyped-call]
            raise
        if job is None:
            await pubsub.aclose()  # type: ignore[no-untyped-call]
            raise GraphQLError("Job not found.", extensions={"code": "NOT_FOUND"})
        return _stream(context, pk, pubsub, job)
