"""Every use of Strawberry's and graphql-core's internals, in one place.

The rest of the product imports only public names of the two libraries, or this module
(``tests/test_framework_compat.py`` scans for it). What is here is not their documented API:
modules such as ``graphql.execution.executor`` and ``strawberry.http.base``, underscore
attributes (``schema._schema``, ``info._raw_info``), hooks (``_get_execute_function``,
``_get_field_exception_handlers``), the members of graphql-core's ``Executor`` that
``execution`` mirrors, and the wording of strawberry's limit errors. Any release may change
them, so importing this module refuses versions outside the ranges it was checked against
(``SUPPORTED``; ``pyproject.toml`` bounds the same). To upgrade: widen the range here and in
``pyproject.toml``, then run the differential suite (docs/architecture.md, "Framework
internals").

It lives in ``execution``, the package that is the project's seam to the GraphQL frameworks:
the executor needs these internals and imports nothing of the project, so ``schema``, ``app``
and the tests import this module from there.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from importlib.metadata import version
from typing import TYPE_CHECKING, Any

import strawberry
from graphql import Executor, GraphQLResolveInfo, GraphQLSchema
from graphql.execution.collect_fields import FieldDetails, collect_fields, collect_subfields
from graphql.execution.executor import collect_iterator_awaitables, invalid_return_type_error
from graphql.pyutils import Path
from strawberry.http.base import BaseRequestProtocol
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.schema.schema import validate_document
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import SubscribeMessage
from strawberry.types.arguments import convert_arguments
from strawberry.types.base import StrawberryOptional
from strawberry.types.cast import TYPE_CAST_ATTRIBUTE
from strawberry.types.field import StrawberryField
from strawberry.types.graphql import OperationType
from strawberry.utils.await_maybe import await_maybe

if TYPE_CHECKING:
    from strawberry.types import Info

__all__ = [
    "DEFINITION_BACKREF",
    "EXECUTOR_MEMBERS",
    "PATH_NEW",
    "SUPPORTED",
    "TYPE_CAST_ATTRIBUTE",
    "BaseGraphQLTransportWSHandler",
    "BaseRequestProtocol",
    "CannotGetOperationTypeError",
    "Executor",
    "FieldDetails",
    "GraphQLCoreConverter",
    "InvalidOperationTypeError",
    "OperationType",
    "SchemaWithExecuteHook",
    "StrawberryField",
    "StrawberryOptional",
    "SubscribeMessage",
    "await_maybe",
    "check_versions",
    "collect_fields",
    "collect_iterator_awaitables",
    "collect_subfields",
    "convert_arguments",
    "field_exception_handlers",
    "graphql_core_schema",
    "invalid_return_type_error",
    "is_generated_is_type_of",
    "limit_error_code",
    "new_path",
    "raw_info",
    "schema_converter",
    "validate_document",
]

# The distributions and the half-open [lowest, first unsupported) ranges of release numbers
# this module (and execution/, which mirrors graphql-core 3.3's Executor) was checked on.
SUPPORTED: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {
    "strawberry-graphql": ((0, 341, 2), (0, 342)),
    "graphql-core": ((3, 3, 2), (3, 4)),
}

_RELEASE = re.compile(r"\d+(?:\.\d+)*")


def _release(text: str) -> tuple[int, ...]:
    # The leading release numbers ("3.3.2" of "3.3.2rc1"): ``packaging`` would parse the whole
    # version, but it is not a runtime dependency, and a range of releases needs no more.
    found = _RELEASE.match(text)
    if found is None:
        raise RuntimeError(f"cannot read the version {text!r}")
    return tuple(int(part) for part in found.group().split("."))


def _dotted(release: tuple[int, ...]) -> str:
    return ".".join(str(part) for part in release)


def check_versions(installed: dict[str, str]) -> None:
    """Refuse any installed version outside ``SUPPORTED``, saying what is supported."""
    for distribution, (lowest, unsupported) in SUPPORTED.items():
        found = installed[distribution]
        if not lowest <= _release(found) < unsupported:
            raise RuntimeError(
                f"{distribution} {found} is installed, but issuegraph supports "
                f">={_dotted(lowest)},<{_dotted(unsupported)} only: it uses internals of "
                f"{distribution} (execution/compat.py). Install a supported version "
                "(make venv installs the locked ones), or widen the range there and in "
                "pyproject.toml after the differential suite (tests/test_compiled.py, "
                "tests/test_fuzz.py) passes on the new version."
            )


check_versions({distribution: version(distribution) for distribution in SUPPORTED})


# -- graphql-core ----------------------------------------------------------------------------

# The members of graphql-core's ``Executor`` that execution/ reads or calls (it mirrors the
# executor's methods; tests/test_framework_compat.py checks that it uses no other). Checked
# below, so a release that renames one fails at import instead of mid-request.
EXECUTOR_MEMBERS = frozenset(
    {
        "abort_signal",
        "build",
        "build_resolve_info",
        "build_response",
        "collected_errors",
        "complete_list_value",
        "complete_object_value",
        "ensure_valid_runtime_type",
        "field_resolver",
        "finish",
        "fragments",
        "handle_field_error",
        "hide_suggestions",
        "hooks",
        "is_async_iterable",
        "is_awaitable",
        "middleware_manager",
        "operation",
        "root_value",
        "schema",
        "settle_in_background",
        "type_resolver",
        "variable_values",
    }
)


def _executor_members() -> set[str]:
    members = set(dir(Executor))
    for klass in Executor.__mro__:
        members.update(getattr(klass, "__annotations__", {}))
    return members


_missing = EXECUTOR_MEMBERS - _executor_members()
if _missing:
    raise RuntimeError(f"graphql-core's Executor lacks {sorted(_missing)}: see SUPPORTED")


# graphql-core's ``Path`` is a NamedTuple: its generated ``__new__`` is a Python function, a
# frame per call, and a 50-issue page makes ~1,000 paths. ``tuple.__new__`` builds the same
# object in C (as the NamedTuple's own ``_make`` does); checked to be a plain 3-tuple here.
if not (issubclass(Path, tuple) and Path._fields == ("prev", "key", "typename")):
    raise RuntimeError("graphql-core's Path is no longer a (prev, key, typename) NamedTuple")

# The hottest loops call it as ``PATH_NEW(Path, (prev, key, typename))`` (no frame at all).
PATH_NEW = tuple.__new__


def new_path(prev: Path | None, key: str | int, typename: str | None) -> Path:
    """``Path(prev, key, typename)``, built in C."""
    return PATH_NEW(Path, (prev, key, typename))


def raw_info(info: Info[Any, Any]) -> GraphQLResolveInfo[Any]:
    """graphql-core's info behind strawberry's: its field nodes, fragments and operation."""
    raw: GraphQLResolveInfo[Any] = info._raw_info
    return raw


# -- strawberry ------------------------------------------------------------------------------

# The key under which strawberry links each GraphQL definition's ``extensions`` back to its own
# definition (a type, a field, a scalar).
DEFINITION_BACKREF: str = GraphQLCoreConverter.DEFINITION_BACKREF

if not hasattr(GraphQLCoreConverter, "_get_field_exception_handlers"):
    raise RuntimeError("strawberry's GraphQLCoreConverter lacks _get_field_exception_handlers")

if not hasattr(strawberry.Schema, "_get_execute_function"):
    raise RuntimeError("strawberry.Schema lacks _get_execute_function")


def graphql_core_schema(schema: strawberry.Schema) -> GraphQLSchema:
    """The graphql-core schema strawberry built (what graphql-core's functions take)."""
    return schema._schema


def schema_converter(schema: strawberry.Schema) -> GraphQLCoreConverter:
    """The converter that built ``schema``: its scalar registry, config and handlers."""
    return schema.schema_converter


def field_exception_handlers(
    converter: GraphQLCoreConverter,
) -> Callable[[StrawberryField], tuple[Any, ...]]:
    """The exception handlers that apply to a field (empty when none): a field with any is
    left to strawberry's own resolver wrapper."""
    handlers: Callable[[StrawberryField], tuple[Any, ...]] = converter._get_field_exception_handlers
    return handlers


_GENERATED_IS_TYPE_OF_PREFIX = f"{GraphQLCoreConverter.__name__}."


def is_generated_is_type_of(predicate: Callable[..., Any]) -> bool:
    """Whether an ``is_type_of`` is the one strawberry's converter generates (which never
    reads its info argument), told by its qualified name."""
    return predicate.__qualname__.startswith(_GENERATED_IS_TYPE_OF_PREFIX)


class SchemaWithExecuteHook(strawberry.Schema):
    """``strawberry.Schema`` whose execute function a subclass may replace.

    Strawberry calls the private ``_get_execute_function`` inside its ``executing()`` hook, so
    every extension sees the replacement exactly as it sees graphql-core's ``execute``.
    """

    def execute_function(self) -> Callable[..., Any] | None:
        """The function to run operations with; None for strawberry's own."""
        return None

    def _get_execute_function(self) -> Callable[..., Any]:
        replacement = self.execute_function()
        return super()._get_execute_function() if replacement is None else replacement


# Limits whose errors carry no code (graphql-core's parser token limit, strawberry's depth and
# alias limiters, whose wording app/limits.py keeps) are told by their wording, mapped here.
_LIMIT_MESSAGES = (
    ("exceeds maximum operation depth", "QUERY_TOO_DEEP"),
    ("aliases found", "TOO_MANY_ALIASES"),
    ("tokens. Parsing aborted", "TOO_MANY_TOKENS"),
)


def limit_error_code(message: str) -> str | None:
    """The code for an error message of one of strawberry's limits, or None."""
    for fragment, code in _LIMIT_MESSAGES:
        if fragment in message:
            return code
    return None
