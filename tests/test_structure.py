"""The shape of the product code that must keep holding, read with ``ast`` (nothing is
imported): no import cycles, no module over 400 lines, Strawberry's and graphql-core's
internals only in the compat module, and the layer rule of docs/architecture.md ("Layers").

Each check reports every offender; none is allowed.
"""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# The one module allowed to use Strawberry's and graphql-core's internals (docs/architecture.md,
# "Framework internals").
COMPAT_MODULE = "execution/compat.py"
MAX_LINES = 400

# -- the rules ---------------------------------------------------------------------------------

# docs/architecture.md, "Layers": the table's "may import" column, top-level package by
# package (each may import itself). A package missing here is reported: add its row to the
# doc's table and here together.
MAY_IMPORT: dict[str, frozenset[str]] = {
    "app": frozenset({"execution", "schema", "resolvers", "services", "jobs", "db", "seeding"}),
    "execution": frozenset(),
    "schema": frozenset({"execution", "services"}),
    "resolvers": frozenset({"schema", "services"}),
    "services": frozenset({"db"}),
    "jobs": frozenset({"services", "db"}),
    "db": frozenset(),
    "seeding": frozenset({"services", "db"}),
}
# The same table, `seeding/` row: nothing in the product imports seeding but `app/cli.py`
# (lazily, inside `seed --bench`).
SEEDING_IMPORTERS = frozenset({"app.cli"})

# Strawberry's public modules, as far as the code uses them: its top level and the modules its
# documentation imports from (types and `Info`, the FastAPI integration, schema extensions,
# permissions, scalars, Relay, the subscription protocol names, the schema's
# `StrawberryConfig`, the HTTP request/response types, and the exceptions an integration
# raises). Anything deeper (`strawberry.schema.schema`, `strawberry.types.field`,
# `strawberry.utils.*`...) is an implementation detail that may change in any release.
STRAWBERRY_PUBLIC = frozenset(
    {
        "strawberry",
        "strawberry.types",
        "strawberry.fastapi",
        "strawberry.extensions",
        "strawberry.permission",
        "strawberry.scalars",
        "strawberry.relay",
        "strawberry.subscriptions",
        "strawberry.schema.config",
        "strawberry.http",
        "strawberry.exceptions",
    }
)
# graphql-core: its top level re-exports the public API; of its subpackages the code may import
# `language` (AST nodes, the visitor), `pyutils` (`Path` and helpers) and `error` directly.
# `execution`, `type`, `utilities` and `validation` are reached through the top level; what
# they hold beyond it (the `Executor`'s members, `MiddlewareManager`...) only in COMPAT_MODULE.
GRAPHQL_PUBLIC = frozenset({"graphql", "graphql.language", "graphql.pyutils", "graphql.error"})


# -- reading the code --------------------------------------------------------------------------


def product_packages() -> list[str]:
    """The top-level packages the wheel ships: pyproject's `packages.find` include list."""
    with (ROOT / "pyproject.toml").open("rb") as file:
        include = tomllib.load(file)["tool"]["setuptools"]["packages"]["find"]["include"]
    names = {pattern.split(".")[0].rstrip("*") for pattern in include}
    return sorted(name for name in names if (ROOT / name / "__init__.py").is_file())


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@dataclass(frozen=True)
class Module:
    name: str
    path: Path
    is_package: bool

    @property
    def relative(self) -> str:
        return self.path.relative_to(ROOT).as_posix()

    @property
    def top(self) -> str:
        return self.name.split(".")[0]


@cache
def product_modules() -> dict[str, Module]:
    """Every module of the product packages, by dotted name (Alembic's revision scripts are
    data the migration runner loads, not modules anything imports)."""
    modules: dict[str, Module] = {}
    for package in product_packages():
        for path in sorted((ROOT / package).rglob("*.py")):
            if {"versions", "static"} & set(path.relative_to(ROOT).parts):
                continue
            name = module_name(path)
            modules[name] = Module(name, path, path.name == "__init__.py")
    return modules


@cache
def tree(module: Module) -> ast.Module:
    return ast.parse(module.path.read_text(), filename=str(module.path))


@dataclass(frozen=True)
class Imported:
    """One imported module (``module``) and the names taken from it (``from m import a``)."""

    module: str
    names: tuple[str, ...]
    line: int


def imports_of(module: Module) -> Iterator[Imported]:
    """Every import statement of ``module``, anywhere in it: at the top, under
    ``TYPE_CHECKING``, inside functions. Relative imports are made absolute."""
    for node in ast.walk(tree(module)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Imported(alias.name, (), node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module.name.split(".")
                if not module.is_package:
                    package.pop()
                package = package[: len(package) - (node.level - 1)]
                base = ".".join([*package, base] if base else package)
            yield Imported(base, tuple(alias.name for alias in node.names), node.lineno)


def product_targets(imported: Imported) -> set[str]:
    """The product modules an import loads: ``from pkg import sub`` loads ``pkg.sub`` when
    that is a module, else ``pkg`` itself."""
    modules = product_modules()
    targets = {f"{imported.module}.{n}" for n in imported.names} & modules.keys()
    if imported.module in modules and (not imported.names or len(targets) < len(imported.names)):
        targets.add(imported.module)
    return targets


def import_graph() -> dict[str, set[str]]:
    return {
        name: {
            target
            for imported in imports_of(module)
            for target in product_targets(imported)
            if target != name
        }
        for name, module in product_modules().items()
    }


def cycles(graph: dict[str, set[str]]) -> set[frozenset[str]]:
    """The strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: set[frozenset[str]] = set()
    for root in sorted(graph):
        if root in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.add(frozenset(component))
    return found


def a_cycle_through(component: frozenset[str], graph: dict[str, set[str]]) -> list[str]:
    """One import path around ``component``, for the report: start -> ... -> start."""
    start = min(component)
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for child in sorted(graph[node] & component):
            if child == start:
                return [*paths[node], start]
            if child not in paths:
                paths[child] = [*paths[node], child]
                queue.append(child)
    return sorted(component)


def internal_import(imported: Imported) -> str | None:
    """What ``imported`` takes from Strawberry's or graphql-core's internals, if anything."""
    root = imported.module.split(".")[0]
    public = {"strawberry": STRAWBERRY_PUBLIC, "graphql": GRAPHQL_PUBLIC}.get(root)
    if public is None:
        return None
    if imported.module not in public:
        return imported.module
    private = [name for name in imported.names if name.startswith("_")]
    return f"{imported.module}: {', '.join(private)}" if private else None


# -- checking against the allow-lists ----------------------------------------------------------


def describe(offender: Any) -> str:
    if isinstance(offender, frozenset):
        return "{" + ", ".join(sorted(offender)) + "}"
    return str(offender)


def check(what: str, offenders: set[Any], explain: Callable[[Any], str] = describe) -> None:
    """Fail on any offender (each said by ``explain``)."""
    problems = [f"{what}: {item}" for item in sorted(map(explain, offenders))]
    assert not problems, "\n" + "\n".join(problems)


def test_no_import_cycles() -> None:
    graph = import_graph()

    def explain(component: frozenset[str]) -> str:
        return f"{describe(component)}, e.g. {' -> '.join(a_cycle_through(component, graph))}"

    check("import cycle", cycles(graph), explain)


def test_no_module_over_the_line_limit() -> None:
    long = {
        module.relative
        for module in product_modules().values()
        if len(module.path.read_text().splitlines()) > MAX_LINES
    }
    check(f"over {MAX_LINES} lines", long)


def test_framework_internals_only_in_the_compat_module() -> None:
    assert (ROOT / COMPAT_MODULE).is_file(), f"COMPAT_MODULE {COMPAT_MODULE} is gone: update it"
    found = {
        (module.relative, internal)
        for module in product_modules().values()
        if module.relative != COMPAT_MODULE
        for imported in imports_of(module)
        if (internal := internal_import(imported)) is not None
    }
    check("framework internal imported", found)


def test_layers_import_only_what_the_table_allows() -> None:
    unknown = sorted(set(product_packages()) - MAY_IMPORT.keys())
    assert not unknown, f"not in docs/architecture.md's layer table (and MAY_IMPORT): {unknown}"
    breaks = set()
    for name, targets in import_graph().items():
        module = product_modules()[name]
        for target in targets:
            layer = target.split(".")[0]
            allowed = layer == module.top or layer in MAY_IMPORT[module.top]
            if layer == "seeding" and module.top != "seeding":
                allowed = name in SEEDING_IMPORTERS
            if not allowed:
                breaks.add((name, target))
    check("layer break (importer, imported)", breaks)
