"""Schema extensions: the authentication gate and the error policy."""

from __future__ import annotations

from collections.abc import Iterator

import structlog
from graphql import (
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)
from strawberry.extensions import SchemaExtension

from services.errors import DomainError

log = structlog.get_logger("issuegraph.graphql")

META_FIELDS = frozenset({"__schema", "__type", "__typename"})

# How a domain error raised outside a mutation payload (a query argument) is coded.
_DOMAIN_CODES = {"INVALID": "BAD_USER_INPUT"}


def selects_only_meta_fields(
    selection_set: SelectionSetNode, fragments: dict[str, FragmentDefinitionNode]
) -> bool:
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            if selection.name.value not in META_FIELDS:
                return False
        elif isinstance(selection, InlineFragmentNode):
            if not selects_only_meta_fields(selection.selection_set, fragments):
                return False
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            if fragment is None or not selects_only_meta_fields(fragment.selection_set, fragments):
                return False
    return True


class AuthenticationGate(SchemaExtension):
    """401 for an operation without a valid token, after parsing and validation (DESIGN: Errors).

    An operation that selects only meta fields (introspection, ``__typename``) needs no token.
    """

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context.context
        document = self.execution_context.graphql_document
        if getattr(context, "viewer", None) is None and document is not None:
            operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
            name = self.execution_context.operation_name
            operation = next(
                (o for o in operations if name is None or (o.name and o.name.value == name)),
                None,
            )
            fragments = {
                d.name.value: d
                for d in document.definitions
                if isinstance(d, FragmentDefinitionNode)
            }
            if operation is not None and not selects_only_meta_fields(
                operation.selection_set, fragments
            ):
                response = getattr(context, "response", None)
                if response is not None:
                    response.status_code = 401
                    response.headers["WWW-Authenticate"] = 'Bearer realm="issuegraph"'
                self.execution_context.result = ExecutionResult(
                    data=None,
                    errors=[
                        GraphQLError(
                            "Authentication required: send `Authorization: Bearer <token>`.",
                            extensions={"code": "UNAUTHENTICATED"},
                        )
                    ],
                )
        yield


class ErrorPolicy(SchemaExtension):
    """Expected errors keep their message and get a code; anything else is logged and masked.

    No traceback, SQL or internal path reaches a client: the client gets the request id to
    quote, the log has the full traceback under that id.
    """

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        errors = getattr(result, "errors", None)
        if result is not None and errors:
            result.errors = [self._process(error) for error in errors]

    def _process(self, error: GraphQLError) -> GraphQLError:
        original = error.original_error
        if original is None:
            return error  # syntax, validation and argument coercion errors: readable as they are
        if isinstance(original, DomainError):
            code = _DOMAIN_CODES.get(original.code, original.code)
            return self._with(error, original.message, {"code": code})
        if isinstance(original, GraphQLError) and (original.extensions or {}).get("code"):
            return error  # raised by our own code with a deliberate message and code
        request_id = getattr(self.execution_context.context, "request_id", None)
        log.error(
            "graphql.unexpected_error",
            path=error.path,
            operation=self.execution_context.operation_name,
            exc_info=original,
        )
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
