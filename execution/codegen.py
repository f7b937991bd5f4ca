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
from typing import Any, cast

from graphql import GraphQLObjectType, Undefined
from graphql.pyutils import Path

from execution.compat import PATH_NEW, TYPE_CAST_ATTRIBUTE
from execution.plan import FieldKind, FieldPlan, ObjectPlan, TypeKind

# Values of these classes are never awaitable (the same fast path as strawberry's check).
PLAIN = frozenset({str, int, float, bool, type(None), list, tuple, dict, datetime, date, Decimal})


def field_runner(plan: ObjectPlan, leaf_classes: frozenset[type]) -> Callable[[Any, Any, Any], Any]:
    """``run_fields(run, source, path)``: the plan's fields on one source object."""
    namespace: dict[str, Any] = {
        "PLAIN": PLAIN,
        "LEAF": leaf_classes,
        "Path": Path,
        "PATH_NEW": PATH_NEW,
        "TYPE_CAST_ATTRIBUTE": TYPE_CAST_ATTRIBUTE,
        "Undefined": Undefined,
    }
    body: list[str] = []
    # Resolvers of root fields go through execute_field: a check's runs record them there.
    inline_resolvers = not plan.is_root
    for index, field in enumerate(plan.fields):
        name = f"F{index}"
        namespace[name] = field
        body += _field_lines(field, name, inline_resolvers)
    direct = inline_resolvers and any(f.kind is FieldKind.DIRECT for f in plan.fields)
    lines = [
        "def run_fields(run, source, path):",
        "    results = {}",
        "    pending = None",
        *(["    build_info = run.executor.build_resolve_info"] if direct else []),
        "    try:",
        # No field collected for this type (all skipped, or fragments on other types): {}.
        *("        " + line for line in body or ["pass"]),
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


def _field_lines(field: FieldPlan, name: str, inline_resolvers: bool) -> list[str]:
    key = repr(field.key)
    track = [
        "if r.__class__ not in PLAIN and run.is_awaitable(r):",
        "    if pending is None:",
        "        pending = []",
        f"    pending.append({key})",
    ]
    if field.kind is FieldKind.TYPENAME:
        return [f"results[{key}] = {field.parent_type.name!r}"]
    if field.kind is FieldKind.DIRECT and inline_resolvers:
        # execute_field's resolver branch, without its dispatch.
        arguments = (
            f"run.arguments({name})"
            if field.takes_arguments and field.static_kwargs is None
            else "None"
        )
        return [
            f"p = PATH_NEW(Path, (path, {key}, {field.parent_type.name!r}))",
            f"info = build_info({name}.field_def, {name}.nodes, {name}.parent_type, p)",
            "try:",
            f"    v = run.call_direct({name}, source, info, {arguments})",
            "except Exception as error:",
            f"    results[{key}] = run.field_failed({name}, path, p, error)",
            "else:",
            f"    r = results[{key}] = run.complete_field({name}, path, p, info, v)",
            *("    " + line for line in track),
        ]
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
    nullable = field.type_plan.kind is not TypeKind.NON_NULL
    if field.object is not None:
        return read + ["    " + line for line in _object_lines(field, name, key, complete, track)]
    if field.str_passes:
        fast = [
            "if v.__class__ is str:",
            f"    results[{key}] = v",
            *(["elif v is None:", f"    results[{key}] = None"] if nullable else []),
            "else:",
            *("    " + line for line in complete),
        ]
        return read + ["    " + line for line in fast]
    if field.leaf is not None:
        # complete_leaf_value inline for values of the plain leaf classes; a coercion that
        # fails or answers null takes the generic path, which reports it.
        fast = [
            "if v.__class__ in LEAF:",
            "    try:",
            f"        c = {name}.leaf.coerce(v)",
            "    except Exception:",
            "        c = None",
            "    if c is None or c is Undefined:",
            *("        " + line for line in complete),
            "    else:",
            f"        results[{key}] = c",
            *(["elif v is None:", f"    results[{key}] = None"] if nullable else []),
            "else:",
            *("    " + line for line in complete),
        ]
        return read + ["    " + line for line in fast]
    return read + ["    " + line for line in complete]


def _object_lines(
    field: FieldPlan, name: str, key: str, complete: list[str], track: list[str]
) -> list[str]:
    """``complete_field``'s branch for an object of the field's own type, inline: a page's
    edges, nodes and people are most of its objects, and each saves a call."""
    assert field.object is not None
    own = f"v.__class__ in {name}.object.fast_classes"
    if field.object.checks_cast:
        own += " and TYPE_CAST_ATTRIBUTE not in v.__dict__"
    typename = field.parent_type.name
    object_type = cast(GraphQLObjectType, field.object.type)
    return [
        f"if {own}:",
        f"    p = PATH_NEW(Path, (path, {key}, {typename!r}))",
        "    try:",
        f"        sub = {name}.subplans.get({object_type.name!r})",
        "        if sub is None:",
        f"            sub = run.subplan({name}, {name}.object.type)",
        f"        r = results[{key}] = run.execute_fields(sub, v, p)",
        "    except Exception as error:",
        f"        results[{key}] = run.field_failed({name}, path, p, error)",
        "    else:",
        "        if r.__class__ is not dict:",
        f"            r = results[{key}] = run.await_completed({name}.type_plan, {name}, p, r)",
        *("            " + line for line in track),
        "else:",
        *("    " + line for line in complete),
    ]


def _plain_name(name: str) -> bool:
    return name.isidentifier() and not keyword.iskeyword(name) and not name.startswith("__")
