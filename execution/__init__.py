"""A compiled execution path: graphql-core's answers without graphql-core's per-field work.

``plan`` compiles a validated operation into plans, ``run`` executes them with graphql-core's
semantics, ``engine`` is the execute function strawberry calls (with the fallback), and
``differential`` checks the two executors against each other. docs/performance.md has the
figures and the list of what falls back.
"""

from execution.engine import CompiledEngine, ExecutionEngine

__all__ = ["CompiledEngine", "ExecutionEngine"]
