"""The per-request ``Context``, built for each HTTP request and WebSocket (a FastAPI dependency
for the router; called directly by the POST fast path, app/graphql/graphql_post.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import NamedTuple

from starlette.requests import HTTPConnection

from app.observability.stats import observe_batch
from app.observability.tracing import Tracing
from app.policy.auth import authenticate_connection
from app.settings import Settings
from app.state import AppState
from db.statements import EngineStatements
from resolvers.context import Context, ContextWiring
from resolvers.loaders import LoaderHooks
from resolvers.paging import PagingPolicy


class ContextGetters(NamedTuple):
    """``build`` makes a context; ``get`` is the router's dependency that also releases it."""

    build: Callable[[HTTPConnection], Awaitable[Context]]
    get: Callable[[HTTPConnection], AsyncIterator[Context]]


def context_getters(settings: Settings, tracing: Tracing | None) -> ContextGetters:
    """The getters for one app, over its settings and tracing (read once, not per request)."""
    paging = PagingPolicy(
        default_page_size=settings.default_page_size,
        max_page_size=settings.max_page_size,
        max_input_list=settings.max_input_list,
        max_search_length=settings.max_search_length,
    )
    loader_hooks = LoaderHooks(
        observe_batch=observe_batch,
        trace_batch=tracing.traced_batch if tracing is not None else None,
    )

    async def build_context(connection: HTTPConnection) -> Context:
        """HTTP requests authenticate here; WebSockets in ``on_ws_connect``."""
        state: AppState = connection.app.state.issuegraph
        db = EngineStatements(state.engine, settings.request_max_connections)
        return Context(
            ContextWiring(state.session_factory, paging, loader_hooks, state.jobs),
            db=db,
            viewer=await authenticate_connection(connection, db, state.session_factory)
            if connection.scope["type"] == "http"
            else None,
            request_id=connection.scope.get("state", {}).get("request_id", ""),
        )

    async def get_context(connection: HTTPConnection) -> AsyncIterator[Context]:
        """The router's context (a FastAPI dependency): released once the answer is sent."""
        context = await build_context(connection)
        try:
            yield context
        finally:
            context.release()

    return ContextGetters(build_context, get_context)
