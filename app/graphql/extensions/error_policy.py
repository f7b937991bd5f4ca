"""``ErrorPolicy``: expected errors get a code, anything else is logged and masked."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import structlog
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from app import metrics
from app.observability.stats import current_request
from app.policy.errors import RETRY_AFTER_SECONDS, timed_out, unavailable
from schema.framework_compat import OperationType, limit_error_code
from services.errors import DomainError

log = structlog.get_logger("issuegraph.graphql")

# The refusals of strawberry's limit rules, recognised by their messages.
# How a domain error raised outside a mutation payload (a query argument) is coded.
_DOMAIN_CODES = {"INVALID": "BAD_USER_INPUT"}


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
