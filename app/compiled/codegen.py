"""Python source generated per object plan: the field loop of graphql-core's ``execute_fields``.

A generic loop pays, for every field of every object, a call, a dispatch on the field's kind
and a check for awaitables. The generated function reads plain attributes inline
(``source.title``) and keeps a ``str`` for a String/ID field as it is; every other field goes
through ``PlanRun.execute_field``/``complete_field``, the same code the generic loop would run.
This is what graphql-jit does for JavaScript; nothing in Python's GraphQL libraries does it,
hence our own. The source is built only from the plan's own names (``repr`` of the response
keys, identifiers checked with ``str.isidentifier``), never from query text as code.
"""

from __future__ import annotations

import keyword
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from app.compiled.plan import FieldKind, FieldPlan, ObjectPlan, TypeKind

# Values of these classes are never awaitable (the same fast path as strawberry's check).
PLAIN = frozenset({str, int, float, bool, type(None), list, tuple, dict, datetime, date, Decimal})


def field_runner(plan: ObjectPlan) -> Callable[[Any, Any, Any], Any]:
    """``run_fields(run, source, path)``: the plan's fields on one source object."""
    namespace: dict[str, Any] = {"PLAIN": PLAIN}
    body: list[str] = []
    for index, field in enumerate(plan.fields):
        name = f"F{index}"
        namespace[name] = field
        body += _field_lines(field, name)
    lines = [
        "def run_fields(run, source, path):",
        "    results = {}",
        "    pending = None",
        "    try:",
        *("        " + line for line in body),
        "    except Exception:",
        "        if pending:",
        "            run.executor.settle_in_background([results[k] for k in pending])",
        "        raise",
        "    if pending is None:",
        "        return results",
        "    return run.gather_fields(results, pending)",
    ]
    source = "\n".join(lines) + "\n"
    code = compile(source, f"<plan {plan.type.name}>", "exec")
    exec(code, namespace)  # noqa: S102 - our own source, built from the plan's names only
    runner: Callable[[Any, Any, Any], Any] = namespace["run_fields"]
    return runner


def _field_lines(field: FieldPlan, name: str) -> list[str]:
    key = repr(field.key)
    track = [
        "if r.__class__ not in PLAIN and run.is_awaitable(r):",
        "    if pending is None:",
        "        pending = []",
        f"    pending.append({key})",
    ]
    if field.kind is FieldKind.TYPENAME:
        return [f"results[{key}] = {field.parent_type.name!r}"]
    if field.kind is not FieldKind.ATTRIBUTE or not _plain_name(field.attribute):
        return [f"r = results[{key}] = run.execute_field({name}, source, path)", *track]
    read = [
        "try:",
        f"    v = source.{field.attribute}",
        "except Exception as error:",
        f"    results[{key}] = run.field_failed({name}, path, None, error)",
        "else:",
    ]
    complete = [
        f"r = results[{key}] = run.complete_field({name}, path, None, None, v)",
        *track,
    ]
    if field.str_passes:
        nullable = field.type_plan.kind is not TypeKind.NON_NULL
        fast = [
            "if v.__class__ is str:",
            f"    results[{key}] = v",
            *(["elif v is None:", f"    results[{key}] = None"] if nullable else []),
            "else:",
            *("    " + line for line in complete),
        ]
        return read + ["    " + line for line in fast]
    return read + ["    " + line for line in complete]


def _plain_name(name: str) -> bool:
    return name.isidentifier() and not keyword.iskeyword(name) and not name.startswith("__")
