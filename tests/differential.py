"""Differential execution: each operation on the plans and on graphql-core, answers compared.

The test suite runs this way (``installed``, from tests/conftest.py), so every operation any
test sends is checked: ``DIFFERENTIAL`` is the ``Check`` every ``CompiledEngine`` consults
(execution/engine.py). The compiled answer is returned (the tests' own assertions see it) and
graphql-core's is computed after it. A mutation's root fields run once: graphql-core is handed
their recorded results through a middleware and completes them again, so side effects are not
repeated while everything below the root is executed twice.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Any

import structlog
from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLResolveInfo,
    GraphQLSchema,
    execute,
    print_ast,
)
from graphql.execution import MiddlewareManager

from execution import Check, CompiledEngine, RecordedRoots
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


def replay_roots(recorded: RecordedRoots) -> MiddlewareManager:
    def replay(next_: Any, root: Any, info: GraphQLResolveInfo[Any], **arguments: Any) -> Any:
        if info.path.prev is None and info.path.key in recorded:  # not __typename
            succeeded, value = recorded[str(info.path.key)]
            if succeeded:
                return value
            raise value
        return next_(root, info, **arguments)

    return MiddlewareManager(replay)


class Differential:
    """The ``Check`` that runs graphql-core after the plans and records what differs."""

    def __init__(self, record: DifferentialRecord) -> None:
        self.record = record

    def fell_back(self, reason: str) -> None:
        self.record.fallbacks[reason] += 1

    async def compare(
        self,
        result: Any,
        recorded_roots: RecordedRoots | None,
        schema: GraphQLSchema,
        document: DocumentNode,
        arguments: dict[str, Any],
    ) -> ExecutionResult:
        compiled: ExecutionResult = await await_maybe(result)
        reference_arguments = dict(arguments)
        if recorded_roots is not None:
            reference_arguments["middleware"] = replay_roots(recorded_roots)
        reference: ExecutionResult = await await_maybe(
            execute(schema, document, **reference_arguments)
        )
        self.record.compared += 1
        if summary(compiled) != summary(reference):
            difference = Difference(
                print_ast(document),
                arguments.get("variable_values"),
                summary(compiled),
                summary(reference),
            )
            self.record.differences.append(difference)
            log.error("compiled.difference", **difference.__dict__)
        return compiled


DIFFERENTIAL: Check = Differential(RECORD)


@contextmanager
def checking(check: Check | None) -> Iterator[None]:
    """Every ``CompiledEngine`` without a check of its own uses ``check`` while inside."""
    previous = CompiledEngine.check
    CompiledEngine.check = check
    try:
        yield
    finally:
        CompiledEngine.check = previous


def installed() -> AbstractContextManager[None]:
    """Differential execution for every engine (the whole suite, tests/conftest.py)."""
    return checking(DIFFERENTIAL)


def off() -> AbstractContextManager[None]:
    """One executor, as in production: for tests where a second run would see another world
    (a dependency coming and going) or would only double the time."""
    return checking(None)
