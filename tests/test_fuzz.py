"""Property-based fuzzing of the GraphQL endpoint (issue #4, part 4: error hygiene).

Random, mostly valid queries and mutations are built from the served schema's own types:
random field selections, aliases, named and inline fragments, ``@skip``/``@include`` (with
literals and with Boolean variables) on fields, fragment spreads and inline fragments,
variables, and argument values mixing real IDs with garbage (malformed, foreign or
out-of-range IDs, unicode and control characters, huge and negative numbers, over-long
strings and lists). Each is POSTed with a valid token to an app over ASGI, against a little
seeded data. Whatever the outcome, it must be a client error or a success: never a 5xx, never
the masked "Unexpected error." (which means an exception escaped a resolver), and never a
traceback, SQL driver name or file path.

The app runs in the tests' "differential" execution mode (tests/conftest.py): every example
executes on the compiled plans (app/compiled) and on graphql-core's executor, and an example
fails when the two answer differently (data, or any error's message, path or locations).

Needs ``hypothesis`` (in the ``dev`` extra). Bounded: 300 examples, derandomized (the same
examples every run), no shrinking (a failure prints the document as it was sent).
"""

from __future__ import annotations

import asyncio
import base64
import gc
import json
import math
import os
import random
import re
import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from graphql import (
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLUnionType,
    Undefined,
    get_named_type,
    is_leaf_type,
)
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from app.compiled import differential
from app.graphql.schema import schema as served_schema
from app.main import create_app
from app.settings import Settings
from app.state import AppState

SCHEMA = served_schema._schema
# CI runs 300; ISSUEGRAPH_FUZZ_EXAMPLES=3000 for a longer local run (docs/security.md).
EXAMPLES = int(os.environ.get("ISSUEGRAPH_FUZZ_EXAMPLES", "300"))
MAX_DEPTH = 4
# Selection sets that may collect no field (every field skipped, or only fragments on other
# types): graphql-core answers {} for them, and so must the compiled plans.
ALLOW_EMPTY_SELECTIONS = True

# What must never reach a client (checked lower-cased, in every error and every 4xx body).
LEAKS = ("traceback", "sqlalchemy", "asyncpg", 'file "', "/work")


def clean(text: str) -> bool:
    """Generated strings must not contain the leak markers themselves (errors may echo them),
    nor the ``@@`` of our placeholders."""
    lowered = text.lower()
    return "@@" not in text and not any(marker in lowered for marker in LEAKS)


def gid(type_name: str, pk: object) -> str:
    return base64.b64encode(f"{type_name}:{pk}".encode()).decode()


TRICKY_STRINGS = [
    "",
    " ",
    "\x00",
    "nul\x00inside",
    "\ud800",
    "lone \udfff surrogate",
    "'; DROP TABLE issues; --",
    "%_\\",
    "a & b | !c <-> d:* (",
    "🙂" * 50,
    "é" * 201,
    "x" * 201,
    "y" * 70_000,
    "\u202eevil",
    "null",
    "<script>alert(1)</script>",
    "\t\n\r",
    "title,body\nhello,world\n",
    "title,body,status,priority,assignee_email,labels\nA,b,NOPE,HIGH,x@y.z,bug;nope\n",
]
GARBAGE_IDS = [
    "",
    "x",
    "====",
    gid("Issue", 0),
    gid("Issue", -1),
    gid("Issue", 2**63),
    gid("Issue", 10**30),
    gid("Issue", "01"),
    gid("Issue", " 1"),
    gid("Nope", 1),
    gid("Issue", "1:2"),
    base64.b64encode(b"\xff\xfe").decode(),
    base64.b64encode("Issue:١".encode()).decode(),  # an Arabic-Indic digit  # noqa: RUF001
]
HUGE_INTS = [0, -1, 100, 101, 2**31 - 1, -(2**31), 2**31, 2**53, 2**63, -(2**63), 10**30]

TEXT = st.one_of(
    st.text(max_size=30),
    st.text(st.characters(codec="utf-8"), max_size=10),
    st.sampled_from(TRICKY_STRINGS),
).filter(clean)


class EnumValue(str):
    """An enum value: a bare name in a literal, a string in JSON variables."""


@dataclass(frozen=True)
class Pools:
    """Values known only once the data is seeded; examples name them by placeholder."""

    ids: list[str]
    labels: list[str]
    emails: list[str]

    def resolve(self, placeholder: re.Match[str]) -> str:
        pool: list[str] = getattr(self, placeholder[1])
        return pool[int(placeholder[2]) % len(pool)]

    def fill(self, value: Any) -> Any:
        """``value`` (a body, a document, variables) with every placeholder replaced."""
        if isinstance(value, str):
            return PLACEHOLDER.sub(self.resolve, value)
        if isinstance(value, list):
            return [self.fill(v) for v in value]
        if isinstance(value, dict):
            return {k: self.fill(v) for k, v in value.items()}
        return value


PLACEHOLDER = re.compile(r"@@(ids|labels|emails):(\d+)@@")
SLUGS = ["fuzz", "foreign", "nope"]
KEYS = ["FZ", "FO", "ZZ"]
IDENTIFIERS = ["FZ-1", "FZ-3", "FZ-5", "FO-1", "FZ-999", "fz-1", "FZ-0"]


def render(value: Any) -> str:
    """A Python value as a GraphQL literal."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, EnumValue):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else "NaN"
    if isinstance(value, str):
        return json.dumps(value)  # JSON string escapes are GraphQL string escapes
    if isinstance(value, list):
        return "[" + ", ".join(render(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {render(v)}" for k, v in value.items()) + "}"
    raise TypeError(value)


@dataclass
class Builder:
    """Draws one operation from the schema; collects its variables and fragments.

    Drawing happens in hypothesis's engine, outside the event loop; real values appear as
    ``@@pool:n@@`` placeholders that the test fills in once the data is seeded.
    """

    draw: Callable[[st.SearchStrategy[Any]], Any]
    var_defs: list[str] = field(default_factory=list)
    variables: dict[str, Any] = field(default_factory=dict)
    fragments: list[str] = field(default_factory=list)
    aliases: int = 0
    rng: random.Random | None = None

    def placeholder(self, pool: str) -> str:
        return f"@@{pool}:{self.draw(st.integers(0, 99))}@@"

    def chance(self, one_in: int) -> bool:
        """True once in ``one_in``, uniformly (hypothesis's own integers favour their bounds)."""
        if self.rng is None:
            self.rng = self.draw(st.randoms(use_true_random=True))
        return self.rng.random() * one_in < 1

    # -- values ----------------------------------------------------------------------------

    def string(self, hint: str) -> str:
        contextual = {
            "slug": SLUGS,
            "workspaceSlug": SLUGS,
            "key": KEYS,
            "identifier": IDENTIFIERS,
            "color": ["#d73a4a", "#ABCDEF", "red", "#12345"],
        }.get(hint)
        if hint == "email" and not self.chance(4):
            return self.placeholder("emails")
        if contextual and not self.chance(4):
            return str(self.draw(st.sampled_from(contextual)))
        return str(self.draw(TEXT))

    def scalar(self, name: str, hint: str) -> Any:
        if name == "ID":
            if hint == "labelIds" or not self.chance(3):
                return self.placeholder("labels" if hint == "labelIds" else "ids")
            return self.draw(st.one_of(st.sampled_from(GARBAGE_IDS), TEXT))
        if name == "Int":
            return self.draw(st.one_of(st.integers(-3, 120), st.sampled_from(HUGE_INTS)))
        if name == "Float":
            return self.draw(st.floats(allow_nan=True, allow_infinity=True))
        if name == "Boolean":
            return self.draw(st.booleans())
        if name == "String":
            return self.string(hint)
        return self.draw(st.one_of(TEXT, st.integers(), st.none()))  # DateTime, JSON...

    def value(self, type_: GraphQLInputType, hint: str, nullable: bool = True) -> Any:
        if isinstance(type_, GraphQLNonNull):
            if self.chance(50):
                return None  # garbage: null for a non-null
            return self.value(type_.of_type, hint, nullable=False)
        if nullable and self.chance(10):
            return None
        if isinstance(type_, GraphQLList):
            size = self.draw(st.sampled_from([0, 1, 1, 2, 3, 101]))
            if size == 101:
                return [self.value(type_.of_type, hint)] * size
            return [self.value(type_.of_type, hint) for _ in range(size)]
        if isinstance(type_, GraphQLInputObjectType):
            out: dict[str, Any] = {}
            for name, input_field in type_.fields.items():
                required = (
                    isinstance(input_field.type, GraphQLNonNull)
                    and input_field.default_value is Undefined
                )
                if (required and not self.chance(40)) or self.chance(2):
                    out[name] = self.value(input_field.type, name)
            if self.chance(40):
                out["noSuchField"] = 1
            return out
        if isinstance(type_, GraphQLEnumType):
            names = [*type_.values, "NOPE"]
            return EnumValue(self.draw(st.sampled_from(names)))
        return self.scalar(type_.name, hint)

    def arguments(self, args: dict[str, GraphQLArgument]) -> str:
        parts = []
        for name, arg in args.items():
            required = isinstance(arg.type, GraphQLNonNull) and arg.default_value is Undefined
            if required and self.chance(50):
                continue  # garbage: a required argument left out
            if not required and not self.chance(3):
                continue
            value = self.value(arg.type, name)
            if self.chance(3):
                var = f"v{len(self.var_defs)}"
                self.var_defs.append(f"${var}: {arg.type}")
                if value is not None or self.chance(2):
                    self.variables[var] = value
                parts.append(f"{name}: ${var}")
            else:
                parts.append(f"{name}: {render(value)}")
        return f"({', '.join(parts)})" if parts else ""

    # -- directives ------------------------------------------------------------------------

    def directive(self) -> str:
        """Now and then ``@skip``/``@include``: with a literal, a Boolean variable given in
        the variables, or a nullable one left to its default."""
        if not self.chance(5):
            return ""
        name = self.draw(st.sampled_from(["skip", "include"]))
        value = self.draw(st.booleans())
        if self.chance(2):
            return f" @{name}(if: {render(value)})"
        var = f"v{len(self.var_defs)}"
        if self.chance(4):
            self.var_defs.append(f"${var}: Boolean = {render(value)}")
        else:
            self.var_defs.append(f"${var}: Boolean!")
            self.variables[var] = value
        return f" @{name}(if: ${var})"

    def conditional(self, selection: str) -> str:
        """A fragment spread or inline fragment under a directive; with ``__typename`` beside
        it unless selections may end up empty."""
        directive = self.directive()
        if not directive:
            return selection
        spread, _, rest = selection.partition(" {")
        conditional = f"{spread}{directive} {{{rest}" if rest else f"{spread}{directive}"
        return conditional if ALLOW_EMPTY_SELECTIONS else f"__typename {conditional}"

    # -- selections ------------------------------------------------------------------------

    def selection(self, type_: Any, depth: int) -> str:
        if isinstance(type_, GraphQLInterfaceType | GraphQLUnionType):
            parts = ["id"] if isinstance(type_, GraphQLInterfaceType) else ["__typename"]
            # Only fragments on some of the possible types: nothing collected for the others.
            fragments_only = ALLOW_EMPTY_SELECTIONS and self.chance(3)
            if fragments_only:
                parts = []
            possible = list(SCHEMA.get_possible_types(type_))
            chosen = self.draw(
                st.lists(
                    st.sampled_from(possible),
                    min_size=1 if fragments_only else 0,
                    max_size=3,
                    unique_by=lambda t: t.name,
                )
            )
            parts += [
                self.conditional(f"... on {t.name} {{ {self.selection(t, depth)} }}")
                for t in chosen
            ]
            return " ".join(parts)
        assert isinstance(type_, GraphQLObjectType)
        fields: list[tuple[str, GraphQLField]] = [
            (name, f)
            for name, f in type_.fields.items()
            if depth < MAX_DEPTH or is_leaf_type(get_named_type(f.type))
        ]
        if not fields:
            return "__typename"
        chosen = self.draw(
            st.lists(st.sampled_from(fields), min_size=1, max_size=3, unique_by=lambda f: f[0])
        )
        parts = []
        for index, (name, field_def) in enumerate(chosen):
            alias = ""
            if self.chance(7):
                self.aliases += 1
                alias = f"a{self.aliases}: "
            args = self.arguments(field_def.args)
            # The first field stays unconditional: the selection set is never empty.
            directive = "" if index == 0 and not ALLOW_EMPTY_SELECTIONS else self.directive()
            named = get_named_type(field_def.type)
            if is_leaf_type(named):
                parts.append(f"{alias}{name}{args}{directive}")
            else:
                sub = self.selection(named, depth + 1)
                parts.append(f"{alias}{name}{args}{directive} {{ {sub} }}")
        if self.chance(10):
            parts.append("__typename")
        body = " ".join(parts)
        if self.chance(6):
            fragment = f"F{len(self.fragments)}"
            self.fragments.append(f"fragment {fragment} on {type_.name} {{ {body} }}")
            return self.conditional(f"...{fragment}")
        if self.chance(10):
            return self.conditional(f"... on {type_.name} {{ {body} }}")
        return body

    def operation(self) -> tuple[str, dict[str, Any]]:
        kind = "mutation" if self.chance(3) else "query"
        root = SCHEMA.mutation_type if kind == "mutation" else SCHEMA.query_type
        assert root is not None
        body = self.selection(root, 0)
        header = f"{kind} Op({', '.join(self.var_defs)})" if self.var_defs else f"{kind} Op"
        document = "\n".join([f"{header} {{ {body} }}", *self.fragments])
        return document, self.variables


def envelope(builder: Builder, document: str, variables: dict[str, Any]) -> Any:
    """The JSON body: nearly always well formed, now and then not."""
    if builder.chance(40):
        return builder.draw(
            st.sampled_from(
                [
                    {"query": document, "variables": "not an object"},
                    {"query": document, "variables": [1, 2]},
                    {"query": 42},
                    {"query": None},
                    {"query": document, "operationName": "Nope"},
                    {"query": document, "operationName": 7},
                    {"query": document, "extensions": "x"},
                    [],
                    "just a string",
                    7,
                    None,
                ]
            )
        )
    return {"query": document, "variables": variables, "operationName": "Op"}


@st.composite
def requests(draw: Callable[[st.SearchStrategy[Any]], Any]) -> Any:
    """One request body: an operation drawn from the schema, in its (rarely broken) envelope."""
    builder = Builder(draw)
    document, variables = builder.operation()
    return envelope(builder, document, variables)


def leaks(text: str) -> list[str]:
    lowered = text.lower()
    return [marker for marker in LEAKS if marker in lowered]


# -- the seeded world ------------------------------------------------------------------------


@dataclass(frozen=True)
class Fuzzing:
    client: httpx.AsyncClient
    headers: dict[str, str]
    pools: Pools


async def gql(
    client: httpx.AsyncClient, person: Any, query: str, variables: dict[str, Any]
) -> dict[str, Any]:
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables}, headers=person.headers
    )
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    [payload] = body["data"].values()
    assert not payload.get("userErrors"), payload
    result: dict[str, Any] = payload
    return result


async def seed(client: httpx.AsyncClient, person: Any, slug: str, key: str) -> dict[str, Any]:
    """A workspace with a project, three labels, five issues and a comment on each."""
    errors = "userErrors { field message code }"

    async def create(name: str, input_: dict[str, Any], fields: str) -> dict[str, Any]:
        type_name = name[0].upper() + name[1:] + "Input"
        return await gql(
            client,
            person,
            f"mutation($i: {type_name}!) {{ {name}(input: $i) {{ {fields} {errors} }} }}",
            {"i": input_},
        )

    ws = (await create("createWorkspace", {"slug": slug, "name": slug}, "workspace { id }"))[
        "workspace"
    ]["id"]
    project = (
        await create(
            "createProject", {"workspaceId": ws, "key": key, "name": key}, "project { id }"
        )
    )["project"]["id"]
    labels = [
        (
            await create(
                "createLabel",
                {"workspaceId": ws, "name": name, "color": "#d73a4a"},
                "label { id }",
            )
        )["label"]["id"]
        for name in ("bug", "ui", "ops")
    ]
    issues, comments = [], []
    for n in range(5):
        issue = (
            await create(
                "createIssue",
                {
                    "projectId": project,
                    "title": f"Issue {n} ünïcode",
                    "body": "body text",
                    "labelIds": labels[: n % 3 + 1],
                    "status": ["BACKLOG", "TODO", "IN_PROGRESS", "DONE", "CANCELED"][n],
                },
                "issue { id identifier }",
            )
        )["issue"]
        issues.append(issue)
        comments.append(
            (
                await create(
                    "addComment", {"issueId": issue["id"], "body": f"comment {n}"}, "comment { id }"
                )
            )["comment"]["id"]
        )
    job = (await create("exportProject", {"projectId": project, "format": "CSV"}, "job { id }"))[
        "job"
    ]["id"]
    return {
        "ids": [ws, project, *labels, *(i["id"] for i in issues), *comments, job],
        "labels": labels,
        "identifiers": [i["identifier"] for i in issues],
    }


@pytest.fixture
async def fuzzing(settings: Settings, make_person: Any) -> AsyncIterator[Fuzzing]:
    """An app of its own: a private job queue, and a rate-limit budget never spent."""
    app = create_app(
        settings.model_copy(
            update={
                "queue_name": f"issuegraph-test-fuzz:{secrets.token_hex(4)}",
                "rate_limit_points_per_hour": 10**9,
            }
        )
    )
    async with app.router.lifespan_context(app):
        state: AppState = app.state.issuegraph
        assert state.rate_limiter is not None
        assert state.rate_limiter.limit == 10**9
        # An exception escaping the app is what a real server turns into a 500: make it one.
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            owner, stranger = await make_person("Fuzz Owner"), await make_person("Stranger")
            mine = await seed(client, owner, "fuzz", "FZ")
            theirs = await seed(client, stranger, "foreign", "FO")
            me = (
                await client.post(
                    "/graphql", json={"query": "{ viewer { id } }"}, headers=owner.headers
                )
            ).json()["data"]["viewer"]["id"]
            assert mine["identifiers"][0] == "FZ-1"
            pools = Pools(
                ids=[*mine["ids"], *theirs["ids"][:3], me],
                labels=[*mine["labels"], theirs["labels"][0]],
                emails=[owner.email, stranger.email, "nobody@example.com"],
            )
            yield Fuzzing(client, owner.headers, pools)


@hypothesis_settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
@given(request=requests())
async def test_random_operations_never_fail_on_the_server(fuzzing: Fuzzing, request: Any) -> None:
    payload = fuzzing.pools.fill(request)
    response = await fuzzing.client.post(
        "/graphql",
        # Our own encoding: lone surrogates escaped and NaN kept, as a hostile client may send.
        content=json.dumps(payload).encode(),
        headers={**fuzzing.headers, "Content-Type": "application/json"},
    )
    sent = json.dumps(payload)[:3000]
    problems = []
    # The two executors must have answered alike (the record is reset for the next example:
    # the conftest fixture only looks at it once the whole test is over).
    differences = list(differential.RECORD.differences)
    differential.RECORD.reset()
    for difference in differences:
        problems.append(
            "compiled and graphql-core executors differ:\n"
            f"  document: {difference.query}\n  variables: {difference.variables}\n"
            f"  compiled: {difference.compiled}\n  graphql-core: {difference.reference}"
        )
    if response.status_code >= 500:
        problems.append(f"HTTP {response.status_code}: {response.text[:500]}")
    elif response.status_code >= 400:
        if leaks(response.text):
            problems.append(f"{leaks(response.text)} leaked: {response.text[:500]}")
    elif response.headers["content-type"].startswith("application/json"):
        bodies = response.json()
        for body in bodies if isinstance(bodies, list) else [bodies]:
            for error in body.get("errors") or []:
                text = json.dumps(error)
                if error.get("message") == "Unexpected error.":
                    problems.append(f"masked server error: {text}")
                elif leaks(text):
                    problems.append(f"{leaks(text)} leaked: {text}")
    if problems:
        # Finalize what the failure left behind (asyncio's "exception was never retrieved"
        # log) now, not while pytest parses sources to report it: see test_limits.settle.
        await asyncio.sleep(0.05)
        gc.collect()
    assert not problems, f"for {sent}\n" + "\n".join(problems)
