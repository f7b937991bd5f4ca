"""Calling a field's resolver as graphql-core would, or strawberry's resolver without its
wrappers when the field has no extensions (``FieldKind.DIRECT``)."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLResolveInfo, get_argument_values

from execution.compat import convert_arguments
from execution.plan import FieldKind, FieldPlan
from execution.state import RunState


class ResolverCalls(RunState):
    __slots__ = ()

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
        """Call a mutation root field and keep its raw result (a ``Check`` replays it)."""
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
