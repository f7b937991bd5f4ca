"""arq and Redis implementations of the services' ``JobQueue`` and ``JobEvents``."""

from __future__ import annotations

import asyncio

import structlog
from arq.connections import ArqRedis
from arq.constants import abort_jobs_ss
from arq.jobs import Job as ArqJob
from arq.jobs import JobStatus as ArqJobStatus
from arq.utils import timestamp_ms
from redis.exceptions import RedisError

from db.models import Job
from jobs.kinds import JOB_KINDS
from services import job_events

log = structlog.get_logger("issuegraph.jobs.queue")

_ALIVE = {ArqJobStatus.deferred, ArqJobStatus.queued, ArqJobStatus.in_progress}
# Redis being down must not hold a mutation open: enqueue gives up quickly.
ENQUEUE_TIMEOUT_SECONDS = 3.0


def arq_job_id(queue_name: str, job_id: int, enqueue_seq: int) -> str:
    """The row id and the enqueue attempt: unique per enqueue, so arq never refuses it."""
    return f"{queue_name}:job:{job_id}:{enqueue_seq}"


def connect(redis_url: str) -> ArqRedis:
    """An arq pool that connects lazily: the API starts even while Redis is down."""
    return ArqRedis.from_url(  # type: ignore[no-any-return]
        redis_url, socket_connect_timeout=1.0, socket_timeout=5.0, health_check_interval=30
    )


class ArqJobQueue:
    def __init__(self, redis: ArqRedis, queue_name: str) -> None:
        self.redis = redis
        self.queue_name = queue_name

    async def enqueue(self, job: Job, *, defer_seconds: float = 0) -> bool:
        try:
            async with asyncio.timeout(ENQUEUE_TIMEOUT_SECONDS):
                queued = await self.redis.enqueue_job(
                    JOB_KINDS[job.kind].task,
                    job.id,
                    job.enqueue_seq,
                    _job_id=arq_job_id(self.queue_name, job.id, job.enqueue_seq),
                    _queue_name=self.queue_name,
                    _defer_by=defer_seconds or None,
                )
        except (RedisError, OSError, TimeoutError) as error:
            log.warning("job.enqueue_failed", job_id=job.id, error=str(error))
            return False
        if queued is None:  # arq still holds this id: the sweeper gives the job a fresh one
            log.warning("job.enqueue_refused", job_id=job.id, enqueue_seq=job.enqueue_seq)
            return False
        return True

    async def abort(self, job: Job) -> None:
        # arq's own Job.abort() also waits for the result; the API must not, so only the
        # abort marker is set (what Job.abort does first) and the worker cancels the task.
        try:
            async with asyncio.timeout(ENQUEUE_TIMEOUT_SECONDS):
                await self.redis.zadd(
                    abort_jobs_ss,
                    {arq_job_id(self.queue_name, job.id, job.enqueue_seq): timestamp_ms()},
                )
        except (RedisError, OSError, TimeoutError) as error:
            log.info("job.abort_not_delivered", job_id=job.id, error=str(error))

    async def is_alive(self, job: Job) -> bool:
        """Does an arq task (queued, deferred or running) hold this job's current id?"""
        arq_job = ArqJob(
            arq_job_id(self.queue_name, job.id, job.enqueue_seq), self.redis, self.queue_name
        )
        status = await arq_job.status()
        return status in _ALIVE


class RedisJobEvents:
    def __init__(self, redis: ArqRedis, namespace: str) -> None:
        self.redis = redis
        self.namespace = namespace

    async def publish(self, job: Job) -> None:
        try:
            async with asyncio.timeout(ENQUEUE_TIMEOUT_SECONDS):
                await self.redis.publish(
                    job_events.channel(self.namespace, job.id), job_events.encode(job)
                )
        except (RedisError, OSError, TimeoutError) as error:
            log.warning("job.publish_failed", job_id=job.id, error=str(error))
