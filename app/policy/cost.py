"""Query cost: how many nodes a query can return, estimated before it runs.

Counted the way GitHub's GraphQL API counts its node limit: every connection contributes
its page size (``first``/``last``, else the default page size) multiplied by the page sizes
of the connections above it; lists of objects (``Issue.labels``, ``Query.nodes``) count by
their caps. Fragments and inline fragments are expanded (every branch counts, an upper
bound); variables are read from the request. graphql-core has no such rule, hence ours.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    ValueNode,
    VariableNode,
    VariableValues,
    get_named_type,
    get_variable_values,
)

from schema.entities import list_caps as entity_list_caps

CompositeType = GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType


@dataclass(frozen=True)
class CostRules:
    default_page_size: int = 20
    # Larger pages are refused by the resolvers with a clearer message; count them as this.
    max_page_size: int = 100
    # Caps of plain lists of objects, by "Type.field"; any other list counts as this.
    list_caps: Mapping[str, int] = field(default_factory=entity_list_caps)
    default_list_cap: int = 100


def _is_list(type_: Any) -> bool:
    if isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    return isinstance(type_, GraphQLList)


def _is_connection(field_def: GraphQLField) -> bool:
    named = get_named_type(field_def.type)
    return named.name.endswith("Connection") and "first" in field_def.args


@dataclass(eq=False)
class _Estimator:
    schema: GraphQLSchema
    fragments: Mapping[str, FragmentDefinitionNode]
    variables: Mapping[str, Any]
    rules: CostRules
    # A fragment's cost is linear in the multiplier it is spread under, so each one is
    # costed once per (type, connection context) at multiplier 1 and scaled: a chain of
    # fragments spreading each other twice stays linear, not exponential.
    _unit_costs: dict[tuple[str, str, bool], int] = field(
        default_factory=dict, init=False, repr=False
    )

    def _argument(self, node: FieldNode, name: str) -> tuple[ValueNode | None, Any]:
        """The argument ``name`` as written (None when absent; validation has made names
        unique), and the value of the variable it names, if it is one."""
        value = next((a.value for a in node.arguments or () if a.name.value == name), None)
        if isinstance(value, VariableNode):
            return value, self.variables.get(value.name.value)
        return value, None

    def _int_arg(self, node: FieldNode, name: str) -> int | None:
        value, raw = self._argument(node, name)
        if isinstance(value, IntValueNode):
            return max(0, int(value.value))
        if isinstance(value, VariableNode):
            return max(0, raw) if isinstance(raw, int) else None
        return None

    def _list_arg_length(self, node: FieldNode, name: str) -> int | None:
        value, raw = self._argument(node, name)
        if isinstance(value, ListValueNode):
            return len(value.values)
        if isinstance(value, VariableNode):
            return len(raw) if isinstance(raw, list) else 1
        return None

    def _page_size(self, node: FieldNode) -> int:
        first = self._int_arg(node, "first")
        last = self._int_arg(node, "last")
        if first is None and last is None:
            return self.rules.default_page_size
        return min(max(first or 0, last or 0), self.rules.max_page_size)

    def _list_size(self, parent: CompositeType, node: FieldNode) -> int:
        ids = self._list_arg_length(node, "ids")
        if ids is not None:
            return ids
        key = f"{parent.name}.{node.name.value}"
        return self.rules.list_caps.get(key, self.rules.default_list_cap)

    def selection_set(
        self,
        selection_set: SelectionSetNode,
        parent: CompositeType,
        multiplier: int,
        in_connection: bool,
        path: tuple[str, ...],
    ) -> int:
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += self.field(selection, parent, multiplier, in_connection, path)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                target = (
                    self.schema.get_type(condition.name.value) if condition is not None else parent
                )
                if isinstance(target, CompositeType):
                    total += self.selection_set(
                        selection.selection_set, target, multiplier, in_connection, path
                    )
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is None or name in path:  # unknown or cyclic: validation says so
                    continue
                target = self.schema.get_type(fragment.type_condition.name.value)
                if isinstance(target, CompositeType):
                    key = (name, target.name, in_connection)
                    if key not in self._unit_costs:
                        self._unit_costs[key] = self.selection_set(
                            fragment.selection_set, target, 1, in_connection, (*path, name)
                        )
                    total += multiplier * self._unit_costs[key]
        return total

    def field(
        self,
        node: FieldNode,
        parent: CompositeType,
        multiplier: int,
        in_connection: bool,
        path: tuple[str, ...],
    ) -> int:
        name = node.name.value
        if name.startswith("__") or isinstance(parent, GraphQLUnionType):
            return 0
        field_def = parent.fields.get(name)
        if field_def is None or node.selection_set is None:
            return 0
        child = get_named_type(field_def.type)
        if not isinstance(child, CompositeType):
            return 0
        count = 0
        child_multiplier = multiplier
        child_in_connection = False
        if _is_connection(field_def):
            size = self._page_size(node)
            count = multiplier * size
            child_multiplier = multiplier * size
            child_in_connection = True
        elif _is_list(field_def.type) and not in_connection:
            # A connection's own `edges` list is its page, already counted above.
            size = self._list_size(parent, node)
            count = multiplier * size
            child_multiplier = multiplier * size
        return count + self.selection_set(
            node.selection_set, child, child_multiplier, child_in_connection, path
        )


def estimate_nodes(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any] | None = None,
    rules: CostRules | None = None,
) -> int:
    """The most nodes ``operation`` can return."""
    root = {
        OperationType.QUERY: schema.query_type,
        OperationType.MUTATION: schema.mutation_type,
        OperationType.SUBSCRIPTION: schema.subscription_type,
    }[operation.operation]
    if root is None:
        return 0
    # Coerced as execution will coerce them: defaults applied, 100.0 read as 100.
    coerced = get_variable_values(
        schema, operation.variable_definitions or (), dict(variables or {})
    )
    values = coerced.coerced if isinstance(coerced, VariableValues) else dict(variables or {})
    estimator = _Estimator(schema, fragments, values, rules or CostRules())
    return estimator.selection_set(operation.selection_set, root, 1, False, ())
