"""Plans: what graphql-core's executor works out for every field on every execution, once.

graphql-core looks up the field definition, picks the resolver, builds an info object, checks
the return type's wrapping and finds the serializer for each of the ~1,100 fields of a W1 page,
on every request. A plan records those answers per (parent type, collected field) the first
time they are needed and is reused by every later execution of the same document.

Field collection (fragments, type conditions, ``@skip``/``@include``) is graphql-core's own
``collect_fields``/``collect_subfields``: plans group fields exactly as the executor would.
The variables those directives read are part of the plan's cache key (``engine``).
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import IntEnum
from functools import cached_property
from typing import TYPE_CHECKING, Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLAbstractType,
    GraphQLEnumType,
    GraphQLField,
    GraphQLID,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    GraphQLString,
    OperationDefinitionNode,
    OperationType,
    VariableNode,
    is_abstract_type,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
    is_object_type,
)
from graphql.language import Visitor, visit

from execution.compat import (
    DEFINITION_BACKREF,
    TYPE_CAST_ATTRIBUTE,
    FieldDetails,
    StrawberryOptional,
    convert_arguments,
    is_generated_is_type_of,
)

if TYPE_CHECKING:
    from execution.compat import GraphQLCoreConverter, StrawberryField

FieldDetailsList = list[FieldDetails]

# Strawberry links every GraphQL definition back to its own.
_BACKREF = DEFINITION_BACKREF
_EXECUTABLE_DIRECTIVES = frozenset({"skip", "include"})
_INTROSPECTION_ROOTS = frozenset({"__schema", "__type"})


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


class PlanCompiler:
    """Builds type and field plans for one schema; type plans are shared by all documents."""

    def __init__(
        self,
        schema: GraphQLSchema,
        converter: GraphQLCoreConverter,
        exception_handlers: Callable[..., Any],
    ):
        self.schema = schema
        self.converter = converter
        self.field_exception_handlers = exception_handlers
        self._type_plans: dict[GraphQLOutputType, TypePlan] = {}

    def object_plan(
        self,
        parent_type: GraphQLObjectType,
        grouped: dict[str, FieldDetailsList],
        get_field: Callable[[GraphQLObjectType, str], GraphQLField | None],
        static_arguments: Callable[[GraphQLField, FieldNode], dict[str, Any] | None],
    ) -> ObjectPlan:
        fields: list[FieldPlan] = []
        for key, details in grouped.items():
            node = details[0].node
            field_def = get_field(parent_type, node.name.value)
            if field_def is None:
                continue  # graphql-core leaves such a key out of the response too
            fields.append(self.field_plan(key, details, parent_type, field_def, static_arguments))
        return ObjectPlan(parent_type, fields)

    def field_plan(
        self,
        key: str,
        details: FieldDetailsList,
        parent_type: GraphQLObjectType,
        field_def: GraphQLField,
        static_arguments: Callable[[GraphQLField, FieldNode], dict[str, Any] | None],
    ) -> FieldPlan:
        node = details[0].node
        name = node.name.value
        type_plan = self.type_plan(field_def.type)
        plan = FieldPlan(
            key=key,
            details=details,
            nodes=[d.node for d in details],
            parent_type=parent_type,
            field_def=field_def,
            type_plan=type_plan,
            kind=FieldKind.RESOLVE,
            null_message=f"Cannot return null for non-nullable field {parent_type}.{name}.",
            takes_arguments=bool(field_def.args or node.arguments),
            needs_path=_needs_path(type_plan),
            str_passes=unwrapped(type_plan).str_passes,
        )
        inner = unwrapped(type_plan)
        if inner.kind is TypeKind.LEAF:
            plan.leaf = inner
        elif inner.kind is TypeKind.OBJECT and inner.fast_classes:
            plan.object = inner
        if plan.takes_arguments:
            plan.static_arguments = static_arguments(field_def, node)
        if name == "__typename":
            plan.kind = FieldKind.TYPENAME
            return plan
        plan.resolve = field_def.resolve
        strawberry_field = (field_def.extensions or {}).get(_BACKREF)
        if strawberry_field is None or field_def.resolve is None:
            return plan  # graphql-core's default resolver, or a field strawberry did not make
        plan.strawberry_field = strawberry_field
        if getattr(field_def.resolve, "_is_default", False):
            # strawberry's `_get_basic_result`: field.get_result -> default_resolver(source, name)
            if strawberry_field.default_resolver is builtins.getattr:
                plan.kind = FieldKind.ATTRIBUTE
            else:
                plan.kind = FieldKind.DEFAULT
                plan.default_resolver = strawberry_field.default_resolver
            plan.attribute = strawberry_field.python_name
            return plan
        resolver = strawberry_field.base_resolver
        if (
            resolver is None
            or strawberry_field.extensions
            or self.field_exception_handlers(strawberry_field)
        ):
            return plan  # permissions, field extensions, exception handlers: strawberry's way
        # What strawberry's `get_arguments` adds to the converted arguments (schema_converter).
        plan.kind = FieldKind.DIRECT
        plan.passes_self = resolver.self_parameter is not None
        plan.parent_parameter = _name(resolver.parent_parameter)
        plan.root_parameter = _name(resolver.root_parameter)
        plan.info_parameter = _name(resolver.info_parameter)
        plan.converts_arguments = bool(strawberry_field.arguments)
        plan.is_async = strawberry_field.is_async
        if callable(resolver.wrapped_func):
            plan.call = resolver.wrapped_func
        if plan.static_arguments is not None and all(
            _builtin_scalar(argument.type) for argument in strawberry_field.arguments
        ):
            # Immutable scalars convert to themselves: convert once, share the result.
            plan.static_kwargs = convert_arguments(
                plan.static_arguments,
                strawberry_field.arguments,
                scalar_registry=self.converter.scalar_registry,
                config=self.converter.config,
            )
        return plan

    def type_plan(self, type_: GraphQLOutputType) -> TypePlan:
        plan = self._type_plans.get(type_)
        if plan is None:
            plan = self._type_plans[type_] = self._build_type_plan(type_)
        return plan

    def _build_type_plan(self, type_: GraphQLOutputType) -> TypePlan:
        if is_non_null_type(type_):
            assert isinstance(type_, GraphQLNonNull)
            return TypePlan(TypeKind.NON_NULL, type_, inner=self.type_plan(type_.of_type))
        if is_list_type(type_):
            assert isinstance(type_, GraphQLList)
            return TypePlan(TypeKind.LIST, type_, inner=self.type_plan(type_.of_type))
        if is_leaf_type(type_):
            assert isinstance(type_, GraphQLLeafType)
            return TypePlan(
                TypeKind.LEAF,
                type_,
                coerce=type_.coerce_output_value,
                str_passes=type_ is GraphQLString or type_ is GraphQLID,
            )
        if is_abstract_type(type_):
            assert isinstance(type_, GraphQLAbstractType)
            return TypePlan(TypeKind.ABSTRACT, type_)
        assert is_object_type(type_)
        assert isinstance(type_, GraphQLObjectType)
        is_type_of = type_.is_type_of
        # Strawberry's generated predicate (schema_converter) never reads its info.
        generated = is_type_of is not None and is_generated_is_type_of(is_type_of)
        plan = TypePlan(TypeKind.OBJECT, type_, is_type_of_needs_info=not generated)
        if is_type_of is None:
            plan.fast_classes = self.object_classes
        elif generated:
            definition = (type_.extensions or {}).get(_BACKREF)
            origin = getattr(definition, "origin", None)
            if origin in self.object_classes and origin.__dictoffset__ != 0:
                plan.fast_classes, plan.checks_cast = frozenset({origin}), True
        return plan

    @cached_property
    def object_classes(self) -> frozenset[builtins.type]:
        """The classes of the schema's strawberry object types (generic ones included) whose
        instances cannot be awaitable or an Exception."""
        classes: set[builtins.type] = set()
        for type_ in self.schema.type_map.values():
            definition = (type_.extensions or {}).get(_BACKREF)
            if not isinstance(type_, GraphQLObjectType) or definition is None:
                continue
            for cls in (definition.origin, getattr(definition.concrete_of, "origin", None)):
                if (
                    isinstance(cls, builtins.type)
                    and not hasattr(cls, "__await__")
                    and not issubclass(cls, BaseException)
                    and not hasattr(cls, TYPE_CAST_ATTRIBUTE)
                ):
                    classes.add(cls)
        return frozenset(classes)

    @cached_property
    def leaf_classes(self) -> frozenset[builtins.type]:
        """Classes of values that are never awaitable, never None and never an Exception:
        builtin scalars and the schema's enums, completed straight by their type's coercion."""
        enums = {
            definition.wrapped_cls
            for type_ in self.schema.type_map.values()
            if isinstance(type_, GraphQLEnumType)
            and (definition := (type_.extensions or {}).get(_BACKREF)) is not None
            and isinstance(getattr(definition, "wrapped_cls", None), type)
        }
        return frozenset({str, int, float, bool, datetime, date, Decimal, *enums})


def unwrapped(plan: TypePlan) -> TypePlan:
    """The type without its non-null wrapper."""
    if plan.kind is TypeKind.NON_NULL:
        assert plan.inner is not None
        return plan.inner
    return plan


def _needs_path(plan: TypePlan) -> bool:
    return unwrapped(plan).kind is not TypeKind.LEAF


def _builtin_scalar(type_: Any) -> bool:
    if isinstance(type_, StrawberryOptional):
        type_ = type_.of_type
    return type_ in (int, str, bool, float)


def _name(parameter: Any) -> str | None:
    return None if parameter is None else str(parameter.name)
