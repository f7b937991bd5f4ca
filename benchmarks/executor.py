"""W1 execution in-process, compiled plans against graphql-core, on the same objects (issue #7).

    python -m benchmarks.executor [--runs 300]

Seeds (or reuses) the bench database like `make bench`, runs the W1 operation once to load
its page into the request's dataloaders, then times executions that read only memory: the
dataloader caches answer every nested field, and the one root lookup (`Query.project`, a
SQL query per execution otherwise) is memoized for the run. Two figures per executor:

- ``executor``: the execute function alone (``CompiledEngine`` vs graphql-core ``execute``)
  on a parsed document, which is what the plans replace;
- ``schema.execute``: strawberry's whole pipeline around it (parser and validation caches,
  every extension of the served schema), what a request pays besides HTTP.

Writes ``benchmarks/results/executor-<date>.json``; the time is the median of the runs.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import gc
import json
import platform
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

from graphql import DocumentNode, execute, parse
from graphql.execution import MiddlewareManager
from strawberry.execution.is_awaitable import optimized_is_awaitable
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.utils.await_maybe import await_maybe

from app.graphql.schema import build_schema
from app.settings import Settings as AppSettings
from app.settings import to_async_database_url
from benchmarks.benchdb import prepare
from benchmarks.common import RESULTS, load_settings
from benchmarks.workloads import W1, body
from db.engine import create_engine, create_session_factory
from db.statements import EngineStatements
from execution import CompiledEngine
from resolvers.context import Context, ContextWiring
from services.auth import authenticate
from services.projects import ProjectReads

PART = """query W1Part($slug: String!, $key: String!, $first: Int!) {
  project(workspaceSlug: $slug, key: $key) { issues(first: $first) { edges { NODE } } }
}"""
BREAKDOWN = [
    "node { id }",
    "node { id identifier title status priority }",
    "node { id assignee { id name } reporter { id name } }",
    "node { id labels { id name color } }",
    "node { id comments(first: 5) { __typename } }",
    "node { id comments(first: 5) { edges { node { id } } } }",
    "node { id comments(first: 5) { edges { node { id body createdAt } } } }",
    "node { id comments(first: 5) { edges { node { id body createdAt author { id name } } } } }",
]


def _memoize_project_lookup() -> None:
    """Serve `Query.project`'s one SQL lookup from memory: only execution is timed."""
    original = ProjectReads.get_by_key
    found: dict[tuple[str, str], Any] = {}

    async def get_by_key(self: ProjectReads, workspace_slug: str, key: str) -> Any:
        if (workspace_slug, key) not in found:
            found[workspace_slug, key] = await original(self, workspace_slug, key)
        return found[workspace_slug, key]

    ProjectReads.get_by_key = get_by_key  # type: ignore[method-assign]


async def _median_ms(run: Callable[[], Awaitable[Any]], runs: int) -> float:
    for _ in range(20):
        await run()
    samples = []
    gc.collect()
    for _ in range(runs):
        started = time.perf_counter()
        await run()
        samples.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(samples), 3)


async def measure(runs: int) -> dict[str, Any]:
    bench = load_settings()
    data = await asyncio.to_thread(prepare, bench, reuse=True)
    database_url = to_async_database_url(bench.database_url)
    engine = create_engine(database_url)
    factory = create_session_factory(engine)
    db = EngineStatements(engine)
    found = await authenticate(db, data.token)
    assert found is not None
    viewer = found.viewer
    _memoize_project_lookup()
    request = body("issuegraph", W1)
    assert request is not None
    query, variables = request["query"], request["variables"]
    # W1 starts no job; the default page sizes and limits, no loader hooks.
    context = Context(ContextWiring(factory), db=db, viewer=viewer, request_id="bench")
    schemas = {
        mode: build_schema(AppSettings(execution_engine=mode))
        for mode in ("compiled", "graphql-core")
    }
    answers = {}
    for mode, schema in schemas.items():
        result = await schema.execute(query, variables, context_value=context, operation_name="W1")
        assert not result.errors, result.errors
        answers[mode] = json.dumps(result.data)
    assert answers["compiled"] == answers["graphql-core"], "the executors disagree"
    issues = json.loads(answers["compiled"])["project"]["issues"]["edges"]

    compiled = CompiledEngine(schemas["compiled"])
    graphql_schema = schemas["compiled"]._schema

    def executor_call(
        function: Callable[..., Any], document: DocumentNode = parse(query)
    ) -> Callable[[], Awaitable[Any]]:
        async def run() -> Any:
            result = await await_maybe(
                function(
                    graphql_schema,
                    document,
                    context_value=context,
                    variable_values=variables,
                    operation_name=None,
                    middleware=MiddlewareManager(),
                    is_awaitable=optimized_is_awaitable,
                    executor_class=StrawberryGraphQLCoreExecutionContext,
                    operation_extensions=None,
                )
            )
            assert not result.errors
            return result

        return run

    def schema_call(mode: str) -> Callable[[], Awaitable[Any]]:
        async def run() -> Any:
            # The cost budget is per request: this one context stands for many requests.
            context.nodes_estimated = 0
            result = await schemas[mode].execute(
                query, variables, context_value=context, operation_name="W1"
            )
            assert not result.errors, result.errors
            return result

        return run

    figures = {
        "executor": {
            "compiled": await _median_ms(executor_call(compiled), runs),
            "graphql-core": await _median_ms(executor_call(execute), runs),
        },
        "schema.execute": {
            "compiled": await _median_ms(schema_call("compiled"), runs),
            "graphql-core": await _median_ms(schema_call("graphql-core"), runs),
        },
    }
    # Where the time goes: W1's page with one part of its selection at a time (the
    # differences between rows are the cost of each part, resolvers included).
    breakdown = {}
    for node in BREAKDOWN:
        part = parse(PART.replace("NODE", node))
        breakdown[node] = {
            "compiled": await _median_ms(executor_call(compiled, part), runs),
            "graphql-core": await _median_ms(executor_call(execute, part), runs),
        }
    await engine.dispose()
    fields = answers["compiled"].count('":')
    return {
        "date": datetime.date.today().isoformat(),
        "python": platform.python_version(),
        "runs": runs,
        "w1": {"issues": len(issues), "result_keys": fields},
        "median_ms": figures,
        "breakdown_ms": breakdown,
        "speedup": {
            kind: round(values["graphql-core"] / values["compiled"], 1)
            for kind, values in figures.items()
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()
    report = asyncio.run(measure(args.runs))
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"executor-{report['date']}.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    print(f"written to {path.relative_to(RESULTS.parent.parent)}")


if __name__ == "__main__":
    main()
