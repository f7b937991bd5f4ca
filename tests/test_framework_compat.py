"""execution/compat.py is the one place that touches Strawberry's and graphql-core's
internals, and it refuses the versions it was not checked against."""

from __future__ import annotations

import ast
import importlib
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from execution import compat as framework_compat
from execution.compat import EXECUTOR_MEMBERS, SUPPORTED, check_versions

ROOT = Path(__file__).resolve().parent.parent
PRODUCT_PACKAGES = ("app", "execution", "schema", "resolvers", "services", "jobs", "db", "seeding")
COMPAT_MODULE = ROOT / "execution" / "compat.py"
DRIVER_COMPAT_MODULE = ROOT / "db" / "driver_compat.py"
# The private members of SQLAlchemy, Alembic and asyncpg that db/driver_compat.py holds.
DRIVER_INTERNALS = frozenset({"_invalidate", "_upgrade_revs", "_downgrade_revs", "_cancellations"})

# graphql-core's public API: the names in the ``__all__`` of its top level and of its
# documented subpackages.
GRAPHQL_PUBLIC_MODULES = frozenset(
    {
        "graphql",
        "graphql.error",
        "graphql.execution",
        "graphql.language",
        "graphql.pyutils",
        "graphql.type",
        "graphql.utilities",
        "graphql.validation",
    }
)
# Strawberry's: its top level and the modules its documentation imports from.
STRAWBERRY_PUBLIC_MODULES = frozenset(
    {
        "strawberry",
        "strawberry.exceptions",
        "strawberry.extensions",
        "strawberry.fastapi",
        "strawberry.http",
        "strawberry.permission",
        "strawberry.relay",
        "strawberry.scalars",
        "strawberry.schema.config",
        "strawberry.subscriptions",
        "strawberry.types",
    }
)
# Private attributes and hooks, and strings copied from the libraries' source.
INTERNAL_NAMES = frozenset(
    {
        "_get_execute_function",
        "_get_field_exception_handlers",
        "_raw_info",
        "_schema",
        "schema_converter",
    }
)
INTERNAL_STRINGS = frozenset({"strawberry-definition", *INTERNAL_NAMES})


def _non_public_import(module: str, names: list[str]) -> str | None:
    root = module.split(".")[0]
    if root == "graphql":
        if module not in GRAPHQL_PUBLIC_MODULES:
            return f"module {module}"
        exported = set(importlib.import_module(module).__all__)
        hidden = [name for name in names if name not in exported]
    elif root == "strawberry":
        if module not in STRAWBERRY_PUBLIC_MODULES:
            return f"module {module}"
        hidden = [name for name in names if name.startswith("_")]
    else:
        return None
    return f"{module}: {', '.join(hidden)}" if hidden else None


def _executor_member(node: ast.Attribute) -> str | None:
    """The member read from graphql-core's executor (``executor.x``, ``self.executor.x``)."""
    owner = node.value
    if (isinstance(owner, ast.Name) and owner.id == "executor") or (
        isinstance(owner, ast.Attribute) and owner.attr == "executor"
    ):
        return node.attr
    return None


def internal_touches(source: str, executor_members: frozenset[str]) -> Iterator[str]:
    """Each use of a framework internal in ``source``, said as ``line: what``."""
    for node in ast.walk(ast.parse(source)):
        line = getattr(node, "lineno", 0)
        found: str | None = None
        if isinstance(node, ast.Import):
            for alias in node.names:
                found = found or _non_public_import(alias.name, [])
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found = _non_public_import(node.module, [alias.name for alias in node.names])
        elif isinstance(node, ast.Attribute):
            member = _executor_member(node)
            if node.attr in INTERNAL_NAMES:
                found = f"attribute {node.attr}"
            elif member is not None and member not in executor_members:
                found = f"Executor member {member} (not in EXECUTOR_MEMBERS)"
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            found = f"override {node.name}" if node.name in INTERNAL_NAMES else None
        elif isinstance(node, ast.Constant) and node.value in INTERNAL_STRINGS:
            found = f"string {node.value!r}"
        if found is not None:
            yield f"{line}: {found}"


def product_modules() -> Iterator[Path]:
    for package in PRODUCT_PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.parts and path != COMPAT_MODULE:
                yield path


def test_only_the_compat_module_touches_framework_internals() -> None:
    touches = [
        f"{path.relative_to(ROOT)}:{touch}"
        for path in product_modules()
        for touch in internal_touches(path.read_text(), EXECUTOR_MEMBERS)
    ]
    assert touches == []


def test_the_scan_finds_each_kind_of_touch() -> None:
    planted = """
import graphql.execution.executor
from graphql.execution.collect_fields import collect_fields
from graphql.execution import Executor, collect_fields
from strawberry.utils.await_maybe import await_maybe
from strawberry.types import _private
from graphql import GraphQLError, Undefined
from strawberry.types import Info

def f(schema, info, converter, executor):
    schema._schema
    info._raw_info
    converter._get_field_exception_handlers
    getattr(converter, "_get_field_exception_handlers")
    (x.extensions or {}).get("strawberry-definition")
    executor.handle_field_error
    executor.incremental_publisher

class S:
    def _get_execute_function(self): ...
"""
    found = internal_touches(planted, frozenset({"handle_field_error"}))
    assert sorted(found, key=lambda touch: int(touch.split(":")[0])) == [
        "2: module graphql.execution.executor",
        "3: module graphql.execution.collect_fields",
        "4: graphql.execution: collect_fields",
        "5: module strawberry.utils.await_maybe",
        "6: strawberry.types: _private",
        "11: attribute _schema",
        "12: attribute _raw_info",
        "13: attribute _get_field_exception_handlers",
        "14: string '_get_field_exception_handlers'",
        "15: string 'strawberry-definition'",
        "17: Executor member incremental_publisher (not in EXECUTOR_MEMBERS)",
        "20: override _get_execute_function",
    ]


def test_the_compiled_plans_read_the_executor_through_the_declared_members() -> None:
    """The executor scan is not vacuous: execution/ reads most of the declared members."""
    used = {
        member
        for path in (ROOT / "execution").glob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Attribute) and (member := _executor_member(node)) is not None
    }
    assert used <= EXECUTOR_MEMBERS
    assert len(used) >= len(EXECUTOR_MEMBERS) // 2


INSTALLED = {"strawberry-graphql": "0.341.2", "graphql-core": "3.3.2"}


def test_the_supported_versions_pass() -> None:
    check_versions(INSTALLED)
    check_versions({"strawberry-graphql": "0.341.9", "graphql-core": "3.3.11"})


@pytest.mark.parametrize(
    ("distribution", "version"),
    [
        ("strawberry-graphql", "0.342.0"),
        ("strawberry-graphql", "0.341.1"),
        ("strawberry-graphql", "1.0.0"),
        ("graphql-core", "3.4.0a1"),
        ("graphql-core", "3.2.6"),
    ],
)
def test_a_version_outside_the_range_is_refused(distribution: str, version: str) -> None:
    with pytest.raises(RuntimeError) as refused:
        check_versions({**INSTALLED, distribution: version})
    message = str(refused.value)
    lowest, unsupported = (".".join(map(str, v)) for v in SUPPORTED[distribution])
    assert f"{distribution} {version} is installed" in message
    assert f">={lowest},<{unsupported}" in message
    assert "tests/test_compiled.py" in message


def test_pyproject_bounds_the_frameworks_to_the_supported_ranges() -> None:
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    bounds = {(r := Requirement(d)).name: str(r.specifier) for d in dependencies}
    for distribution, (lowest, unsupported) in SUPPORTED.items():
        expected = {f">={'.'.join(map(str, lowest))}", f"<{'.'.join(map(str, unsupported))}"}
        assert set(bounds[distribution].split(",")) == expected


def test_the_compat_module_exports_what_it_declares() -> None:
    for name in framework_compat.__all__:
        assert hasattr(framework_compat, name), name


def driver_touches(source: str) -> Iterator[str]:
    """Each use of a private driver member in ``source`` (as an attribute or a string)."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr in DRIVER_INTERNALS:
            yield f"{node.lineno}: attribute {node.attr}"
        elif isinstance(node, ast.Constant) and node.value in DRIVER_INTERNALS:
            yield f"{node.lineno}: string {node.value!r}"


def test_only_the_driver_compat_module_touches_private_driver_members() -> None:
    touches = [
        f"{path.relative_to(ROOT)}:{touch}"
        for path in product_modules()
        if path != DRIVER_COMPAT_MODULE
        for touch in driver_touches(path.read_text())
    ]
    assert touches == []
    planted = 'pool._invalidate(c, e)\ngetattr(connection, "_cancellations", ())\n'
    found = list(driver_touches(planted))
    assert found == ["1: attribute _invalidate", "2: string '_cancellations'"]
