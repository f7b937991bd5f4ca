"""The common request, answered directly: ``POST /graphql`` with one JSON operation.

Most traffic is one operation POSTed as JSON. Through FastAPI and strawberry's generic view it
paid for route matching, dependency resolution, request adapters, content-type parsing and
response objects: more CPU than a one-issue read's SQL. This ASGI layer answers exactly that
request shape itself, with the router's own pieces (the context getter, the persisted-query
resolution and execution of ``IssuegraphRouter.execute_document``, strawberry's
``process_result``) and the same statuses, media types and headers. Anything else (GET,
batches, multipart, WebSockets, GraphiQL, a body that is not a JSON object, a media type the
client does not accept) goes on to the router unchanged, its body replayed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import KW_ONLY, dataclass
from typing import TYPE_CHECKING, Any

import orjson
from cross_web import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.http import GraphQLRequestData, process_result

from app.graphql.http_media import GRAPHQL_RESPONSE_JSON, JSON, is_request_error, negotiate
from app.policy.errors import send_error

if TYPE_CHECKING:
    from app.graphql.router import IssuegraphRouter
    from resolvers.context import Context

ContextGetter = Callable[[Request], Awaitable["Context"]]

_CONTENT_TYPES = {
    JSON: b"application/json",
    GRAPHQL_RESPONSE_JSON: GRAPHQL_RESPONSE_JSON.encode() + b"; charset=utf-8",
}


@dataclass(eq=False)
class GraphQLPost:
    """ASGI middleware in front of the app: the fast path for one JSON operation."""

    app: ASGIApp
    _: KW_ONLY
    path: str
    router: IssuegraphRouter
    context_getter: ContextGetter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != self.path:
            await self.app(scope, receive, send)
            return
        content_type = accept = None
        for name, value in scope["headers"]:
            if name == b"content-type":
                content_type = value.lower()
            elif name == b"accept":
                accept = value.decode("latin-1")
            elif name == b"content-encoding":
                content_type = None  # compressed bodies: the router's business
                break
        media = negotiate(accept)
        if content_type is None or not _is_json(content_type) or media is None:
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        request_data = _operation(body)
        if request_data is None:
            await self.app(scope, _replay(body, receive), send)
            return
        await self._answer(scope, _replay(body, receive), send, media, request_data)

    async def _answer(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        media: str,
        request_data: GraphQLRequestData,
    ) -> None:
        request = Request(scope, receive)
        # What FastAPI hands strawberry as the "temporal" response: extensions set the status
        # (401, 429) and headers (rate limit, WWW-Authenticate) on it.
        sub_response = Response()
        del sub_response.headers["content-length"]
        sub_response.status_code = None  # type: ignore[assignment]
        context = await self.context_getter(request)
        context.request = request
        context.response = sub_response
        try:
            await self._execute(send, media, request_data, context)
        finally:
            context.release()

    async def _execute(
        self, send: Send, media: str, request_data: GraphQLRequestData, context: Context
    ) -> None:
        request, sub_response = context.request, context.response
        assert isinstance(request, Request)
        assert sub_response is not None
        try:
            result = await self.router.execute_document(
                request, "POST", sub_response, context, request_data
            )
        except HTTPException as error:  # as the router answers it
            await send_error(send, error.status_code, error.reason)
            return
        data: dict[str, Any] = dict(process_result(result))
        status = sub_response.status_code
        if is_request_error(result.data, result.errors) and media == GRAPHQL_RESPONSE_JSON:
            data.pop("data", None)  # a request error has no data entry at all
            status = status or 400
        payload = orjson.dumps(data)
        headers = [
            (b"content-length", str(len(payload)).encode()),
            (b"content-type", _CONTENT_TYPES[media]),
            *sub_response.headers.raw,
        ]
        await send({"type": "http.response.start", "status": status or 200, "headers": headers})
        await send({"type": "http.response.body", "body": payload})


def _is_json(content_type: bytes) -> bool:
    """``application/json``, with at most a UTF-8 charset (the router judges the rest)."""
    media, *parameters = content_type.split(b";")
    return media.strip() == b"application/json" and all(
        p.strip().replace(b" ", b"") == b"charset=utf-8" for p in parameters
    )


def _operation(body: bytes) -> GraphQLRequestData | None:
    """One well-formed operation, or None for anything the router should judge."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(data, dict):
        return None
    query = data.get("query")
    variables = data.get("variables")
    operation_name = data.get("operationName")
    extensions = data.get("extensions")
    if (
        not isinstance(query, str | None)
        or not isinstance(variables, dict | None)
        or not isinstance(operation_name, str | None)
        or not isinstance(extensions, dict | None)
    ):
        return None
    return GraphQLRequestData(query, variables, operation_name, extensions)


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """``receive`` for a downstream app, after the body was read here."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()  # a disconnect, when it comes
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay
