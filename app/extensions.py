"""Schema extensions: document caches, the request policy (authentication, budget, ...)
and the error policy."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from functools import lru_cache
from typing import Any

import structlog
from graphql import (
    ASTValidationRule,
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    parse,
)
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext

from app import metrics
from app.cost import CostRules, estimate_nodes
from app.document_facts import OperationFacts, bad_text, facts
from app.errors import RETRY_AFTER_SECONDS, timed_out, unavailable
from app.observability import current_request
from app.rate_limit import RateLimiter, request_points
from execution.compat import (
    OperationType,
    graphql_core_schema,
    limit_error_code,
    validate_document,
)
from resolvers.context import RateLimitInfo
from schema.selection import IdentityCache
from services.errors import DomainError

log = structlog.get_logger("issuegraph.graphql")

# The refusals of strawberry's limit rules, recognised by their messages.
# How a domain error raised outside a mutation payload (a query argument) is coded.
_DOMAIN_CODES = {"INVALID": "BAD_USER_INPUT"}


_VALIDATED: IdentityCache[list[GraphQLError]] = IdentityCache()


@lru_cache(maxsize=512)
def _parse(query: str, max_tokens: int) -> DocumentNode:
    return parse(query, max_tokens=max_tokens)


class DocumentCaches(SchemaExtension):
    """Parsing and validation, each done once per distinct document.

    Documents are parsed once per query text (with the token limit: a refusal is a syntax
    error) and validated once per parsed document, by its identity: graphql-core's AST
    nodes hash recursively, so strawberry's ``ValidationCache`` hashed the whole document on
    every request. One extension for both (strawberry's runner costs per extension and hook).
    """

    def __init__(self, *, max_tokens: int, rules: tuple[type[ASTValidationRule], ...]) -> None:
        self.max_tokens = max_tokens
        self.rules = rules

    def on_parse(self) -> Iterator[None]:
        ctx = self.execution_context
        if ctx.graphql_document is None and ctx.query is not None:
            ctx.graphql_document = _parse(ctx.query, self.max_tokens)
        yield

    def on_validate(self) -> Iterator[None]:
        ctx = self.execution_context
        document = ctx.graphql_document
        assert document is not None  # validation runs after a successful parse
        schema, rules = graphql_core_schema(ctx.schema), (*ctx.validation_rules, *self.rules)
        ctx.pre_execution_errors = _VALIDATED.get(
            document, (schema, rules), lambda: validate_document(schema, document, rules)
        )
        yield


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


def record_error_codes(errors: list[GraphQLError]) -> None:
    codes = tuple(str((e.extensions or {}).get("code", "GRAPHQL_ERROR")) for e in errors)
    for code in codes:
        metrics.GRAPHQL_ERRORS.labels(code).inc()
    stats = current_request.get()
    if stats is not None:
        stats.error_codes += codes


class ErrorPolicy(SchemaExtension):
    """Expected errors keep their message and get a code; anything else is logged and masked.

    No traceback, SQL or internal path reaches a client: the client gets the request id to
    quote, the log has the full traceback under that id.
    """

    def on_operation(self) -> Iterator[None]:
        try:
            yield
        except GraphQLError as error:  # parse errors (the parser cache raises them here)
            processed = self._process(error)
            record_error_codes([processed])
            raise processed from None
        result = self.execution_context.result
        errors = getattr(result, "errors", None)
        if result is not None and errors:
            result.errors = [self._process(error) for error in errors]
            record_error_codes(result.errors)

    def on_stream_result(self, result: Any) -> Iterator[None]:
        """The results of a subscription, each as it is sent: the same policy. (They leave
        before ``on_operation`` ends: a Redis outage's raw connection error reached the
        client unmasked and without a code.)"""
        ctx = self.execution_context
        errors = getattr(result, "errors", None)
        if errors and ctx.operation_type is OperationType.SUBSCRIPTION:
            result.errors = [self._process(error) for error in errors]
            record_error_codes(result.errors)
        yield

    def _process(self, error: GraphQLError) -> GraphQLError:
        original = error.original_error
        if original is None:
            # Syntax, validation and coercion errors stay as they are; the limits' refusals
            # (strawberry's rules carry no code) get one a client can act on.
            code = limit_error_code(error.message)
            if code is not None and not (error.extensions or {}).get("code"):
                return self._with(error, error.message, {"code": code})
            return error
        if isinstance(original, DomainError):
            code = _DOMAIN_CODES.get(original.code, original.code)
            return self._with(error, original.message, {"code": code})
        if isinstance(original, GraphQLError) and (original.extensions or {}).get("code"):
            return error  # raised by our own code with a deliberate message and code
        if isinstance(original, GraphQLError) and error.path is None:
            # Variables that do not coerce (missing, null for non-null, bad enum, Int over
            # 32 bits): the client's input, said plainly.
            return self._with(error, error.message, {"code": "BAD_USER_INPUT"})
        if timed_out(original) or unavailable(original):
            # A statement past PostgreSQL's statement_timeout, or PostgreSQL (or Redis) down
            # or restarting: not a bug, and worth retrying. The whole answer becomes a 503.
            log.warning("graphql.dependency_unavailable", path=error.path, error=str(original))
            response = getattr(self.execution_context.context, "response", None)
            if response is not None:
                response.status_code = 503
                response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
            if timed_out(original):
                message, code = "A database statement took too long.", "DEADLINE_EXCEEDED"
            else:
                message = "A service this API depends on is unavailable; try again shortly."
                code = "SERVICE_UNAVAILABLE"
            return self._with(error, message, {"code": code})
        request_id = getattr(self.execution_context.context, "request_id", None)
        log.error("graphql.unexpected_error", path=error.path, exc_info=original)
        return self._with(
            error,
            "Unexpected error.",
            {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id},
        )

    @staticmethod
    def _with(error: GraphQLError, message: str, extensions: dict[str, object]) -> GraphQLError:
        return GraphQLError(
            message,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            original_error=None,
            extensions=extensions,
        )


def _later(new: dict[str, str], current: Any) -> bool:
    """Does ``new`` describe a later point of the budget than the headers already set?"""
    if "X-RateLimit-Remaining" not in current:
        return True
    if current["X-RateLimit-Reset"] != new["X-RateLimit-Reset"]:
        return int(new["X-RateLimit-Reset"]) > int(current["X-RateLimit-Reset"])
    return int(new["X-RateLimit-Remaining"]) <= int(current["X-RateLimit-Remaining"])


class QueryBudget:
    """Refuse queries that could return too many nodes; charge the token's hourly budget."""

    def __init__(self, *, max_cost: int, rules: CostRules, limiter: RateLimiter | None) -> None:
        self.max_cost = max_cost
        self.rules = rules
        self.limiter = limiter

    async def after_operation(self, ctx: ExecutionContext) -> None:
        """A request refused before execution (syntax, validation, cost) still costs the base
        point and still gets the headers: refusals are not a free way to hammer."""
        if getattr(ctx.context, "rate_limit", None) is None:
            await self._charge(ctx, 0)

    async def _charge(self, ctx: ExecutionContext, nodes: int) -> bool:
        """Charge the viewer's token; False when the budget would be overdrawn."""
        context = ctx.context
        viewer = getattr(context, "viewer", None)
        if self.limiter is None or viewer is None or viewer.token_key is None:
            return True
        state = await self.limiter.charge(viewer.token_key, request_points(nodes))
        context.rate_limit = RateLimitInfo(state.limit, state.remaining, state.reset_at, state.cost)
        response = getattr(context, "response", None)
        if response is not None and _later(state.headers(), response.headers):
            # The operations of a batch charge concurrently and their answers from Redis
            # may come back in any order: the headers keep the latest standing.
            response.headers.update(state.headers())
            if not state.allowed:
                response.status_code = 429
                seconds = max(1, int(state.reset_at.timestamp() - time.time()))
                response.headers["Retry-After"] = str(seconds)
        if not state.allowed:
            ctx.result = ExecutionResult(
                data=None,
                errors=[
                    GraphQLError(
                        f"Rate limit of {state.limit} points per hour spent; it resets at "
                        f"{state.reset_at.isoformat()}.",
                        extensions={
                            "code": "RATE_LIMITED",
                            "cost": state.cost,
                            "remaining": state.remaining,
                            "resetAt": state.reset_at.isoformat(),
                        },
                    )
                ],
            )
        return state.allowed

    async def before_execution(self, ctx: ExecutionContext, found: OperationFacts) -> None:
        """Runs after validation and the authentication gate, before any resolver."""
        if found.operation is None:
            return
        nodes = estimate_nodes(
            graphql_core_schema(ctx.schema),
            found.operation,
            found.fragments,
            ctx.variables or {},
            self.rules,
        )
        context = ctx.context
        # Operations of one batch share the context: the budget holds for the whole request.
        spent = getattr(context, "nodes_estimated", None)
        if isinstance(spent, int):
            context.nodes_estimated = spent + nodes
            nodes = spent + nodes
        if nodes > self.max_cost:
            ctx.result = ExecutionResult(
                data=None,
                errors=[
                    GraphQLError(
                        f"This query could return up to {nodes:,} nodes; the limit is "
                        f"{self.max_cost:,}. Ask for smaller pages (first/last).",
                        extensions={
                            "code": "QUERY_TOO_COSTLY",
                            "cost": nodes,
                            "limit": self.max_cost,
                        },
                    )
                ],
            )
            return
        await self._charge(ctx, nodes)


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
