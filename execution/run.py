"""One execution of a plan, with graphql-core's semantics.

Each method mirrors the graphql-core ``Executor`` method of the same name (graphql-core 3.3,
``graphql/execution/executor.py``): the same order of work, the same null propagation, the
same error messages, paths and locations. The differences are only in what is looked up:
plans replace the per-field lookups, plain attribute fields skip the info object and the
path until something fails, and strawberry resolvers without extensions are called without
their two wrapper layers. Whatever a plan does not cover (async iterables as lists, awaitable
``is_type_of``/``resolve_type``, custom predicates) is handed to the graphql-core executor
built for this very request, which shares the error list, so the result is one response.

The work is split by job: ``state`` (what an execution holds), ``calls`` (resolvers),
``complete`` (values) and this module (the operation and its fields).
"""

from __future__ import annotations

from typing import Any, cast

from graphql import ExecutionResult, GraphQLError, GraphQLObjectType
from graphql.pyutils import Path, gather_with_cancel

from execution.calls import ResolverCalls
from execution.codegen import PLAIN as _PLAIN
from execution.compat import TYPE_CAST_ATTRIBUTE, new_path
from execution.complete import ValueCompletion
from execution.plan import FieldKind, FieldPlan, ObjectPlan
from execution.state import LazyInfo


class PlanRun(ResolverCalls, ValueCompletion):
    """One execution: its operation, the fields of each object, each field's resolver and
    completion (graphql-core's ``execute_operation`` ... ``execute_field``)."""

    __slots__ = ()

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
        path = new_path(parent_path, plan.key, plan.parent_type.name)
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
        info: LazyInfo,
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
                    path = new_path(parent_path, plan.key, plan.parent_type.name)
                completed = self.execute_fields(
                    self.subplan(plan, cast(GraphQLObjectType, object_plan.type)), result, path
                )
                if completed.__class__ is not dict:
                    return self.await_completed(plan.type_plan, plan, path, completed)
                return completed
            if cls not in _PLAIN and self.is_awaitable(result):
                if path is None:
                    path = new_path(parent_path, plan.key, plan.parent_type.name)
                return self.complete_awaitable(plan.type_plan, plan, info, path, result)
            if plan.needs_path and path is None:
                path = new_path(parent_path, plan.key, plan.parent_type.name)
            completed = self.complete_value(plan.type_plan, plan, info, path, result)
            if completed.__class__ not in _PLAIN and self.is_awaitable(completed):
                assert path is not None
                return self.await_completed(plan.type_plan, plan, path, completed)
        except Exception as raw_error:
            return self.field_failed(plan, parent_path, path, raw_error)
        return completed

    def field_failed(
        self, plan: FieldPlan, parent_path: Path | None, path: Path | None, raw_error: Exception
    ) -> None:
        """graphql-core's ``handle_field_error``: null here, or raised on to a nullable parent."""
        if path is None:
            path = new_path(parent_path, plan.key, plan.parent_type.name)
        self.executor.handle_field_error(raw_error, plan.field_def.type, plan.details, path)
