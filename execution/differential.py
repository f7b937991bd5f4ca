"""Differential execution: each operation on the plans and on graphql-core, answers compared.

The test suite runs in this mode (``ISSUEGRAPH_EXECUTION_ENGINE=differential``), so every
operation any test sends is checked. The compiled answer is returned (the tests' own
assertions see it) and graphql-core's is computed after it. A mutation's root fields run once:
graphql-core is handed their recorded results through a middleware and completes them again,
so side effects are not repeated while everything below the root is executed twice.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import structlog
from graphql import DocumentNode, ExecutionResult, GraphQLResolveInfo, execute, print_ast
from graphql.execution import MiddlewareManager

from execution.compat import await_maybe

log = structlog.get_logger("issuegraph.compiled")


@dataclass
class Difference:
    query: str
    variables: dict[str, Any] | None
    compiled: Any
    reference: Any


@dataclass
class DifferentialRecord:
    """What this process compared; the tests read and reset it around every test."""

    compared: int = 0
    differences: list[Difference] = field(default_factory=list)
    fallbacks: Counter[str] = field(default_factory=Counter)

    def reset(self) -> None:
        self.compared = 0
        self.differences.clear()
        self.fallbacks.clear()


RECORD = DifferentialRecord()


def record_fallback(reason: str) -> None:
    RECORD.fallbacks[reason] += 1


def summary(result: ExecutionResult) -> tuple[str, list[tuple[str, str, str]]]:
    """What must be identical: the data (key order included) and each error's message,
    path and locations (as a multiset: sibling fields may fail in either order)."""
    data = json.dumps(result.data, default=repr)
    errors = sorted(
        (
            error.message,
            json.dumps(error.path),
            json.dumps([(loc.line, loc.column) for loc in error.locations or ()]),
        )
        for error in result.errors or ()
    )
    return data, errors


def replay_roots(recorded: dict[str, tuple[bool, Any]]) -> MiddlewareManager:
    def replay(next_: Any, root: Any, info: GraphQLResolveInfo[Any], **arguments: Any) -> Any:
        if info.path.prev is None and info.path.key in recorded:  # not __typename
            succeeded, value = recorded[str(info.path.key)]
            if succeeded:
                return value
            raise value
        return next_(root, info, **arguments)

    return MiddlewareManager(replay)


async def compare(
    result: Any,
    recorded_roots: dict[str, tuple[bool, Any]] | None,
    schema: Any,
    document: DocumentNode,
    arguments: dict[str, Any],
) -> ExecutionResult:
    compiled: ExecutionResult = await await_maybe(result)
    reference_arguments = dict(arguments)
    if recorded_roots is not None:
        reference_arguments["middleware"] = replay_roots(recorded_roots)
    reference: ExecutionResult = await await_maybe(execute(schema, document, **reference_arguments))
    RECORD.compared += 1
    if summary(compiled) != summary(reference):
        difference = Difference(
            print_ast(document),
            arguments.get("variable_values"),
            summary(compiled),
            summary(reference),
        )
        RECORD.differences.append(difference)
        log.error("compiled.difference", **difference.__dict__)
    return compiled
