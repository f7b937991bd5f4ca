"""What the extensions need to know of a parsed document, worked out once per document.

The parser cache hands back the same ``DocumentNode`` for the same query text, so facts keyed
by the document's identity are computed on its first request only: which operation a name
selects and its fragments, whether it selects only meta fields, whether its string literals
hold text PostgreSQL cannot store. Walking the document for these on every request was a
tenth of a one-issue read. (graphql-core's AST nodes hash recursively, which is why the key is
the identity and not the node.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    StringValueNode,
    Visitor,
    visit,
)

from schema.selection import IdentityCache

META_FIELDS = frozenset({"__schema", "__type", "__typename"})


@dataclass(frozen=True)
class OperationFacts:
    operation: OperationDefinitionNode | None
    fragments: dict[str, FragmentDefinitionNode]
    # The operation's name, or "anonymous query" and the like (logs and metrics).
    label: str | None
    only_meta_fields: bool
    # A string literal holds a NUL or an unpaired surrogate.
    bad_literals: bool

    @property
    def is_subscription(self) -> bool:
        return self.operation is not None and self.operation.operation is OperationType.SUBSCRIPTION


_FACTS: IdentityCache[OperationFacts] = IdentityCache()


def facts(document: DocumentNode, operation_name: str | None) -> OperationFacts:
    return _FACTS.get(document, operation_name, lambda: _facts(document, operation_name))


def _facts(document: DocumentNode, operation_name: str | None) -> OperationFacts:
    operation, fragments = operation_of(document, operation_name)
    if operation_name is not None:
        label: str | None = operation_name
    elif operation is None:
        label = None
    elif operation.name is not None:
        label = operation.name.value
    else:
        label = f"anonymous {operation.operation.value}"
    literals = _StringLiterals()
    visit(document, literals)
    return OperationFacts(
        operation=operation,
        fragments=fragments,
        label=label,
        only_meta_fields=operation is not None
        and selects_only_meta_fields(operation.selection_set, fragments),
        bad_literals=literals.bad,
    )


def operation_of(
    document: DocumentNode, operation_name: str | None
) -> tuple[OperationDefinitionNode | None, dict[str, FragmentDefinitionNode]]:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    operation = next(
        (
            o
            for o in operations
            if operation_name is None or (o.name is not None and o.name.value == operation_name)
        ),
        None,
    )
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    return operation, fragments


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


def bad_text(value: Any) -> bool:
    """A NUL or an unpaired surrogate: valid JSON, but PostgreSQL refuses to store either."""
    if isinstance(value, str):
        if "\x00" in value:
            return True
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(bad_text(k) or bad_text(v) for k, v in value.items())
    if isinstance(value, list):
        return any(bad_text(v) for v in value)
    return False


class _StringLiterals(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.bad = False

    def enter_string_value(self, node: StringValueNode, *_: Any) -> None:
        self.bad = self.bad or bad_text(node.value)
