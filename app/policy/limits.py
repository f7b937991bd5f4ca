"""Depth and alias limits as one validation rule, linear in the size of the document.

strawberry's QueryDepthLimiter and MaxAliasesLimiter walk a fragment again at every spread,
so a chain of fragments that each spread the previous one twice costs 2^n work before any
limit is reached: a denial of service in a few hundred bytes. Here each fragment is measured
once and its result reused; the counting rules (and messages) are the same as strawberry's.
"""

from __future__ import annotations

from collections.abc import Mapping

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
)


class _Measure:
    """Depth and alias count of selection sets, with every fragment measured only once."""

    def __init__(self, fragments: Mapping[str, FragmentDefinitionNode]) -> None:
        self.fragments = fragments
        self._memo: dict[str, tuple[int, int]] = {}
        self._active: set[str] = set()

    def fragment(self, name: str) -> tuple[int, int]:
        if name in self._memo:
            return self._memo[name]
        fragment = self.fragments.get(name)
        if fragment is None or name in self._active:  # unknown or cyclic: validation says so
            return 0, 0
        self._active.add(name)
        try:
            measured = self.selection_set(fragment.selection_set)
        finally:
            self._active.discard(name)
        self._memo[name] = measured
        return measured

    def selection_set(self, selection_set: SelectionSetNode | None) -> tuple[int, int]:
        """(depth, aliases): depth counts nested fields with selections, as strawberry does."""
        if selection_set is None:
            return 0, 0
        depth = aliases = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                if selection.alias is not None:
                    aliases += 1
                child_depth, child_aliases = self.selection_set(selection.selection_set)
                aliases += child_aliases
                if selection.selection_set is not None and not selection.name.value.startswith(
                    "__"
                ):
                    depth = max(depth, 1 + child_depth)
            elif isinstance(selection, InlineFragmentNode):
                child_depth, child_aliases = self.selection_set(selection.selection_set)
                depth, aliases = max(depth, child_depth), aliases + child_aliases
            elif isinstance(selection, FragmentSpreadNode):
                child_depth, child_aliases = self.fragment(selection.name.value)
                depth, aliases = max(depth, child_depth), aliases + child_aliases
        return depth, aliases


def limit_rule(max_depth: int, max_aliases: int) -> type[ValidationRule]:
    class DepthAndAliasLimit(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            document = context.document
            fragments = {
                d.name.value: d
                for d in document.definitions
                if isinstance(d, FragmentDefinitionNode)
            }
            measure = _Measure(fragments)
            total_aliases = 0
            for definition in document.definitions:
                if not isinstance(definition, OperationDefinitionNode):
                    continue
                depth, aliases = measure.selection_set(definition.selection_set)
                total_aliases += aliases
                if depth > max_depth:
                    name = definition.name.value if definition.name else "anonymous"
                    context.report_error(
                        GraphQLError(
                            f"'{name}' exceeds maximum operation depth of {max_depth}",
                            definition,
                            extensions={"code": "QUERY_TOO_DEEP"},
                        )
                    )
            if total_aliases > max_aliases:
                context.report_error(
                    GraphQLError(
                        f"{total_aliases} aliases found. Allowed: {max_aliases}",
                        extensions={"code": "TOO_MANY_ALIASES"},
                    )
                )

    return DepthAndAliasLimit
