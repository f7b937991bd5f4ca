"""The FastAPI application factory: lifespan resources, the GraphQL router, the context."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fastapi import FastAPI, Request, Response
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from strawberry.fastapi import GraphQLRouter
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

from app.logging import configure_logging
from app.middleware import RequestIdMiddleware
from app.schema import schema
from app.settings import Settings, get_settings
from db.engine import create_engine, create_session_factory
from resolvers.context import Context
from services.auth import authenticate
from services.viewer import Viewer


@dataclass
class AppState:
    """Everything that lives as long as the process; created in ``lifespan``."""

    settings: Settings
    engine: AsyncEngine
    session_factory: async_sessionmaker[AsyncSession]


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


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
        app.state.issuegraph = AppState(settings, engine, create_session_factory(engine))
        try:
            yield
        finally:
            await engine.dispose()

    async def get_context(request: Request, response: Response) -> Context:
        state: AppState = request.app.state.issuegraph
        viewer: Viewer | None = None
        token = bearer_token(request)
        if token is not None:
            async with state.session_factory() as session:
                viewer = await authenticate(session, token)
        return Context(
            session_factory=state.session_factory,
            viewer=viewer,
            request_id=request.scope.get("state", {}).get("request_id", ""),
            default_page_size=settings.default_page_size,
            max_page_size=settings.max_page_size,
            max_connections=settings.request_max_connections,
        )

    app = FastAPI(title="issuegraph", lifespan=lifespan, docs_url=None, redoc_url=None)
    graphql: GraphQLRouter[Context, None] = GraphQLRouter(
        schema,
        context_getter=get_context,
        graphql_ide="graphiql" if settings.graphiql else None,
        subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
    )
    app.include_router(graphql, prefix="/graphql")
    app.add_middleware(RequestIdMiddleware)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
