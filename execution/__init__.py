"""A compiled GraphQL executor for Strawberry schemas: graphql-core's answers without
graphql-core's per-field work. It imports nothing of the project (docs/architecture.md).

The interface, all the app needs:

- ``CompiledEngine(schema, observer=..., fallback=...)`` is an execute function with
  graphql-core's ``execute`` signature, handed to strawberry (``compat.SchemaWithExecuteHook``)
  so every schema extension runs around it. Per call it plans the document (the plan is
  compiled once per document and cached), runs the plan, and hands what plans cannot run
  (introspection, subscriptions, middleware, other directives) to ``fallback``, graphql-core's
  ``execute`` unless told otherwise.
- ``ExecutionObserver``: what the engine reports, once per operation (ran on plans, or fell
  back and why); the app counts it for /metrics.
- ``Check``/``RecordedRoots``: the tests' second opinion on every compiled answer
  (tests/differential.py compares graphql-core's); production engines have none.

``compat`` is the one module that touches Strawberry's and graphql-core's internals and checks
their versions at import. The rest is private: ``plan`` (what graphql-core works out per
field, once), ``run`` and the modules it delegates to (an execution with graphql-core's
semantics), ``codegen`` (the generated field loops). docs/performance.md has the figures and
the list of what falls back.
"""

from execution.engine import Check, CompiledEngine, ExecutionObserver
from execution.state import RecordedRoots

__all__ = ["Check", "CompiledEngine", "ExecutionObserver", "RecordedRoots"]
