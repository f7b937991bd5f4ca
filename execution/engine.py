"""The execute function strawberry calls: compiled plans first, the fallback for the rest.

It has graphql-core's ``execute`` signature and is what the app's schema hands to strawberry,
so every schema extension (parse/validation caches, authentication, budget, error policy,
metrics) runs around it exactly as around graphql-core. What it reports goes to an
``ExecutionObserver`` (once per operation, never per field); a ``Check`` set by the tests
(tests/differential.py) gets every compiled answer for a second opinion.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    GraphQLField,
    GraphQLObjectType,
    GraphQLSchema,
    ListValueNode,
    ObjectValueNode,
    OperationType,
    VariableNode,
    execute,
    get_argument_values,
)

from execution.compat import (
    Executor,
    collect_fields,
    collect_subfields,
    field_exception_handlers,
    graphql_core_schema,
    schema_converter,
)
from execution.compiler import PlanCompiler
from execution.documents import skip_include_variables, unsupported_reason
from execution.plan import FieldDetailsList, ObjectPlan
from execution.run import PlanRun
from execution.state import RecordedRoots

if TYPE_CHECKING:
    import strawberry

_SCALAR_ARGUMENT_TYPES = (str, int, float, bool, type(None))
MAX_VARIANTS = 16  # plans kept per document for different @skip/@include variable values


class ExecutionObserver(Protocol):
    """What the engine reports, once per operation (the app counts it for /metrics)."""

    def planned(self) -> None:
        """An operation ran on plans."""

    def fell_back(self, reason: str) -> None:
        """The fallback ran an operation instead, for ``reason`` (e.g. ``"introspection"``)."""


class Check(Protocol):
    """A second opinion on every operation (tests/differential.py: graphql-core's answer)."""

    def fell_back(self, reason: str) -> None:
        """The fallback ran an operation: there was no compiled answer to check."""

    def compare(
        self,
        result: Any,
        recorded_roots: RecordedRoots | None,
        schema: GraphQLSchema,
        document: DocumentNode,
        arguments: dict[str, Any],
    ) -> Awaitable[ExecutionResult]:
        """The answer to return for the compiled ``result`` (maybe awaitable) of ``document``;
        ``recorded_roots`` holds a mutation's root results, so they need not run twice."""


class _Unobserved:
    def planned(self) -> None:
        return

    def fell_back(self, reason: str) -> None:
        return


@dataclass(eq=False, slots=True)
class CompiledOperation:
    """One (document, operation, @skip/@include variable values): its root plan and sub-plans."""

    compiler: PlanCompiler
    scalar_registry: Any
    config: Any
    info_class: Any
    leaf_classes: frozenset[type]
    root: ObjectPlan | None = None

    def root_plan(self, executor: Executor[Any]) -> ObjectPlan:
        if self.root is None:
            root_type = executor.schema.get_root_type(executor.operation.operation)
            assert root_type is not None  # validation refuses operations the schema lacks
            grouped = collect_fields(
                executor.schema,
                executor.fragments,
                executor.variable_values,
                root_type,
                executor.operation,
                executor.hide_suggestions,
            ).grouped_field_set
            self.root = self._object_plan(executor, root_type, grouped)
            self.root.is_root = True
        return self.root

    def compile_subfields(
        self, executor: Executor[Any], object_type: GraphQLObjectType, details: FieldDetailsList
    ) -> ObjectPlan:
        grouped = collect_subfields(
            executor.schema,
            executor.fragments,
            executor.variable_values,
            executor.operation,
            object_type,
            details,
            executor.hide_suggestions,
        ).grouped_field_set
        return self._object_plan(executor, object_type, grouped)

    def _object_plan(
        self, executor: Executor[Any], object_type: GraphQLObjectType, grouped: Any
    ) -> ObjectPlan:
        def static_arguments(field_def: GraphQLField, node: FieldNode) -> dict[str, Any] | None:
            if any(_has_variable(argument.value) for argument in node.arguments or ()):
                return None
            try:
                values = get_argument_values(field_def, node, executor.variable_values)
            except Exception:
                return None
            # Shared by every execution: only immutable values are kept.
            if all(isinstance(v, _SCALAR_ARGUMENT_TYPES) for v in values.values()):
                return values
            return None

        return self.compiler.object_plan(
            object_type, grouped, executor.schema.get_field, static_arguments
        )


@dataclass(eq=False, slots=True)
class _DocumentEntry:
    document: DocumentNode  # kept alive so its id() is not reused while cached
    reason: str | None
    switches: tuple[str, ...]  # the variables @skip/@include read
    # Per combination of those variables' values, most recently used last (MAX_VARIANTS).
    variants: OrderedDict[tuple[Any, ...], CompiledOperation] = field(default_factory=OrderedDict)


class CompiledEngine:
    """Plans cached per document like the parser and validation caches (LRU, by identity).

    The parser cache returns the same ``DocumentNode`` for the same query text, so identity
    is the key; entries hold the document so an id is never reused while cached.
    """

    # Set by the tests only, on the class for a whole run or on one engine; read per operation.
    check: Check | None = None

    def __init__(
        self,
        schema: strawberry.Schema,
        *,
        observer: ExecutionObserver | None = None,
        fallback: Callable[..., Any] = execute,
        maxsize: int = 512,
    ) -> None:
        """``fallback`` runs what plans cannot (graphql-core's ``execute`` and signature)."""
        self.observer: ExecutionObserver = observer or _Unobserved()
        self.fallback = fallback
        self.maxsize = maxsize
        converter = schema_converter(schema)
        handlers = field_exception_handlers(converter)
        self.compiler = PlanCompiler(graphql_core_schema(schema), converter, handlers)
        self.scalar_registry = converter.scalar_registry
        self.config = schema.config
        self.leaf_classes = self.compiler.leaf_classes
        self._documents: OrderedDict[tuple[int, str | None], _DocumentEntry] = OrderedDict()

    def __call__(
        self,
        schema: Any,
        document: DocumentNode,
        root_value: Any = None,
        context_value: Any = None,
        variable_values: dict[str, Any] | None = None,
        operation_name: str | None = None,
        middleware: Any = None,
        is_awaitable: Any = None,
        executor_class: type[Executor[Any]] | None = None,
        **kwargs: Any,
    ) -> Any:
        arguments = dict(
            root_value=root_value,
            context_value=context_value,
            variable_values=variable_values,
            operation_name=operation_name,
            middleware=middleware,
            is_awaitable=is_awaitable,
            **({"executor_class": executor_class} if executor_class else {}),
            **kwargs,
        )
        check = self.check
        compiled = self.run_compiled(schema, document, arguments, record_roots=check is not None)
        if compiled is None:
            return self.fallback(schema, document, **arguments)
        result, recorded_roots = compiled
        if check is not None:
            return check.compare(result, recorded_roots, schema, document, arguments)
        return result

    def run_compiled(
        self,
        schema: Any,
        document: DocumentNode,
        arguments: dict[str, Any],
        *,
        record_roots: bool = False,
    ) -> tuple[Any, RecordedRoots | None] | None:
        """The plan's result (maybe awaitable) and, when asked, the raw results of a mutation's
        root fields (for a check's replay); None when the fallback must run the operation."""
        operation_name = arguments["operation_name"]
        entry = self._entry(document, operation_name)
        if entry.reason is not None:
            self._fallback(entry.reason)
            return None
        build_arguments = dict(arguments)
        executor_class = build_arguments.pop("executor_class", Executor)
        raw_variables = build_arguments.pop("variable_values")
        executor = executor_class.build(
            schema, document, raw_variable_values=raw_variables, **build_arguments
        )
        if isinstance(executor, list):  # variables that do not coerce: graphql-core's answer
            self.observer.planned()
            return ExecutionResult(None, errors=executor), None
        manager = executor.middleware_manager
        if manager is not None and manager.middlewares:
            self._fallback("middleware")
            return None
        if executor.abort_signal is not None or executor.hooks is not None:
            self._fallback("abort signal or hooks")
            return None
        coerced = executor.variable_values.coerced
        variant_key = tuple(coerced.get(name) for name in entry.switches)
        operation = entry.variants.get(variant_key)
        if operation is None:
            operation = entry.variants[variant_key] = CompiledOperation(
                self.compiler,
                self.scalar_registry,
                self.config,
                self.config.info_class,
                self.leaf_classes,
            )
            # n Boolean switches make 2^n plans: a client must not grow the cache without end.
            if len(entry.variants) > MAX_VARIANTS:
                entry.variants.popitem(last=False)
        else:
            entry.variants.move_to_end(variant_key)
        serially = executor.operation.operation is OperationType.MUTATION
        run = PlanRun(operation, executor, record_roots=record_roots and serially)
        self.observer.planned()
        result = run.execute_operation(operation.root_plan(executor), serially)
        return result, run.recorded_roots

    def _fallback(self, reason: str) -> None:
        """Report an operation the fallback runs instead (the caller returns None)."""
        self.observer.fell_back(reason)
        if self.check is not None:
            self.check.fell_back(reason)

    def _entry(self, document: DocumentNode, operation_name: str | None) -> _DocumentEntry:
        key = (id(document), operation_name)
        entry = self._documents.get(key)
        if entry is not None and entry.document is document:
            self._documents.move_to_end(key)
            return entry
        entry = _DocumentEntry(
            document,
            unsupported_reason(document, operation_name),
            skip_include_variables(document),
        )
        self._documents[key] = entry
        if len(self._documents) > self.maxsize:
            self._documents.popitem(last=False)
        return entry


def _has_variable(value: Any) -> bool:
    if isinstance(value, VariableNode):
        return True
    if isinstance(value, ListValueNode):
        return any(_has_variable(v) for v in value.values)
    if isinstance(value, ObjectValueNode):
        return any(_has_variable(f.value) for f in value.fields)
    return False
