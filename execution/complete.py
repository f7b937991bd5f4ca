"""Completing a resolver's value with graphql-core's semantics: leaves, objects, abstract
types and lists, and the awaitables among them (graphql-core's ``complete_*`` methods)."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, cast

from graphql import GraphQLError, GraphQLObjectType, GraphQLResolveInfo, Undefined
from graphql.pyutils import Path, gather_with_cancel, inspect, is_iterable

from execution.codegen import PLAIN as _PLAIN
from execution.compat import (
    PATH_NEW,
    TYPE_CAST_ATTRIBUTE,
    collect_iterator_awaitables,
    invalid_return_type_error,
)
from execution.plan import FieldPlan, ObjectPlan, TypeKind, TypePlan, unwrapped
from execution.state import LazyInfo, RunState


class ValueCompletion(RunState):
    __slots__ = ()

    async def complete_awaitable(
        self,
        type_plan: TypePlan,
        plan: FieldPlan,
        info: LazyInfo,
        path: Path,
        awaitable: Awaitable[Any],
    ) -> Any:
        """A field's or a list item's awaitable value, completed; null where it fails."""
        try:
            resolved = await awaitable
            completed = self.complete_value(type_plan, plan, info, path, resolved)
            if self.is_awaitable(completed):
                completed = await completed
        except Exception as raw_error:
            self.executor.handle_field_error(raw_error, type_plan.type, plan.details, path)
            return None
        return completed

    async def await_completed(
        self, type_plan: TypePlan, plan: FieldPlan, path: Path, completed: Any
    ) -> Any:
        """A completion that turned out awaitable (a field's or a list item's), awaited."""
        try:
            return await completed
        except Exception as raw_error:
            self.executor.handle_field_error(raw_error, type_plan.type, plan.details, path)
            return None

    def complete_value(
        self, type_plan: TypePlan, plan: FieldPlan, info: LazyInfo, path: Path | None, result: Any
    ) -> Any:
        if isinstance(result, Exception):
            raise result
        kind = type_plan.kind
        if kind is TypeKind.NON_NULL:
            assert type_plan.inner is not None
            completed = self.complete_value(type_plan.inner, plan, info, path, result)
            if completed is None:
                raise TypeError(plan.null_message)
            return completed
        if result is None or result is Undefined:
            return None
        if kind is TypeKind.LEAF:
            if type_plan.str_passes and result.__class__ is str:
                return result
            return self.complete_leaf_value(type_plan, result)
        assert path is not None
        if kind is TypeKind.OBJECT:
            return self.complete_object_value(type_plan, plan, info, path, result)
        if kind is TypeKind.LIST:
            return self.complete_list_value(type_plan, plan, info, path, result)
        return self.complete_abstract_value(type_plan, plan, info, path, result)

    @staticmethod
    def complete_leaf_value(type_plan: TypePlan, result: Any) -> Any:
        assert type_plan.coerce is not None
        coerced = type_plan.coerce(result)
        if coerced is Undefined or coerced is None:
            raise TypeError(
                f"Expected `{inspect(type_plan.type)}.coerce_output_value("
                f"{inspect(result)})` to return non-nullable value, returned:"
                f" {inspect(coerced)}"
            )
        return coerced

    def complete_list_value(
        self, type_plan: TypePlan, plan: FieldPlan, info: LazyInfo, path: Path, result: Any
    ) -> Any:
        executor = self.executor
        if executor.is_async_iterable(result):
            # Streams of items: graphql-core's own completion (not a shape of our schema).
            return executor.complete_list_value(
                cast(Any, type_plan.type),
                plan.details,
                self.info(plan, info, path),
                path,
                result,
                None,
            )
        if not is_iterable(result):
            raise GraphQLError(
                "Expected Iterable, but did not find one for field"
                f" '{plan.parent_type}.{plan.nodes[0].name.value}'."
            )
        item_plan = type_plan.inner
        assert item_plan is not None
        is_awaitable = self.is_awaitable
        completed_results: list[Any] = []
        append = completed_results.append
        awaitable_indices: list[int] = []
        item_type = item_plan.type
        # Items that are objects of the item type's own classes: straight to their fields.
        object_plan = unwrapped(item_plan)
        fast_classes = object_plan.fast_classes if object_plan.kind is TypeKind.OBJECT else None
        subplan: ObjectPlan | None = None
        iterator = iter(result)
        try:
            for index, item in enumerate(iterator):
                item_path = PATH_NEW(Path, (path, index, None))  # path.add_key(index, None)
                if (
                    fast_classes
                    and item.__class__ in fast_classes
                    and (not object_plan.checks_cast or TYPE_CAST_ATTRIBUTE not in item.__dict__)
                ):
                    try:
                        if subplan is None:
                            subplan = self.subplan(plan, cast(GraphQLObjectType, object_plan.type))
                        completed = self.execute_fields(subplan, item, item_path)
                    except Exception as raw_error:
                        executor.handle_field_error(raw_error, item_type, plan.details, item_path)
                        append(None)
                        continue
                    if completed.__class__ is dict:
                        append(completed)
                    else:
                        append(self.await_completed(item_plan, plan, item_path, completed))
                        awaitable_indices.append(index)
                    continue
                if item.__class__ not in _PLAIN and is_awaitable(item):
                    append(self.complete_awaitable(item_plan, plan, info, item_path, item))
                    awaitable_indices.append(index)
                    continue
                try:
                    completed = self.complete_value(item_plan, plan, info, item_path, item)
                    if completed.__class__ not in _PLAIN and is_awaitable(completed):
                        append(self.await_completed(item_plan, plan, item_path, completed))
                        awaitable_indices.append(index)
                    else:
                        append(completed)
                except Exception as raw_error:
                    executor.handle_field_error(raw_error, item_type, plan.details, item_path)
                    append(None)
        except Exception:
            # As graphql-core: a failure that escapes the list leaves no item unsettled.
            pending = [completed_results[index] for index in awaitable_indices]
            pending += collect_iterator_awaitables(iterator, is_awaitable)
            if pending:
                executor.settle_in_background(pending)
            raise
        if not awaitable_indices:
            return completed_results

        async def get_completed_results() -> list[Any]:
            if len(awaitable_indices) == 1:
                index = awaitable_indices[0]
                completed_results[index] = await completed_results[index]
            else:
                awaited = await gather_with_cancel(
                    *(completed_results[index] for index in awaitable_indices)
                )
                for index, value in zip(awaitable_indices, awaited, strict=True):
                    completed_results[index] = value
            return completed_results

        return get_completed_results()

    def complete_object_value(
        self, type_plan: TypePlan, plan: FieldPlan, info: LazyInfo, path: Path, result: Any
    ) -> Any:
        object_type = cast(GraphQLObjectType, type_plan.type)
        is_type_of = object_type.is_type_of
        if result.__class__ in type_plan.fast_classes and (
            not type_plan.checks_cast or TYPE_CAST_ATTRIBUTE not in result.__dict__
        ):
            pass  # what the type's predicate (if any) answers for such a value: True
        elif is_type_of is not None:
            # Strawberry's own predicate ignores the info: it is not built for it.
            predicate_info = (
                self.info(plan, info, path) if type_plan.is_type_of_needs_info else None
            )
            matches = is_type_of(result, cast(Any, predicate_info))
            if self.is_awaitable(matches):
                # An async predicate: graphql-core's own completion of this object.
                return self.executor.complete_object_value(
                    object_type, plan.details, self.info(plan, info, path), path, result, None
                )
            if not matches:
                raise invalid_return_type_error(object_type, result, plan.details)
        return self.execute_fields(self.subplan(plan, object_type), result, path)

    def complete_abstract_value(
        self, type_plan: TypePlan, plan: FieldPlan, info: LazyInfo, path: Path, result: Any
    ) -> Any:
        executor = self.executor
        abstract_type = cast(Any, type_plan.type)
        field_info = self.info(plan, info, path)
        resolve_type = abstract_type.resolve_type or executor.type_resolver
        runtime_type_name = resolve_type(result, field_info, abstract_type)
        if self.is_awaitable(runtime_type_name):
            # graphql-core awaits it; it is given the name it awaited, through the same path.
            async def await_runtime_type() -> Any:
                name = await runtime_type_name
                return await self._await_if(
                    self._complete_runtime_object(name, type_plan, plan, field_info, path, result)
                )

            return await_runtime_type()
        return self._complete_runtime_object(
            runtime_type_name, type_plan, plan, field_info, path, result
        )

    def _complete_runtime_object(
        self,
        runtime_type_name: Any,
        type_plan: TypePlan,
        plan: FieldPlan,
        info: GraphQLResolveInfo[Any],
        path: Path,
        result: Any,
    ) -> Any:
        runtime_type = self.executor.ensure_valid_runtime_type(
            runtime_type_name, cast(Any, type_plan.type), plan.details, info, result
        )
        object_plan = self.compiled.compiler.type_plan(runtime_type)
        return self.complete_object_value(object_plan, plan, info, path, result)

    async def _await_if(self, value: Any) -> Any:
        if self.is_awaitable(value):
            return await value
        return value
