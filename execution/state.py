"""What one execution of a plan holds, and the steps every part of it takes.

``PlanRun`` (``run``) is assembled from this state and two mixins: ``calls`` (resolvers) and
``complete`` (values). Methods are found on the class as usual, so the split costs nothing
per field.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError, GraphQLObjectType, GraphQLResolveInfo
from graphql.pyutils import Path

from execution.codegen import field_runner
from execution.compat import Executor
from execution.plan import FieldPlan, ObjectPlan

# A mutation's root fields by response key: (succeeded, raw result or exception).
RecordedRoots = dict[str, tuple[bool, Any]]
# A field's info object, or None while nothing has needed it (``RunState.info`` builds it).
LazyInfo = GraphQLResolveInfo[Any] | None


class RunState:
    """The state of one execution: graphql-core's executor (errors, info) plus the plans."""

    __slots__ = ("compiled", "completed", "errors", "executor", "is_awaitable", "recorded_roots")

    def __init__(self, compiled: Any, executor: Executor[Any], record_roots: bool = False) -> None:
        self.compiled = compiled  # the engine's per-document state: lazily compiled sub-plans
        self.executor = executor
        self.is_awaitable = executor.is_awaitable
        # A check replays a mutation's root results on graphql-core (engine, ``Check``).
        self.recorded_roots: RecordedRoots | None = {} if record_roots else None
        # The fields of objects completed under a pure plan, by (plan, object) identity: one
        # object met again under the same selection (a page's 250 comments name 50 authors)
        # is not completed again. Kept for this execution only, with the object (so its id is
        # not reused meanwhile), and only for a completion that raised no error.
        self.completed: dict[tuple[ObjectPlan, int], tuple[Any, dict[str, Any]]] = {}
        # The execution's field errors so far (graphql-core's list, appended to in place).
        self.errors: list[GraphQLError] = executor.collected_errors.errors

    def execute_fields(self, plan: ObjectPlan, source: Any, path: Path | None) -> Any:
        """graphql-core's ``execute_fields``, as code generated for the plan (``codegen``)."""
        runner = plan.runner
        if runner is None:
            runner = plan.runner = field_runner(plan, self.compiled.leaf_classes)
        if not plan.pure:
            return runner(self, source, path)
        key = (plan, id(source))
        seen = self.completed.get(key)
        if seen is not None and seen[0] is source:
            return seen[1]
        errors = len(self.errors)
        result = runner(self, source, path)
        if result.__class__ is dict and len(self.errors) == errors:
            self.completed[key] = (source, result)
        return result

    def subplan(self, plan: FieldPlan, object_type: GraphQLObjectType) -> ObjectPlan:
        subplan = plan.subplans.get(object_type.name)
        if subplan is None:
            subplan = plan.subplans[object_type.name] = self.compiled.compile_subfields(
                self.executor, object_type, plan.details
            )
        return subplan

    def info(self, plan: FieldPlan, info: LazyInfo, path: Path | None) -> Any:
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
