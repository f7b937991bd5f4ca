"""The API process's composition root: the FastAPI application factory and its lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from arq.connections import ArqRedis
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

from app import gc_tuning
from app.devtools.graphiql import Prefill, mount_static, prefill_for_server
from app.graphql.context import context_getters
from app.graphql.graphql_post import GraphQLPost
from app.graphql.http_media import HTTPCachePolicy
from app.graphql.persisted import DocumentStore
from app.graphql.router import IssuegraphRouter
from app.graphql.schema import build_schema
from app.observability.logging import configure_logging
from app.observability.request_id import RequestIdMiddleware
from app.observability.stats import instrument_engine
from app.observability.tracing import Tracing, start_from_environment
from app.policy.admission import Admission, AdmissionControl
from app.policy.body_size import BodySizeLimit
from app.policy.errors import install as install_error_handlers
from app.policy.rate_limit import RateLimiter
from app.routes.downloads import DOWNLOAD_PATH
from app.routes.downloads import router as downloads_router
from app.routes.health import router as health_router
from app.settings import Settings, get_settings
from app.state import AppState
from db.engine import create_engine, create_read_session_factory, create_session_factory
from jobs.queue import ArqJobQueue, RedisJobEvents, connect
from resolvers.context import JobWiring
from services.jobs import JobLimits


def job_wiring(settings: Settings, redis: ArqRedis, tracing: Tracing | None = None) -> JobWiring:
    return JobWiring(
        queue=ArqJobQueue(redis, settings.queue_name),
        events=RedisJobEvents(redis, settings.queue_name),
        redis=redis,
        namespace=settings.queue_name,
        limits=JobLimits(
            max_active_per_workspace=settings.job_max_active_per_workspace,
            max_attempts=settings.job_max_attempts,
            idempotency_window=timedelta(hours=settings.idempotency_window_hours),
            import_max_bytes=settings.import_max_bytes,
        ),
        export_ttl=settings.export_settings().ttl,
        download_path=DOWNLOAD_PATH,
        trace_carrier=tracing.carrier if tracing is not None else None,
    )


def create_app(
    settings: Settings | None = None, *, graphiql_prefill: Prefill | None = None
) -> FastAPI:
    """The app. ``graphiql_prefill`` (only ``issuegraph dev`` passes one: it is no setting, so
    no environment can give ``serve`` a token to publish) fills GraphiQL's editors, and only
    when ``settings.host``, where the server listens, is loopback (docs/security.md)."""
    settings = settings or get_settings()
    # Per process: each `serve --workers N` process imports app.asgi and builds its own app.
    tracing = start_from_environment("issuegraph-api")
    configure_logging(settings.log_level, settings.log_format, trace_ids=tracing is not None)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(
            settings.require_database_url(),
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            pool_timeout=settings.db_pool_timeout_seconds,
            connect_timeout=settings.db_connect_timeout_seconds,
            statement_timeout_ms=settings.db_statement_timeout_ms,
        )
        instrument_engine(engine)
        redis = connect(settings.require_redis_url())
        app.state.issuegraph = AppState(
            settings,
            engine,
            create_session_factory(engine),
            redis,
            job_wiring(settings, redis, tracing),
            RateLimiter(redis, settings.rate_limit_points_per_hour)
            if settings.rate_limit_enabled
            else None,
            DocumentStore(
                redis=redis,
                session_factory=create_read_session_factory(engine),
                namespace=settings.queue_name,
                apq_enabled=settings.apq_enabled,
                apq_ttl_seconds=settings.apq_ttl_seconds,
                trusted_only=settings.trusted_documents_only,
            ),
        )
        gc_tuning.tune(freeze=settings.gc_freeze, threshold=settings.gc_threshold)
        try:
            yield
        finally:
            await redis.aclose()
            await engine.dispose()

    build_context, get_context = context_getters(settings, tracing)

    app = FastAPI(title="issuegraph", lifespan=lifespan, docs_url=None, redoc_url=None)
    install_error_handlers(app)

    def limiter() -> RateLimiter | None:
        state: AppState | None = getattr(app.state, "issuegraph", None)
        return state.rate_limiter if state is not None else None

    graphql = IssuegraphRouter(
        build_schema(settings, limiter, tracing),
        cache=HTTPCachePolicy(
            public_max_age=settings.http_cache_public_max_age_seconds,
            private_max_age=settings.http_cache_private_max_age_seconds,
        ),
        context_getter=get_context,
        graphql_ide="graphiql" if settings.graphiql else None,
        graphiql_prefill=prefill_for_server(graphiql_prefill, settings.host)
        if settings.graphiql
        else None,
        subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
        max_subscriptions_per_connection=settings.max_subscriptions_per_connection,
    )
    app.include_router(graphql, prefix="/graphql")
    # One JSON operation POSTed to /graphql is answered without FastAPI's and strawberry's
    # generic layers; the rest reaches the router above (app/graphql/graphql_post.py).
    app.add_middleware(GraphQLPost, path="/graphql", router=graphql, context_getter=build_context)
    if settings.graphiql:
        mount_static(app)  # GraphiQL's fetched files, at /static/vendor
    app.include_router(downloads_router)
    app.include_router(health_router)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
            expose_headers=[
                "X-Request-ID",
                "X-RateLimit-Limit",
                "X-RateLimit-Remaining",
                "X-RateLimit-Reset",
            ],
        )
    app.state.admission = Admission(
        settings.max_requests_in_flight,
        settings.max_requests_waiting,
        settings.admission_wait_seconds,
    )
    app.add_middleware(
        AdmissionControl,
        admission=app.state.admission,
        deadline_seconds=settings.request_deadline_seconds,
    )
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestIdMiddleware, slow_request_ms=settings.slow_request_ms)
    if tracing is not None:
        # Outermost: the server span covers the whole request, its access log line included.
        app.add_middleware(tracing.asgi_middleware)

    return app
