"""The FastAPI application factory: lifespan resources, the GraphQL router, the context."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, overload

import orjson
from arq.connections import ArqRedis
from cross_web import (
    AsyncHTTPRequestAdapter,
    HTTPException,  # strawberry's own HTTP error type: it becomes a 4xx
)
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.requests import HTTPConnection, Request
from starlette.responses import HTMLResponse, Response
from starlette.websockets import WebSocket
from strawberry import UNSET
from strawberry.exceptions import ConnectionRejectionError, MissingQueryError
from strawberry.fastapi import GraphQLRouter
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult

from app import gc_tuning
from app.admission import Admission, AdmissionControl
from app.auth import bearer_token, parse_bearer, viewer_for
from app.downloads import DOWNLOAD_PATH
from app.downloads import router as downloads_router
from app.errors import code_for, error_body
from app.errors import install as install_error_handlers
from app.extensions import record_error_codes
from app.graphiql import Prefill, graphiql_html, mount_static, prefill_for, prefill_for_server
from app.graphql_post import GraphQLPost
from app.health import router as health_router
from app.http_media import (
    GRAPHQL_RESPONSE_JSON,
    JSON,
    HTTPCachePolicy,
    is_request_error,
    negotiate,
)
from app.logging import configure_logging
from app.middleware import BodySizeLimit, RequestIdMiddleware
from app.observability import instrument_engine, observe_batch
from app.persisted import DocumentStore, PersistedQueryError
from app.rate_limit import RateLimiter
from app.schema import build_schema
from app.settings import Settings, get_settings
from app.tracing import Tracing, start_from_environment
from db.engine import create_engine, create_read_session_factory, create_session_factory
from db.statements import EngineStatements
from jobs.queue import ArqJobQueue, RedisJobEvents, connect
from resolvers.context import Context, ContextWiring, JobWiring
from resolvers.loaders import LoaderHooks
from resolvers.paging import PagingPolicy
from schema.framework_compat import (
    BaseGraphQLTransportWSHandler,
    BaseRequestProtocol,
    CannotGetOperationTypeError,
    InvalidOperationTypeError,
    OperationType,
    SubscribeMessage,
)
from services.imports import ImportSettings
from services.jobs import JobLimits


@dataclass
class AppState:
    """Everything that lives as long as the process; created in ``lifespan``."""

    settings: Settings
    engine: AsyncEngine
    session_factory: async_sessionmaker[AsyncSession]
    redis: ArqRedis
    jobs: JobWiring
    rate_limiter: RateLimiter | None
    documents: DocumentStore


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
        ),
        imports=ImportSettings(
            max_bytes=settings.import_max_bytes,
            batch_size=settings.import_batch_size,
            create_unknown_labels=settings.import_create_unknown_labels,
        ),
        export_ttl=timedelta(hours=settings.export_ttl_hours),
        download_path=DOWNLOAD_PATH,
        trace_carrier=tracing.carrier if tracing is not None else None,
    )


_UTF8_BOM = b"\xef\xbb\xbf"


def json_refusal(error: HTTPException) -> Response:
    """An HTTP refusal of the GraphQL endpoint as JSON with a code (app.errors)."""
    return Response(
        error_body(error.reason, code_for(error.status_code)),
        status_code=error.status_code,
        media_type="application/json",
        headers={"Cache-Control": "no-store"},
    )


class MutationOverGet(Exception):
    """A mutation sent with GET: HTTP 405 with ``Allow: POST`` (GraphQL over HTTP)."""


@dataclass
class Outcome:
    """What the results of one HTTP request were, for its status code and caching."""

    results: int = 0
    request_errors: int = 0
    errors: bool = False


class TransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """graphql-transport-ws with the same document rules as HTTP: in trusted-documents mode
    only registered documents run (by hash in ``payload.extensions.persistedQuery`` or in
    full); a hash alone also finds an APQ or trusted document. Nothing is registered here."""

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        request = self.context.request
        if self.connection_acknowledged and request is not None:
            documents: DocumentStore = request.app.state.issuegraph.documents
            payload = message["payload"]
            try:
                resolved = await documents.resolve(payload.get("query"), payload.get("extensions"))
            except PersistedQueryError as error:
                refusal = error.as_graphql_error()
                record_error_codes([refusal])
                await self.send_message(
                    {"id": message["id"], "type": "error", "payload": [refusal.formatted]}
                )
                return
            if resolved.query is not None:
                message = {**message, "payload": {**payload, "query": resolved.query}}
        await super().handle_subscribe(message)


class IssuegraphRouter(GraphQLRouter[Context, None]):
    """Strawberry's router, speaking GraphQL over HTTP as the specification (and
    app.http_media) says, with persisted queries and trusted documents (app.persisted)."""

    graphql_transport_ws_handler_class = TransportWSHandler

    def __init__(
        self,
        *args: Any,
        cache: HTTPCachePolicy | None = None,
        graphiql_prefill: Prefill | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.cache = cache or HTTPCachePolicy()
        self.graphiql_prefill = graphiql_prefill

    def should_render_graphql_ide(self, request: BaseRequestProtocol) -> bool:
        """An APQ GET carries no ``query`` but ``extensions``: an operation, not the IDE."""
        return (
            super().should_render_graphql_ide(request)
            and request.query_params.get("extensions") is None
        )

    async def parse_http_body(
        self, request: AsyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        if negotiate(request.headers.get("accept")) is None:
            raise HTTPException(
                406, f"Not acceptable: this server answers {GRAPHQL_RESPONSE_JSON} or {JSON}."
            )
        return await super().parse_http_body(request)

    async def execute_operation(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        request_data: GraphQLRequestData | list[GraphQLRequestData],
        context: Context,
        root_value: None,
        sub_response: Response,
    ) -> Any:
        """A batch runs its operations one after the other (strawberry gathers them), so each
        sees every earlier operation's committed writes."""
        if not isinstance(request_data, list):
            return await super().execute_operation(
                request, request_adapter, request_data, context, root_value, sub_response
            )
        return [
            await self.execute_single(
                request, request_adapter, sub_response, context, root_value, operation
            )
            for operation in request_data
        ]

    async def execute_single(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        return await self.execute_document(
            request, request_adapter.method, sub_response, context, request_data
        )

    async def execute_document(
        self,
        request: Request,
        method: str,
        sub_response: Response,
        context: Context,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        """Resolve a persisted query (or refuse an untrusted document), then execute.

        What strawberry's ``execute_single`` does, with the document resolved first; shared by
        the router and the POST fast path (``app.graphql_post``).
        """
        documents: DocumentStore = request.app.state.issuegraph.documents
        try:
            resolved = await documents.resolve(request_data.query, request_data.extensions)
        except PersistedQueryError as error:
            if error.status != 200 or sub_response.status_code is None:
                sub_response.status_code = error.status
            refusal = error.as_graphql_error()
            record_error_codes([refusal])
            return ExecutionResult(data=None, errors=[refusal])
        try:
            result = await self.schema.execute(
                resolved.query,
                variable_values=request_data.variables,
                context_value=context,
                operation_name=request_data.operation_name,
                allowed_operation_types=OperationType.from_http(method),  # type: ignore[arg-type]
                operation_extensions=request_data.extensions,
            )
        except CannotGetOperationTypeError as error:
            raise HTTPException(400, error.as_http_error_reason()) from error
        except InvalidOperationTypeError as error:
            reason = error.as_http_error_reason(method)
            if method == "GET" and error.operation_type is OperationType.MUTATION:
                raise MutationOverGet(reason) from error
            raise HTTPException(400, reason) from error
        except MissingQueryError as error:
            raise HTTPException(400, "No GraphQL query found in the request") from error
        if (
            resolved.register is not None
            and resolved.query is not None
            # Only documents that parsed and validated, only from a client with a valid
            # token: anonymous clients cannot fill Redis with documents.
            and context.viewer is not None
            and not is_request_error(result.data, result.errors)
        ):
            await documents.register(resolved.register, resolved.query)
        return result

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        data = await super().process_result(request, result)
        if request.scope["type"] != "http":
            return data
        outcome: Outcome | None = getattr(request.state, "graphql_outcome", None)
        if outcome is None:
            outcome = request.state.graphql_outcome = Outcome()
        outcome.results += 1
        outcome.errors = outcome.errors or bool(result.errors)
        if is_request_error(result.data, result.errors):
            outcome.request_errors += 1
            if negotiate(request.headers.get("accept")) == GRAPHQL_RESPONSE_JSON:
                data.pop("data", None)  # a request error has no data entry at all
        return data

    @overload
    async def run(
        self, request: Request, context: Context = UNSET, root_value: None = UNSET
    ) -> Response: ...

    @overload
    async def run(
        self, request: WebSocket, context: Context = UNSET, root_value: None = UNSET
    ) -> WebSocket: ...

    async def run(
        self, request: Request | WebSocket, context: Context = UNSET, root_value: None = UNSET
    ) -> Response | WebSocket:
        if isinstance(request, WebSocket):
            return await super().run(request, context, root_value)
        media = negotiate(request.headers.get("accept")) or JSON
        try:
            response = await super().run(request, context, root_value)
        except HTTPException as error:
            # Strawberry answers its refusals in plain text: clients parse JSON.
            return json_refusal(error)
        except MutationOverGet as error:
            refusal = {"message": str(error), "extensions": {"code": "METHOD_NOT_ALLOWED"}}
            body = {"errors": [refusal]}
            return Response(
                self.encode_json(body),
                status_code=405,
                media_type=media,
                headers={"Allow": "POST", "Cache-Control": "no-store"},
            )
        outcome: Outcome | None = getattr(request.state, "graphql_outcome", None)
        if outcome is None or isinstance(response, HTMLResponse):
            return response  # the IDE, or nothing was executed
        if media == GRAPHQL_RESPONSE_JSON:
            response.headers["content-type"] = f"{GRAPHQL_RESPONSE_JSON}; charset=utf-8"
            explicit = getattr(getattr(context, "response", None), "status_code", None)
            if outcome.results == 1 and outcome.request_errors == 1 and explicit is None:
                response.status_code = 400
        if request.method == "GET":
            response.headers["Vary"] = "Accept, Authorization"
            response.headers["Cache-Control"] = self.cache.header(
                ok=not outcome.errors and response.status_code == 200,
                authorized="authorization" in request.headers,
            )
        return response

    def encode_json(self, data: object) -> str:
        """orjson: several times faster than json.dumps on a 30 KB nested answer. A str, not
        bytes: strawberry sends bytes over a WebSocket as binary frames, which browsers'
        graphql-ws clients (GraphiQL's) cannot read."""
        return orjson.dumps(data).decode()

    def parse_json(self, data: str | bytes) -> Any:
        """A body must be an operation object or a batch (a list of them): anything else is
        the client's mistake (400), not a crash in the handler.

        orjson refuses what is not UTF-8 JSON and nesting past 1,024 levels with one error
        (the standard library raised ``UnicodeDecodeError``/``RecursionError``: a 500).
        """
        if isinstance(data, bytes) and data.startswith(_UTF8_BOM):
            data = data[len(_UTF8_BOM) :]  # RFC 8259: a parser may ignore a byte order mark
        try:
            parsed = orjson.loads(data)
        except orjson.JSONDecodeError as error:
            raise HTTPException(400, "Unable to parse request body as JSON") from error
        operations = parsed if isinstance(parsed, list) else [parsed]
        if not operations or not all(isinstance(o, dict) for o in operations):
            raise HTTPException(
                400, "The request body must be a JSON object (or a list of them for a batch)."
            )
        return parsed

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:
        """GraphiQL from the files the app serves (app.graphiql) once fetched, else the CDN;
        under `issuegraph dev`, with its token when this request may see it."""
        prefill = prefill_for(
            self.graphiql_prefill,
            server=request.scope.get("server"),
            host_header=request.headers.get("host"),
        )
        page = HTMLResponse(await graphiql_html(prefill=prefill))
        if prefill is not None:
            page.headers["Cache-Control"] = "no-store"  # it carries a token
        return page

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
        context.viewer = await viewer_for(token, context.db, context.session_factory)
        if context.viewer is None:
            raise ConnectionRejectionError({"code": "UNAUTHENTICATED"})
        return await super().on_ws_connect(context)


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
        if not settings.database_url:
            raise RuntimeError("ISSUEGRAPH_DATABASE_URL is not set (or run `issuegraph dev`).")
        engine = create_engine(
            settings.database_url,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            pool_timeout=settings.db_pool_timeout_seconds,
            connect_timeout=settings.db_connect_timeout_seconds,
            statement_timeout_ms=settings.db_statement_timeout_ms,
        )
        instrument_engine(engine)
        if not settings.redis_url:
            raise RuntimeError("ISSUEGRAPH_REDIS_URL is not set (or run `issuegraph dev`).")
        redis = connect(settings.redis_url)
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
        token = bearer_token(connection) if connection.scope["type"] == "http" else None
        return Context(
            ContextWiring(state.session_factory, paging, loader_hooks, state.jobs),
            db=db,
            viewer=await viewer_for(token, db, state.session_factory),
            request_id=connection.scope.get("state", {}).get("request_id", ""),
        )

    async def get_context(connection: HTTPConnection) -> AsyncIterator[Context]:
        """The router's context (a FastAPI dependency): released once the answer is sent."""
        context = await build_context(connection)
        try:
            yield context
        finally:
            context.release()

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
    # generic layers; the rest reaches the router above (app/graphql_post.py).
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
