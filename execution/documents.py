"""Which operations plans can run, and which variables pick a document's plan.

Both are answered once per document, before execution starts (``engine``), so an execution
never has to change executors half way.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    OperationDefinitionNode,
    OperationType,
    VariableNode,
)
from graphql.language import Visitor, visit

_EXECUTABLE_DIRECTIVES = frozenset({"skip", "include"})
_INTROSPECTION_ROOTS = frozenset({"__schema", "__type"})


def unsupported_reason(document: DocumentNode, operation_name: str | None) -> str | None:
    """Why this operation must run on graphql-core's executor, or None when plans can run it.

    Checked for the whole document before execution starts, so an execution never has to
    change executors half way.
    """
    operation = _operation(document, operation_name)
    if operation is None:
        return "no such operation"  # graphql-core reports it
    if operation.operation is OperationType.SUBSCRIPTION:
        return "subscription"
    scan = _DocumentScan()
    visit(document, scan)
    return scan.reason


def skip_include_variables(document: DocumentNode) -> tuple[str, ...]:
    """The variables ``@skip``/``@include`` read: their values select the fields collected."""
    names: list[str] = []

    class Collect(Visitor):
        def enter_directive(self, node: Any, *_: Any) -> None:
            for argument in node.arguments or ():
                if isinstance(argument.value, VariableNode):
                    name = argument.value.name.value
                    if name not in names:
                        names.append(name)

    visit(document, Collect())
    return tuple(names)


class _DocumentScan(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.reason: str | None = None

    def enter_field(self, node: FieldNode, *_: Any) -> None:
        if node.name.value in _INTROSPECTION_ROOTS:
            self.reason = self.reason or "introspection"

    def enter_directive(self, node: Any, *_: Any) -> None:
        if node.name.value not in _EXECUTABLE_DIRECTIVES:
            self.reason = self.reason or f"directive @{node.name.value}"

    def enter_fragment_definition(self, node: FragmentDefinitionNode, *_: Any) -> None:
        if node.variable_definitions:
            self.reason = self.reason or "fragment variables"


def _operation(
    document: DocumentNode, operation_name: str | None
) -> OperationDefinitionNode | None:
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode) and (
            operation_name is None
            or (definition.name is not None and definition.name.value == operation_name)
        ):
            return definition
    return None
