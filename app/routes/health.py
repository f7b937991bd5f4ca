"""Operational routes: liveness, readiness, metrics."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import func, select, text

from app import metrics
from app.observability.stats import refresh_pool_gauge
from db.migrate import SchemaState, describe, schema_status
from db.models import Job, JobStatus

router = APIRouter(include_in_schema=False)
CHECK_TIMEOUT_SECONDS = 2.0


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is alive and serving (no dependency is checked)."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """Ready for traffic: PostgreSQL and Redis answer and the schema is at this code's head.

    A schema behind the code (run `issuegraph migrate`) and one ahead of it (a newer release
    migrated it) are told apart in ``problems.migrations``.
    """
    state = request.app.state.issuegraph
    problems: dict[str, str] = {}
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            async with state.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
    except Exception as error:  # any failure means not ready; the reason is reported
        problems["postgres"] = f"unreachable: {type(error).__name__}"
    else:
        try:
            schema = await schema_status(state.engine)
        except Exception as error:
            problems["migrations"] = f"cannot be checked: {type(error).__name__}"
        else:
            if schema.state is SchemaState.BEHIND:
                problems["migrations"] = (
                    f"behind: the database is at {describe(schema.database)}, older than this "
                    f"code's {describe(schema.heads)}; run `issuegraph migrate`"
                )
            elif schema.state is SchemaState.AHEAD:
                problems["migrations"] = (
                    f"ahead: the database is at {describe(schema.database)}, a revision this "
                    f"code (at {describe(schema.heads)}) does not know: a newer release migrated "
                    "it; roll forward, or downgrade with the newer release "
                    f"(`issuegraph migrate --to {describe(schema.heads)}`)"
                )
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            await state.redis.ping()
    except Exception as error:
        problems["redis"] = f"unreachable: {type(error).__name__}"
    if problems:
        return JSONResponse({"status": "unavailable", "problems": problems}, status_code=503)
    return JSONResponse({"status": "ready"})


@router.get("/metrics")
async def metrics_endpoint(request: Request) -> Response:
    state = request.app.state.issuegraph
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS), state.engine.connect() as connection:
            queued = await connection.scalar(
                select(func.count()).select_from(Job).where(Job.status == JobStatus.QUEUED)
            )
        metrics.QUEUE_DEPTH.set(queued or 0)
    except Exception:  # the other metrics are still worth serving without the queue depth
        metrics.QUEUE_DEPTH.set(float("nan"))
    refresh_pool_gauge()
    # Collecting reads /proc and, with several processes, the metric files: off the loop.
    body, content_type = await asyncio.to_thread(metrics.render)
    return Response(body, media_type=content_type)
