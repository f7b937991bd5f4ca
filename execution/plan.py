"""Plans: what graphql-core's executor works out for every field on every execution, once.

graphql-core looks up the field definition, picks the resolver, builds an info object, checks
the return type's wrapping and finds the serializer for each of the ~1,100 fields of a W1 page,
on every request. A plan records those answers per (parent type, collected field) the first
time they are needed (``compiler``) and is reused by every later execution of the same document.

Field collection (fragments, type conditions, ``@skip``/``@include``) is graphql-core's own
``collect_fields``/``collect_subfields``: plans group fields exactly as the executor would.
The variables those directives read are part of the plan's cache key (``engine``).
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import TYPE_CHECKING, Any

from graphql import FieldNode, GraphQLField, GraphQLObjectType, GraphQLOutputType

from execution.compat import FieldDetails

if TYPE_CHECKING:
    from execution.compat import StrawberryField

FieldDetailsList = list[FieldDetails]


class FieldKind(IntEnum):
    ATTRIBUTE = 0  # a plain strawberry field: getattr on the source, no info, no arguments
    DEFAULT = 1  # a plain field under a custom default resolver
    DIRECT = 2  # a strawberry resolver without field extensions, called without the wrappers
    RESOLVE = 3  # anything else: the GraphQL field's own resolve function, as graphql-core
    TYPENAME = 4  # __typename: the parent type's name


class TypeKind(IntEnum):
    NON_NULL = 0
    LIST = 1
    LEAF = 2
    OBJECT = 3
    ABSTRACT = 4


@dataclass(eq=False, slots=True)
class TypePlan:
    """How a value of one (wrapped) output type is completed."""

    kind: TypeKind
    type: GraphQLOutputType
    inner: TypePlan | None = None
    # Leaves: the type's output coercion, and whether a ``str`` is already its own output
    # (String and ID return a str unchanged; graphql-core's coercion is skipped for them).
    coerce: Callable[[Any], Any] | None = None
    str_passes: bool = False
    # Objects: strawberry's generated ``is_type_of`` ignores its info argument.
    is_type_of_needs_info: bool = True
    # Objects: values of these classes complete straight to their fields (never awaitable,
    # never an Exception, and ``is_type_of`` would pass them): every strawberry class when
    # the type has no predicate; its own class when strawberry's predicate would say True
    # for an instance that was not ``strawberry.cast`` (``checks_cast``).
    fast_classes: frozenset[builtins.type] = frozenset()
    checks_cast: bool = False


@dataclass(eq=False, slots=True)
class FieldPlan:
    """One response key of a selection set on one concrete parent type."""

    key: str
    details: FieldDetailsList
    nodes: list[FieldNode]
    parent_type: GraphQLObjectType
    field_def: GraphQLField
    type_plan: TypePlan
    kind: FieldKind
    null_message: str
    attribute: str = ""
    default_resolver: Callable[[Any, str], Any] | None = None
    resolve: Callable[..., Any] | None = None
    strawberry_field: StrawberryField | None = None
    # DIRECT calls: what strawberry's ``get_arguments`` would add besides the arguments.
    passes_self: bool = False
    parent_parameter: str | None = None
    root_parameter: str | None = None
    info_parameter: str | None = None
    converts_arguments: bool = False
    is_async: bool = False  # an `async def` resolver
    # DIRECT with builtin-scalar arguments and no variables: the converted keyword arguments.
    static_kwargs: dict[str, Any] | None = None
    # Arguments without variables are coerced once (None: coerce per execution).
    takes_arguments: bool = False
    static_arguments: dict[str, Any] | None = None
    # The value is complete as it is when it is a str (String and ID, nullable or not).
    str_passes: bool = False
    # The leaf type under a non-null wrapper, for values of the plain leaf classes.
    leaf: TypePlan | None = None
    # The object type under a non-null wrapper, when its instances can be recognised by class.
    object: TypePlan | None = None
    # DIRECT: the resolver's function (StrawberryResolver.__call__ calls it when callable).
    call: Callable[..., Any] | None = None
    # Completion needs a response path (lists and objects) even when nothing fails.
    needs_path: bool = False
    # Sub-plans per concrete runtime type, compiled when the first value arrives.
    subplans: dict[str, ObjectPlan] = field(default_factory=dict)


@dataclass(eq=False, slots=True)
class ObjectPlan:
    type: GraphQLObjectType
    fields: list[FieldPlan]
    # The generated function that executes these fields (codegen), made on first use.
    runner: Callable[..., Any] | None = None
    is_root: bool = False
    # Every field a plain attribute of a leaf type (or ``__typename``): the fields of one
    # object come out the same however often it is completed (``RunState.execute_fields``).
    pure: bool = False


def unwrapped(plan: TypePlan) -> TypePlan:
    """The type without its non-null wrapper."""
    if plan.kind is TypeKind.NON_NULL:
        assert plan.inner is not None
        return plan.inner
    return plan
