"""What a field's selection asks for, read from the parsed document once per field.

Look-ahead resolvers (the prefetch, ``totalCount``) need the fields selected under them.
Strawberry's ``info.selected_fields`` converts the field's whole subtree into its own objects
on every call; here the subtree is flattened once per (operation, field nodes), fragments
included, into plain ``Selected`` trees that later requests reuse. Argument values stay as
AST nodes and are read with the request's variables when used.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    SelectionSetNode,
    Undefined,
    ValueNode,
    value_from_ast_untyped,
)
from strawberry.types import Info

from execution.compat import raw_info

V = TypeVar("V")

# Any field's info, whatever its context: a selection reads only the document and variables.
SelectionInfo = Info[Any, Any]


class IdentityCache(Generic[V]):
    """An LRU of values per (owner identity, key); entries keep their owner (a parsed
    document or one of its nodes) alive so its ``id()`` is never reused while cached.

    The parser cache hands back the same document for the same query text, so what is
    derived from a document is keyed by its identity (graphql-core's AST nodes hash
    recursively: hashing them on every request would cost what the cache saves)."""

    def __init__(self, maxsize: int = 512) -> None:
        self.maxsize = maxsize
        self._entries: OrderedDict[tuple[int, Hashable], tuple[object, V]] = OrderedDict()

    def get(self, owner: object, key: Hashable, build: Callable[[], V]) -> V:
        cache_key = (id(owner), key)
        entry = self._entries.get(cache_key)
        if entry is not None and entry[0] is owner:
            self._entries.move_to_end(cache_key)
            return entry[1]
        value = build()
        self._entries[cache_key] = (owner, value)
        if len(self._entries) > self.maxsize:
            self._entries.popitem(last=False)
        return value


@dataclass(frozen=True, eq=False)
class Selected:
    """A selected field: its name, its arguments (as written) and what is selected under it."""

    name: str
    arguments: Mapping[str, ValueNode]
    children: tuple[Selected, ...]

    def under(self, *names: str) -> tuple[Selected, ...]:
        """The fields under the path ``names`` (e.g. ``edges``, ``node``), every branch."""
        return under(self.children, *names)

    def argument(self, name: str, variables: dict[str, Any]) -> Any:
        """The argument's value; None when it is absent, as the field's resolver gets it (a
        variable the request left out is graphql-core's ``Undefined`` here)."""
        node = self.arguments.get(name)
        value = None if node is None else value_from_ast_untyped(node, variables)
        return None if value is Undefined else value


@dataclass(eq=False)
class Selection:
    """The fields selected under one field; ``memo`` keeps what callers derive from them."""

    fields: tuple[Selected, ...]
    memo: dict[str, Any] = field(default_factory=dict)


def under(fields: Iterable[Selected], *names: str) -> tuple[Selected, ...]:
    current = tuple(fields)
    for name in names:
        current = tuple(child for f in current if f.name == name for child in f.children)
    return current


_SELECTIONS: IdentityCache[Selection] = IdentityCache(maxsize=4096)


def selection(info: SelectionInfo) -> Selection:
    """The fields selected under the field being resolved (fragments flattened; directives
    are not evaluated: a look-ahead may load for a branch that ``@skip`` drops)."""
    raw = raw_info(info)  # graphql-core's info: its field nodes and fragments
    nodes = raw.field_nodes
    return _SELECTIONS.get(
        raw.operation,
        tuple(id(node) for node in nodes),
        lambda: Selection(_flatten((n.selection_set for n in nodes), raw.fragments, ())),
    )


def _flatten(
    sets: Iterable[SelectionSetNode | None],
    fragments: Mapping[str, FragmentDefinitionNode],
    seen: tuple[str, ...],
) -> tuple[Selected, ...]:
    fields: list[Selected] = []
    for selection_set in sets:
        for node in selection_set.selections if selection_set is not None else ():
            if isinstance(node, FieldNode):
                fields.append(
                    Selected(
                        node.name.value,
                        {a.name.value: a.value for a in node.arguments or ()},
                        _flatten((node.selection_set,), fragments, seen),
                    )
                )
            elif isinstance(node, InlineFragmentNode):
                fields.extend(_flatten((node.selection_set,), fragments, seen))
            elif isinstance(node, FragmentSpreadNode):
                name = node.name.value
                fragment = fragments.get(name)
                if fragment is not None and name not in seen:  # validation refuses cycles
                    fields.extend(_flatten((fragment.selection_set,), fragments, (*seen, name)))
    return tuple(fields)
