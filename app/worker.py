"""The arq worker: ``WorkerSettings`` built from the environment, for `issuegraph worker`."""

from __future__ import annotations

import asyncio
from typing import Any

from arq import cron
from arq.connections import RedisSettings
from prometheus_client import start_http_server

from app.observability.logging import configure_logging
from app.observability.stats import JobMetrics
from app.observability.tracing import JobSpans, start_from_environment
from app.settings import Settings, get_settings
from jobs.deps import build_deps
from jobs.functions import worker_functions
from jobs.sweeper import clean_up, sweep
from services.triage import build_provider


def worker_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for ``arq.Worker`` (shared by the CLI and the tests)."""
    redis_url = settings.require_redis_url()
    # arq's own timeout is a backstop behind the runner's, which records the failure.
    arq_timeout = settings.job_timeout_seconds + 30
    interval = settings.job_sweep_interval_seconds

    async def startup(ctx: dict[str, Any]) -> None:
        # In the worker process itself, after any fork (app/observability/tracing.py); in a
        # thread, as the SDK's resource detection and exporter set-up wait on threads of their own.
        tracing = await asyncio.to_thread(start_from_environment, "issuegraph-worker")
        configure_logging(settings.log_level, settings.log_format, trace_ids=tracing is not None)
        triage = build_provider(
            settings.triage_provider,
            openai_base_url=settings.openai_base_url,
            openai_api_key=settings.openai_api_key,
            openai_model=settings.openai_model,
            timeout=settings.openai_timeout_seconds,
            max_retries=settings.openai_max_retries,
        )
        ctx["deps"] = build_deps(
            settings,
            ctx["redis"],
            triage,
            JobMetrics(),
            JobSpans(tracing) if tracing is not None else None,
        )
        if settings.worker_metrics_port is not None:
            start_http_server(settings.worker_metrics_port)

    async def shutdown(ctx: dict[str, Any]) -> None:
        if "deps" in ctx:
            await ctx["deps"].aclose()

    return {
        "functions": worker_functions(arq_timeout),
        "cron_jobs": [
            cron(
                sweep,
                name="jobs.sweep",
                second=set(range(0, 60, interval)),
                run_at_startup=True,
                timeout=60,
            ),
            cron(clean_up, name="jobs.clean_up", hour={3}, minute={17}, second={0}),
        ],
        "redis_settings": RedisSettings.from_dsn(redis_url),
        "queue_name": settings.queue_name,
        "on_startup": startup,
        "on_shutdown": shutdown,
        "allow_abort_jobs": True,
        "max_jobs": settings.worker_max_jobs,
        "job_timeout": arq_timeout,
        "keep_result": 60,
        "poll_delay": settings.worker_poll_delay_seconds,
        "max_tries": settings.job_max_attempts + 2,
        # On SIGTERM, let running jobs finish for this long; the rest are handed back
        # (QUEUED again) by the runner and picked up by another worker.
        "job_completion_wait": settings.worker_shutdown_grace_seconds,
        "health_check_interval": 10,
    }


def worker_settings(settings: Settings | None = None) -> type:
    """arq's ``WorkerSettings`` class, built from the environment when it is needed."""
    return type("WorkerSettings", (), worker_options(settings or get_settings()))
