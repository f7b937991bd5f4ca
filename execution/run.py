"""One execution of a plan, with graphql-core's semantics.

Each method mirrors the graphql-core ``Executor`` method of the same name (graphql-core 3.3,
``graphql/execution/executor.py``): the same order of work, the same null propagation, the
same error messages, paths and locations. The differences are only in what is looked up:
plans replace the per-field lookups, plain attribute fields skip the info object and the
path until something fails, and strawberry resolvers without extensions are called without
their two wrapper layers. Whatever a plan does not cover (async iterables as lists, awaitable
``is_type_of``/``resolve_type``, custom predicates) is handed to the graphql-core executor
built for this very request, which shares the error list, so the result is one response.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, cast

from graphql import (
    ExecutionResult,
    GraphQLError,
    GraphQLObjectType,
    GraphQLResolveInfo,
    Undefined,
    get_argument_values,
)
from graphql.pyutils import Path, gather_with_cancel, inspect, is_iterable

from execution.codegen import PLAIN as _PLAIN
from execution.codegen import field_runner
from execution.compat import (
    TYPE_CAST_ATTRIBUTE,
    Executor,
    collect_iterator_awaitables,
    convert_arguments,
    invalid_return_type_error,
)
from execution.plan import FieldKind, FieldPlan, ObjectPlan, TypeKind, TypePlan, unwrapped


class PlanRun:
    """The state of one execution: graphql-core's executor (errors, info) plus the plans."""

    __slots__ = ("compiled", "executor", "is_awaitable", "recorded_roots")

    def __init__(self, compiled: Any, executor: Executor[Any], record_roots: bool = False) -> None:
        self.compiled = compiled  # the engine's per-document state: lazily compiled sub-plans
        self.executor = executor
        self.is_awaitable = executor.is_awaitable
        # Differential checks replay a mutation's root results on graphql-core (engine).
        self.recorded_roots: dict[str, tuple[bool, Any]] | None = {} if record_roots else None

    # -- operation -------------------------------------------------------------------------

    def execute_operation(self, root: ObjectPlan, serially: bool) -> Any:
        executor = self.executor
        try:
            if serially:
                result: Any = self.execute_fields_serially(root, executor.root_value)
            else:
                result = self.execute_fields(root, executor.root_value, None)
            if self.is_awaitable(result):

                async def await_result() -> ExecutionResult:
                    try:
                        data = await result
                    except GraphQLError as error:
                        executor.collected_errors.add(error, None)
                        return cast(ExecutionResult, executor.build_response(None))
                    return cast(ExecutionResult, executor.build_response(data))

                return await_result()
        except GraphQLError as error:
            executor.collected_errors.add(error, None)
            return executor.finish(executor.build_response(None))
        return executor.finish(executor.build_response(result))

    async def execute_fields_serially(self, plan: ObjectPlan, source: Any) -> dict[str, Any]:
        results: dict[str, Any] = {}
        for field_plan in plan.fields:
            result = self.execute_field(field_plan, source, None)
            if self.is_awaitable(result):
                result = await result
            results[field_plan.key] = result
        return results

    # -- fields ----------------------------------------------------------------------------

    def execute_fields(self, plan: ObjectPlan, source: Any, path: Path | None) -> Any:
        """graphql-core's ``execute_fields``, as code generated for the plan (``codegen``)."""
        runner = plan.runner
        if runner is None:
            runner = plan.runner = field_runner(plan, self.compiled.leaf_classes)
        return runner(self, source, path)

    def gather_fields(self, results: dict[str, Any], awaitable_keys: list[str]) -> Any:
        async def get_results() -> dict[str, Any]:
            if len(awaitable_keys) == 1:
                key = awaitable_keys[0]
                results[key] = await results[key]
            else:
                awaited = await gather_with_cancel(*(results[key] for key in awaitable_keys))
                results.update(zip(awaitable_keys, awaited, strict=True))
            return results

        return get_results()

    def execute_field(self, plan: FieldPlan, source: Any, parent_path: Path | None) -> Any:
        kind = plan.kind
        if kind is FieldKind.TYPENAME:
            return plan.parent_type.name
        if kind is FieldKind.ATTRIBUTE or kind is FieldKind.DEFAULT:
            try:
                if kind is FieldKind.ATTRIBUTE:
                    result = getattr(source, plan.attribute)
                else:
                    assert plan.default_resolver is not None
                    result = plan.default_resolver(source, plan.attribute)
            except Exception as raw_error:
                return self.field_failed(plan, parent_path, None, raw_error)
            return self.complete_field(plan, parent_path, None, None, result)
        path = Path(parent_path, plan.key, plan.parent_type.name)
        info = self.executor.build_resolve_info(plan.field_def, plan.nodes, plan.parent_type, path)
        try:
            if self.recorded_roots is not None and parent_path is None:
                result = self.record_root(plan, source, info)
            else:
                result = self.call(plan, source, info)
        except Exception as raw_error:
            return self.field_failed(plan, parent_path, path, raw_error)
        return self.complete_field(plan, parent_path, path, info, result)

    def complete_field(
        self,
        plan: FieldPlan,
        parent_path: Path | None,
        path: Path | None,
        info: GraphQLResolveInfo[Any] | None,
        result: Any,
    ) -> Any:
        """The rest of graphql-core's ``execute_field`` once the resolver has answered."""
        try:
            cls = result.__class__
            if plan.str_passes and cls is str:
                return result  # the commonest field of all: a String or ID that is a str
            leaf = plan.leaf
            if leaf is not None and cls in self.compiled.leaf_classes:
                return self.complete_leaf_value(leaf, result)
            object_plan = plan.object
            if (
                object_plan is not None
                and cls in object_plan.fast_classes
                and (not object_plan.checks_cast or TYPE_CAST_ATTRIBUTE not in result.__dict__)
            ):
                # An object of the field's own type: what complete_value would come to.
                if path is None:
                    path = Path(parent_path, plan.key, plan.parent_type.name)
                completed = self.execute_fields(
                    self.subplan(plan, cast(GraphQLObjectType, object_plan.type)), result, path
                )
                if completed.__class__ is not dict:
                    return self.await_completed(plan, path, completed)
                return completed
            if cls not in _PLAIN and self.is_awaitable(result):
                if path is None:
                    path = Path(parent_path, plan.key, plan.parent_type.name)
                return self.complete_awaitable_value(plan, info, path, result)
            if plan.needs_path and path is None:
                path = Path(parent_path, plan.key, plan.parent_type.name)
            completed = self.complete_value(plan.type_plan, plan, info, path, result)
            if completed.__class__ not in _PLAIN and self.is_awaitable(completed):
                assert path is not None
                return self.await_completed(plan, path, completed)
        except Exception as raw_error:
            return self.field_failed(plan, parent_path, path, raw_error)
        return completed

    def field_failed(
        self, plan: FieldPlan, parent_path: Path | None, path: Path | None, raw_error: Exception
    ) -> None:
        """graphql-core's ``handle_field_error``: null here, or raised on to a nullable parent."""
        if path is None:
            path = Path(parent_path, plan.key, plan.parent_type.name)
        self.executor.handle_field_error(raw_error, plan.field_def.type, plan.details, path)

    def call(self, plan: FieldPlan, source: Any, info: GraphQLResolveInfo[Any]) -> Any:
        arguments = self.arguments(plan)
        if plan.kind is FieldKind.DIRECT:
            return self.call_direct(plan, source, info, arguments)
        resolve = plan.resolve or self.executor.field_resolver
        return resolve(source, info, **arguments)

    def arguments(self, plan: FieldPlan) -> dict[str, Any]:
        if not plan.takes_arguments:
            return {}
        if plan.static_arguments is not None:
            return plan.static_arguments
        executor = self.executor
        details = plan.details[0]
        return get_argument_values(
            plan.field_def,
            details.node,
            executor.variable_values,
            details.fragment_variable_values,
            executor.hide_suggestions,
        )

    def call_direct(
        self,
        plan: FieldPlan,
        source: Any,
        info: GraphQLResolveInfo[Any],
        arguments: dict[str, Any] | None,
    ) -> Any:
        """strawberry's resolver wrapper without extensions, exception handlers: the same call.

        Mirrors ``get_arguments`` + ``field.get_result`` (strawberry/schema/schema_converter.py).
        """
        field = plan.strawberry_field
        assert field is not None
        assert field.base_resolver is not None
        compiled = self.compiled
        strawberry_info = compiled.info_class(_raw_info=info, _field=field)
        if plan.static_kwargs is not None:
            kwargs = dict(plan.static_kwargs)
        elif plan.converts_arguments:
            values = arguments if arguments is not None else self.arguments(plan)
            if plan.is_async:
                # strawberry converts an async resolver's arguments inside its coroutine: a
                # conversion error surfaces when the field is awaited, after its siblings ran.
                return self.convert_then_call(plan, source, strawberry_info, values)
            kwargs = self.convert(plan, strawberry_info, values)
        else:
            kwargs = {}
        return self.invoke(plan, source, strawberry_info, kwargs)

    def convert(self, plan: FieldPlan, info: Any, values: dict[str, Any]) -> dict[str, Any]:
        assert plan.strawberry_field is not None
        compiled = self.compiled
        return convert_arguments(
            values,
            plan.strawberry_field.arguments,
            scalar_registry=compiled.scalar_registry,
            config=compiled.config,
            info=info,
        )

    async def convert_then_call(
        self, plan: FieldPlan, source: Any, info: Any, values: dict[str, Any]
    ) -> Any:
        return await self.invoke(plan, source, info, self.convert(plan, info, values))

    @staticmethod
    def invoke(plan: FieldPlan, source: Any, info: Any, kwargs: dict[str, Any]) -> Any:
        if plan.parent_parameter is not None:
            kwargs[plan.parent_parameter] = source
        if plan.root_parameter is not None:
            kwargs[plan.root_parameter] = source
        if plan.info_parameter is not None:
            kwargs[plan.info_parameter] = info
        # StrawberryResolver.__call__ is `wrapped_func(*args, **kwargs)` once it is callable.
        field = plan.strawberry_field
        assert field is not None
        call = plan.call if plan.call is not None else field.base_resolver
        assert call is not None
        if plan.passes_self:
            return call(source, **kwargs)
        return call(**kwargs)

    def record_root(self, plan: FieldPlan, source: Any, info: GraphQLResolveInfo[Any]) -> Any:
        """Call a mutation root field and keep its raw result (differential mode replays it)."""
        recorded = self.recorded_roots
        assert recorded is not None
        key = plan.key
        try:
            result = self.call(plan, source, info)
        except Exception as error:
            recorded[key] = (False, error)
            raise
        if not self.is_awaitable(result):
            recorded[key] = (True, result)
            return result

        async def settle() -> Any:
            try:
                value = await result
            except Exception as error:
                recorded[key] = (False, error)
                raise
            recorded[key] = (True, value)
            return value

        return settle()

    async def complete_awaitable_value(
        self,
        plan: FieldPlan,
        info: GraphQLResolveInfo[Any] | None,
        path: Path,
        result: Awaitable[Any],
    ) -> Any:
        try:
            resolved = await result
            completed = self.complete_value(plan.type_plan, plan, info, path, resolved)
            if self.is_awaitable(completed):
                completed = await completed
        except Exception as raw_error:
            self.executor.handle_field_error(raw_error, plan.field_def.type, plan.details, path)
            completed = None
        return completed

    async def await_completed(self, plan: FieldPlan, path: Path, completed: Any) -> Any:
        try:
            return await completed
        except Exception as raw_error:
            self.executor.handle_field_error(raw_error, plan.field_def.type, plan.details, path)
            return None

    # -- values ----------------------------------------------------------------------------

    def info(self, plan: FieldPlan, info: GraphQLResolveInfo[Any] | None, path: Path | None) -> Any:
        """The field's info object, built only when a type predicate or graphql-core needs it."""
        if info is not None:
            return info
        assert path is not None
        field_path = path
        while isinstance(field_path.key, int):  # the info of a list item is its field's
            assert field_path.prev is not None
            field_path = field_path.prev
        return self.executor.build_resolve_info(
            plan.field_def, plan.nodes, plan.parent_type, field_path
        )

    def complete_value(
        self,
        type_plan: TypePlan,
        plan: FieldPlan,
        info: GraphQLResolveInfo[Any] | None,
        path: Path | None,
        result: Any,
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
        self,
        type_plan: TypePlan,
        plan: FieldPlan,
        info: GraphQLResolveInfo[Any] | None,
        path: Path,
        result: Any,
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
                item_path = path.add_key(index, None)
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
                        append(self.await_item(item_plan, plan, item_path, completed))
                        awaitable_indices.append(index)
                    continue
                if item.__class__ not in _PLAIN and is_awaitable(item):
                    append(
                        self.complete_awaitable_list_item_value(
                            item_plan, plan, info, item_path, item
                        )
                    )
                    awaitable_indices.append(index)
                    continue
                try:
                    completed = self.complete_value(item_plan, plan, info, item_path, item)
                    if completed.__class__ not in _PLAIN and is_awaitable(completed):
                        append(self.await_item(item_plan, plan, item_path, completed))
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

    async def await_item(
        self, item_plan: TypePlan, plan: FieldPlan, item_path: Path, completed: Any
    ) -> Any:
        try:
            return await completed
        except Exception as raw_error:
            self.executor.handle_field_error(raw_error, item_plan.type, plan.details, item_path)
            return None

    async def complete_awaitable_list_item_value(
        self,
        item_plan: TypePlan,
        plan: FieldPlan,
        info: GraphQLResolveInfo[Any] | None,
        item_path: Path,
        item: Any,
    ) -> Any:
        try:
            resolved = await item
            completed = self.complete_value(item_plan, plan, info, item_path, resolved)
            if self.is_awaitable(completed):
                completed = await completed
        except Exception as raw_error:
            self.executor.handle_field_error(raw_error, item_plan.type, plan.details, item_path)
            return None
        return completed

    def complete_object_value(
        self,
        type_plan: TypePlan,
        plan: FieldPlan,
        info: GraphQLResolveInfo[Any] | None,
        path: Path,
        result: Any,
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
        self,
        type_plan: TypePlan,
        plan: FieldPlan,
        info: GraphQLResolveInfo[Any] | None,
        path: Path,
        result: Any,
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

    def subplan(self, plan: FieldPlan, object_type: GraphQLObjectType) -> ObjectPlan:
        subplan = plan.subplans.get(object_type.name)
        if subplan is None:
            subplan = plan.subplans[object_type.name] = self.compiled.compile_subfields(
                self.executor, object_type, plan.details
            )
        return subplan
