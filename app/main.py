"""The FastAPI application factory: lifespan resources, the GraphQL router, the context."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import orjson
from arq.connections import ArqRedis
from cross_web import HTTPException  # strawberry's own HTTP error type: it becomes a 4xx
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.requests import HTTPConnection, Request
from starlette.responses import HTMLResponse
from strawberry.exceptions import ConnectionRejectionError
from strawberry.fastapi import GraphQLRouter
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

from app.downloads import router as downloads_router
from app.graphiql import graphiql_html, mount_static
from app.health import router as health_router
from app.logging import configure_logging
from app.middleware import BodySizeLimit, RequestIdMiddleware
from app.observability import instrument_engine, observe_batch
from app.rate_limit import RateLimiter
from app.schema import build_schema
from app.settings import Settings, get_settings
from db.engine import create_engine, create_read_session_factory, create_session_factory
from jobs.queue import ArqJobQueue, RedisJobEvents, connect
from resolvers.context import Context, JobWiring
from services.auth import authenticate
from services.imports import ImportSettings
from services.jobs import JobLimits
from services.viewer import Viewer


@dataclass
class AppState:
    """Everything that lives as long as the process; created in ``lifespan``."""

    settings: Settings
    engine: AsyncEngine
    session_factory: async_sessionmaker[AsyncSession]
    read_session_factory: async_sessionmaker[AsyncSession]
    redis: ArqRedis
    jobs: JobWiring
    rate_limiter: RateLimiter | None


def parse_bearer(header: str) -> str | None:
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def bearer_token(request: HTTPConnection) -> str | None:
    return parse_bearer(request.headers.get("authorization", ""))


def job_wiring(settings: Settings, redis: ArqRedis) -> JobWiring:
    return JobWiring(
        queue=ArqJobQueue(redis, settings.queue_name),
        events=RedisJobEvents(redis, settings.queue_name),
        redis=redis,
        namespace=settings.queue_name,
        limits=JobLimits(
            max_active_per_workspace=settings.job_max_active_per_workspace,
            max_attempts=settings.job_max_attempts,
            idempotency_window=timedelta(hours=settings.idempotency_window_hours),
        ),
        imports=ImportSettings(
            max_bytes=settings.import_max_bytes,
            batch_size=settings.import_batch_size,
            create_unknown_labels=settings.import_create_unknown_labels,
        ),
        export_ttl=timedelta(hours=settings.export_ttl_hours),
    )


class IssuegraphRouter(GraphQLRouter[Context, None]):
    def encode_json(self, data: object) -> str:
        """orjson: several times faster than json.dumps on a 30 KB nested answer. A str, not
        bytes: strawberry sends bytes over a WebSocket as binary frames, which browsers'
        graphql-ws clients (GraphiQL's) cannot read."""
        return orjson.dumps(data).decode()

    def parse_json(self, data: str | bytes) -> Any:
        """A body must be an operation object or a batch (a list of them): anything else is
        the client's mistake (400), not a crash in the handler."""
        parsed = super().parse_json(data)
        operations = parsed if isinstance(parsed, list) else [parsed]
        if not operations or not all(isinstance(o, dict) for o in operations):
            raise HTTPException(
                400, "The request body must be a JSON object (or a list of them for a batch)."
            )
        return parsed

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:
        """GraphiQL from the files the app serves (app.graphiql) once fetched, else the CDN."""
        return HTMLResponse(await graphiql_html())

    async def on_ws_connect(self, context: Context) -> Any:
        """Authenticate a subscription socket from its ``connection_init`` payload.

        Accepts ``{"Authorization": "Bearer <token>"}`` (any case) or ``{"token": "..."}``.
        """
        params = context.connection_params if isinstance(context.connection_params, dict) else {}
        headers = {str(k).lower(): v for k, v in params.items()}
        raw = headers.get("authorization")
        token = parse_bearer(raw) if isinstance(raw, str) else None
        if token is None and isinstance(headers.get("token"), str):
            token = headers["token"]
        if token is None:
            token = bearer_token(context.request) if context.request is not None else None
        if token is None:
            raise ConnectionRejectionError({"code": "UNAUTHENTICATED"})
        async with context.session_factory() as session:
            context.viewer = await authenticate(session, token)
            await session.commit()
        if context.viewer is None:
            raise ConnectionRejectionError({"code": "UNAUTHENTICATED"})
        return await super().on_ws_connect(context)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.log_format)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if not settings.database_url:
            raise RuntimeError("ISSUEGRAPH_DATABASE_URL is not set (or run `issuegraph dev`).")
        engine = create_engine(
            settings.database_url,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
        )
        instrument_engine(engine)
        if not settings.redis_url:
            raise RuntimeError("ISSUEGRAPH_REDIS_URL is not set (or run `issuegraph dev`).")
        redis = connect(settings.redis_url)
        app.state.issuegraph = AppState(
            settings,
            engine,
            create_session_factory(engine),
            create_read_session_factory(engine),
            redis,
            job_wiring(settings, redis),
            RateLimiter(redis, settings.rate_limit_points_per_hour)
            if settings.rate_limit_enabled
            else None,
        )
        try:
            yield
        finally:
            await redis.aclose()
            await engine.dispose()

    async def get_context(connection: HTTPConnection) -> Context:
        """HTTP requests authenticate here; WebSockets in ``on_ws_connect``."""
        state: AppState = connection.app.state.issuegraph
        viewer: Viewer | None = None
        token = bearer_token(connection) if connection.scope["type"] == "http" else None
        if token is not None:
            async with state.session_factory() as session:
                viewer = await authenticate(session, token)
                await session.commit()
        return Context(
            session_factory=state.session_factory,
            read_session_factory=state.read_session_factory,
            viewer=viewer,
            request_id=connection.scope.get("state", {}).get("request_id", ""),
            jobs=state.jobs,
            default_page_size=settings.default_page_size,
            max_page_size=settings.max_page_size,
            max_connections=settings.request_max_connections,
            max_input_list=settings.max_input_list,
            observe_batch=observe_batch,
            max_search_length=settings.max_search_length,
        )

    app = FastAPI(title="issuegraph", lifespan=lifespan, docs_url=None, redoc_url=None)

    def limiter() -> RateLimiter | None:
        state: AppState | None = getattr(app.state, "issuegraph", None)
        return state.rate_limiter if state is not None else None

    graphql = IssuegraphRouter(
        build_schema(settings, limiter),
        context_getter=get_context,
        graphql_ide="graphiql" if settings.graphiql else None,
        subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
        max_subscriptions_per_connection=settings.max_subscriptions_per_connection,
    )
    app.include_router(graphql, prefix="/graphql")
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
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestIdMiddleware, slow_request_ms=settings.slow_request_ms)

    return app
