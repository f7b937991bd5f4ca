"""execution/ is a library in all but name: it imports nothing of the project
(docs/architecture.md, the layer table), so the app hands it what it needs (an observer, a
fallback) and the tests hand it their check (tests/differential.py)."""

from __future__ import annotations

import ast
from pathlib import Path

import execution

ROOT = Path(__file__).resolve().parent.parent
OURS = frozenset({"app", "schema", "resolvers", "services", "jobs", "db", "seeding", "tests"})


def imported_roots(source: str) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_the_executor_imports_nothing_of_ours() -> None:
    found = {
        f"{path.relative_to(ROOT)}: {root}"
        for path in sorted((ROOT / "execution").rglob("*.py"))
        for root in imported_roots(path.read_text()) & OURS
    }
    assert found == set()
    assert imported_roots("from app import metrics\nimport schema.ids\n") & OURS == {
        "app",
        "schema",
    }


def test_the_interface_is_small() -> None:
    assert sorted(execution.__all__) == [
        "Check",
        "CompiledEngine",
        "ExecutionObserver",
        "RecordedRoots",
    ]
