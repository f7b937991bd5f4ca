"""The plan compiler: type and field plans built from the schema and strawberry's definitions.

What graphql-core's executor would look up per field and per execution (the resolver, its
arguments, the return type's wrapping and serializer), worked out once per schema for type
plans and once per document for field plans (``plan`` has the shapes).
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from functools import cached_property
from typing import TYPE_CHECKING, Any

from graphql import (
    FieldNode,
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
    is_abstract_type,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
    is_object_type,
)

from execution.compat import (
    DEFINITION_BACKREF,
    TYPE_CAST_ATTRIBUTE,
    StrawberryOptional,
    convert_arguments,
    is_generated_is_type_of,
)
from execution.plan import (
    FieldDetailsList,
    FieldKind,
    FieldPlan,
    ObjectPlan,
    TypeKind,
    TypePlan,
    unwrapped,
)

if TYPE_CHECKING:
    from execution.compat import GraphQLCoreConverter

# Strawberry links every GraphQL definition back to its own.
_BACKREF = DEFINITION_BACKREF


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
        pure = all(
            f.kind is FieldKind.TYPENAME
            or (f.kind is FieldKind.ATTRIBUTE and unwrapped(f.type_plan).kind is TypeKind.LEAF)
            for f in fields
        )
        return ObjectPlan(parent_type, fields, pure=pure)

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


def _needs_path(plan: TypePlan) -> bool:
    return unwrapped(plan).kind is not TypeKind.LEAF


def _builtin_scalar(type_: Any) -> bool:
    if isinstance(type_, StrawberryOptional):
        type_ = type_.of_type
    return type_ in (int, str, bool, float)


def _name(parameter: Any) -> str | None:
    return None if parameter is None else str(parameter.name)
