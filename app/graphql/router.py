"""``/graphql``: strawberry's router speaking GraphQL over HTTP as the specification says, with
persisted queries, trusted documents, batches and the IDE."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, overload

import orjson
from cross_web import (
    AsyncHTTPRequestAdapter,
    HTTPException,  # strawberry's own HTTP error type: it becomes a 4xx
)
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.websockets import WebSocket
from strawberry import UNSET
from strawberry.exceptions import ConnectionRejectionError, MissingQueryError
from strawberry.fastapi import GraphQLRouter
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.types import ExecutionResult

from app.devtools.graphiql import Prefill, graphiql_html, prefill_for
from app.graphql.extensions.error_policy import record_error_codes
from app.graphql.http_media import (
    GRAPHQL_RESPONSE_JSON,
    JSON,
    HTTPCachePolicy,
    is_request_error,
    negotiate,
)
from app.graphql.persisted import DocumentStore, PersistedQueryError
from app.graphql.websocket import TransportWSHandler
from app.policy.auth import authenticate_connection
from app.policy.errors import code_for, error_body
from resolvers.context import Context
from schema.framework_compat import (
    BaseRequestProtocol,
    CannotGetOperationTypeError,
    InvalidOperationTypeError,
    OperationType,
)

_UTF8_BOM = b"\xef\xbb\xbf"


def json_refusal(error: HTTPException) -> Response:
    """An HTTP refusal of the GraphQL endpoint as JSON with a code (app.policy.errors)."""
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


class IssuegraphRouter(GraphQLRouter[Context, None]):
    """Strawberry's router, speaking GraphQL over HTTP as the specification (and
    app.graphql.http_media) says, with persisted queries and trusted documents
    (app.graphql.persisted)."""

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
        the router and the POST fast path (``app.graphql.graphql_post``).
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
        """GraphiQL from the files the app serves (app.devtools.graphiql) once fetched, else the
        CDN; under `issuegraph dev`, with its token when this request may see it."""
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
        """Authenticate a subscription socket from its ``connection_init`` payload (or else
        its upgrade request's header): app.policy.auth.credentials."""
        context.viewer = await authenticate_connection(
            context.request, context.db, context.session_factory, context.connection_params
        )
        if context.viewer is None:
            raise ConnectionRejectionError({"code": "UNAUTHENTICATED"})
        return await super().on_ws_connect(context)
