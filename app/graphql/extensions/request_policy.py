"""``RequestPolicy``: what runs between validation and execution, in order."""

from __future__ import annotations

from collections.abc import AsyncIterator

import structlog
from graphql import ExecutionResult, GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext

from app.graphql.document_facts import OperationFacts, bad_text, facts
from app.graphql.extensions.query_budget import QueryBudget
from app.observability.stats import current_request


def _refuse(ctx: ExecutionContext, message: str, code: str, status: int | None = None) -> None:
    """Answer the operation with one error instead of executing it."""
    if status is not None:
        response = getattr(ctx.context, "response", None)
        if response is not None:
            response.status_code = status
            if status == 401:
                response.headers["WWW-Authenticate"] = 'Bearer realm="issuegraph"'
    ctx.result = ExecutionResult(
        data=None, errors=[GraphQLError(message, extensions={"code": code})]
    )


def authentication_gate(ctx: ExecutionContext, found: OperationFacts) -> None:
    """401 for an operation without a valid token, after parsing and validation.

    The error policy of docs/architecture.md. An operation that selects only meta fields
    (introspection, ``__typename``) needs no token.
    """
    if (
        getattr(ctx.context, "viewer", None) is None
        and found.operation is not None
        and not found.only_meta_fields
    ):
        _refuse(
            ctx,
            "Authentication required: send `Authorization: Bearer <token>`.",
            "UNAUTHENTICATED",
            401,
        )


def subscriptions_over_websocket_only(ctx: ExecutionContext, found: OperationFacts) -> None:
    """A subscription sent over HTTP gets a clear refusal (HTTP 400), not an executor error."""
    request = getattr(ctx.context, "request", None)
    if found.is_subscription and request is not None and request.scope.get("type") == "http":
        _refuse(
            ctx,
            "Subscriptions are served over WebSocket only (graphql-transport-ws at /graphql).",
            "BAD_REQUEST",
            400,
        )


def text_input_sanity(ctx: ExecutionContext, found: OperationFacts) -> None:
    """Refuse text PostgreSQL cannot store (NUL, unpaired surrogates) before it reaches SQL."""
    if found.bad_literals or bad_text(ctx.variables or {}):
        _refuse(
            ctx,
            "Text input must not contain NUL characters or unpaired surrogates.",
            "BAD_USER_INPUT",
        )


def request_accounting(ctx: ExecutionContext) -> None:
    """Name the operation and the viewer on every log line and in the request's stats."""
    operation = ctx.operation_name
    if operation is None and ctx.graphql_document is not None:
        operation = facts(ctx.graphql_document, None).label
    viewer = getattr(ctx.context, "viewer", None)
    viewer_id = getattr(viewer, "user_id", None)
    structlog.contextvars.bind_contextvars(operation=operation, viewer_id=viewer_id)
    stats = current_request.get()
    if stats is not None:
        stats.operation = operation
        stats.viewer_id = viewer_id


class RequestPolicy(SchemaExtension):
    """What runs between validation and execution, in order, as one extension (strawberry's
    runner costs per extension and hook): the authentication gate, subscriptions over
    WebSocket only, text PostgreSQL can store, request accounting, the query budget."""

    def __init__(self, *, budget: QueryBudget) -> None:
        self.budget = budget

    async def on_operation(self) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await self.budget.after_operation(self.execution_context)

    async def on_execute(self) -> AsyncIterator[None]:
        ctx = self.execution_context
        document = ctx.graphql_document
        if ctx.result is None and document is not None:
            found = facts(document, ctx.operation_name)
            for step in (authentication_gate, subscriptions_over_websocket_only, text_input_sanity):
                step(ctx, found)
                if ctx.result is not None:
                    break
            request_accounting(ctx)
            if ctx.result is None:
                await self.budget.before_execution(ctx, found)
        else:
            request_accounting(ctx)
        yield
