"""Static query limits (issue #4, part 1): just under a bound passes, just over is refused.

Depth 15, aliases 30, tokens 5,000, body 12 MB, batches of 10, input strings and input lists,
all with the defaults of ``Settings`` (the session ``app``). Also the classic attacks on them:
depth bombs through fragments, alias floods, fragment cycles, fragment fan-out, huge ``first``
on nested connections and batches of many operations.
"""

from __future__ import annotations

import asyncio
import gc
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from graphql import Lexer, Source, TokenKind

from app.settings import Settings

DEFAULTS = Settings()

# -- plumbing --------------------------------------------------------------------------------


async def post(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    person: Any = None,
) -> httpx.Response:
    return await client.post(
        "/graphql",
        json={"query": query, "variables": variables or {}},
        headers=person.headers if person is not None else {},
    )


async def settle() -> None:
    """Let a failed request's leftovers finish and be finalized now, before pytest reports.

    A failed loader batch can leave a future whose exception is never retrieved (its batch
    task ends after the response); asyncio logs it, with a formatted traceback, when the
    future is garbage collected. If that happens in the middle of pytest parsing a source
    file (to report a failure, or to rewrite a lazily imported module), CPython 3.11.7's AST
    recursion bookkeeping (gh-106905) breaks and the whole run ends in INTERNALERROR.
    """
    await asyncio.sleep(0.05)
    gc.collect()


def codes(body: dict[str, Any]) -> list[str | None]:
    return [(e.get("extensions") or {}).get("code") for e in body.get("errors", [])]


def assert_refused(response: httpx.Response, code: str) -> dict[str, Any]:
    """A GraphQL refusal with ``code`` and nothing executed."""
    body: dict[str, Any] = response.json()
    assert code in codes(body), body
    assert body.get("data") is None, body
    assert "Unexpected error." not in response.text
    return body


def assert_ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    return body


async def mutate(
    client: httpx.AsyncClient, person: Any, name: str, input_: dict[str, Any], fields: str
) -> dict[str, Any]:
    """``name(input: $input) { <fields> userErrors { field message code } }``: the payload."""
    type_name = name[0].upper() + name[1:] + "Input"
    response = await post(
        client,
        f"mutation($input: {type_name}!) {{ {name}(input: $input) "
        f"{{ {fields} userErrors {{ field message code }} }} }}",
        {"input": input_},
        person,
    )
    body = assert_ok(response)
    payload: dict[str, Any] = body["data"][name]
    return payload


@dataclass(frozen=True)
class World:
    person: Any
    slug: str
    workspace: str
    project: str
    label: str
    issue: str


@pytest.fixture
async def world(client: httpx.AsyncClient, make_person: Any) -> World:
    """A workspace with a project, a label, an issue carrying it and a comment on it."""
    owner = await make_person("Limit Owner")
    ws = await mutate(
        client, owner, "createWorkspace", {"slug": "limits", "name": "Limits"}, "workspace { id }"
    )
    workspace = ws["workspace"]["id"]
    project = (
        await mutate(
            client,
            owner,
            "createProject",
            {"workspaceId": workspace, "key": "LIM", "name": "Limits"},
            "project { id }",
        )
    )["project"]["id"]
    label = (
        await mutate(
            client,
            owner,
            "createLabel",
            {"workspaceId": workspace, "name": "bug", "color": "#d73a4a"},
            "label { id }",
        )
    )["label"]["id"]
    issue = (
        await mutate(
            client,
            owner,
            "createIssue",
            {"projectId": project, "title": "Deep", "labelIds": [label]},
            "issue { id }",
        )
    )["issue"]["id"]
    await mutate(client, owner, "addComment", {"issueId": issue, "body": "hi"}, "comment { id }")
    return World(owner, "limits", workspace, project, label, issue)


# -- depth -----------------------------------------------------------------------------------

# One turn of a cycle through the schema, from a Workspace back to a Workspace, and for each
# step the leaf that ends a selection there.
_CYCLE = ("projects(first: 1)", "edges", "node", "workspace")
_LEAF_AFTER = {"projects(first: 1)": "totalCount", "edges": "cursor", "node": "key"}


def chain(depth: int) -> str:
    """A query whose deepest field is at ``depth`` as strawberry counts it (the root field is 0).

    ``workspace(slug: $slug)`` is depth 0, then the cycle projects > edges > node > workspace
    repeats; the leaf at ``depth`` is whatever scalar ends the type reached.
    """
    fields = ["workspace(slug: $slug)"]
    for n in range(depth - 1):
        fields.append(_CYCLE[n % len(_CYCLE)])
    last = fields[-1]
    leaf = _LEAF_AFTER.get(last, "name")
    body = leaf
    for field in reversed(fields):
        body = f"{field} {{ {body} }}"
    return f"query Deep($slug: String!) {{ {body} }}"


REALISTIC_DEPTH_11 = """
query Realistic($slug: String!) {
  workspace(slug: $slug) {                          # 0
    projects(first: 5) {                            # 1
      edges {                                       # 2
        node {                                      # 3
          issues(first: 10) {                       # 4
            edges {                                 # 5
              node {                                # 6
                title
                comments(first: 10) {               # 7
                  edges {                           # 8
                    node {                          # 9
                      body
                      author {                      # 10
                        name                        # 11
                      }
                    }
                  }
                }
              }
            }
          }
        }
      }
    }
  }
}
"""


async def test_the_realistic_depth_11_read_passes(client: httpx.AsyncClient, world: World) -> None:
    body = assert_ok(await post(client, REALISTIC_DEPTH_11, {"slug": world.slug}, world.person))
    [project] = body["data"]["workspace"]["projects"]["edges"]
    [issue] = project["node"]["issues"]["edges"]
    [comment] = issue["node"]["comments"]["edges"]
    assert comment["node"]["author"]["name"] == "Limit Owner"


async def test_depth_at_the_limit_passes_one_over_is_refused(
    client: httpx.AsyncClient, world: World
) -> None:
    limit = DEFAULTS.max_query_depth
    assert limit == 15
    at_limit = assert_ok(await post(client, chain(limit), {"slug": world.slug}, world.person))
    assert at_limit["data"]["workspace"]["projects"] is not None

    body = assert_refused(
        await post(client, chain(limit + 1), {"slug": world.slug}, world.person), "QUERY_TOO_DEEP"
    )
    assert "exceeds maximum operation depth of 15" in body["errors"][0]["message"]


async def test_depth_is_refused_before_authentication(client: httpx.AsyncClient) -> None:
    """A limit is a validation rule: no token needed to be told, and no 401 either."""
    response = await post(client, chain(40), {"slug": "x"})
    assert response.status_code == 200
    assert_refused(response, "QUERY_TOO_DEEP")


async def test_depth_bomb_through_named_fragments_is_refused(
    client: httpx.AsyncClient, world: World
) -> None:
    # Every fragment is shallow (4 levels) but they nest: 1 + 6 * 4 levels in all.
    fragments = [
        f"fragment F{n} on Workspace {{ projects(first: 1) {{ edges {{ node {{ "
        f"workspace {{ ...F{n + 1} }} }} }} }} }}"
        for n in range(6)
    ]
    fragments.append("fragment F6 on Workspace { name }")
    query = 'query Bomb { workspace(slug: "limits") { ...F0 } }\n' + "\n".join(fragments)
    assert_refused(await post(client, query, person=world.person), "QUERY_TOO_DEEP")


async def test_depth_bomb_through_inline_fragments_on_node_is_refused(
    client: httpx.AsyncClient, world: World
) -> None:
    inner = "name"
    for _ in range(5):
        inner = (
            "... on Workspace { projects(first: 1) { edges { node { "
            f"... on Node {{ ... on Project {{ workspace {{ {inner} }} }} }} }} }} }} }}"
        )
    query = f'{{ node(id: "{world.workspace}") {{ {inner} }} }}'
    assert_refused(await post(client, query, person=world.person), "QUERY_TOO_DEEP")


# -- fragments -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (
            'query { workspace(slug: "limits") { ...A } }\n'
            "fragment A on Workspace { projects { edges { node { workspace { ...A } } } } }",
            "Cannot spread fragment 'A' within itself.",
        ),
        (
            'query { workspace(slug: "limits") { ...A } }\n'
            "fragment A on Workspace { name ...B }\n"
            "fragment B on Workspace { slug ...A }",
            "Cannot spread fragment 'A' within itself via 'B'.",
        ),
        (
            # A cycle through a fragment the operation never spreads still fails validation.
            'query { workspace(slug: "limits") { name } }\nfragment A on Workspace { ...A }',
            "Cannot spread fragment 'A' within itself.",
        ),
    ],
    ids=["self", "mutual", "unused"],
)
async def test_fragment_cycles_are_a_validation_error_not_a_crash(
    client: httpx.AsyncClient, world: World, document: str, message: str
) -> None:
    for person in (world.person, None):
        response = await post(client, document, person=person)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body.get("data") is None, body
        messages = [e["message"] for e in body["errors"]]
        assert message in messages, body
        assert "Unexpected error." not in response.text


def fan_out(levels: int) -> str:
    """``F{n}`` spreads ``F{n-1}`` twice: 2**levels expansions from ~12 tokens per level."""
    fragments = ["fragment F0 on Workspace { name }"]
    fragments += [
        f"fragment F{n} on Workspace {{ ...F{n - 1} slug ...F{n - 1} }}"
        for n in range(1, levels + 1)
    ]
    return f'query FanOut {{ workspace(slug: "limits") {{ ...F{levels} }} }}\n' + "\n".join(
        fragments
    )


async def test_fragment_fan_out_is_answered_quickly(
    client: httpx.AsyncClient, world: World
) -> None:
    """A small document naming 2**17 fragment expansions must not cost seconds of CPU.

    The limit rules and the cost estimate may not walk a fragment again at every spread:
    17 levels are ~220 tokens, far under the token limit, and each extra level doubles a
    per-spread walk (validation runs before the auth gate, so anyone can send this). Valid
    GraphQL (the fields merge), so it runs; with memoized walks it takes milliseconds.
    """
    timings = {}
    for levels in (13, 17):
        started = time.perf_counter()
        response = await post(client, fan_out(levels), person=world.person)
        timings[levels] = round(time.perf_counter() - started, 3)
        assert response.status_code == 200, response.text
        assert "Unexpected error." not in response.text
    # 16 times the expansions: an exponential walk takes ~16 times as long; a memoized one
    # about as long (either way, a loaded machine may slow both).
    exponential = timings[17] > 0.5 and timings[17] > 4 * timings[13]
    assert not exponential, f"seconds to answer, by levels of fan-out: {timings}"


# -- aliases ---------------------------------------------------------------------------------


def aliased(count: int) -> str:
    return "{ " + " ".join(f"a{n}: viewer {{ id }}" for n in range(count)) + " }"


async def test_aliases_at_the_limit_pass_one_over_is_refused(
    client: httpx.AsyncClient, world: World
) -> None:
    limit = DEFAULTS.max_aliases
    assert limit == 30
    body = assert_ok(await post(client, aliased(limit), person=world.person))
    assert len(body["data"]) == limit
    refused = assert_refused(
        await post(client, aliased(limit + 1), person=world.person), "TOO_MANY_ALIASES"
    )
    assert "31 aliases found. Allowed: 30" in refused["errors"][0]["message"]


async def test_alias_flood_is_refused(client: httpx.AsyncClient, world: World) -> None:
    # 400 aliases of an expensive field, still under the token limit.
    query = "{ " + " ".join(f"w{n}: workspaces(first: 100) {{ totalCount }}" for n in range(400))
    query += " }"
    assert_refused(await post(client, query, person=world.person), "TOO_MANY_ALIASES")
    flood = "{ " + " ".join(f"t{n}: __typename" for n in range(1_500)) + " }"
    assert_refused(await post(client, flood), "TOO_MANY_ALIASES")


async def test_aliases_hidden_in_a_fragment_spread_twice_count_twice(
    client: httpx.AsyncClient, world: World
) -> None:
    fragment = "fragment Many on Query { " + " ".join(f"a{n}: viewer {{ id }}" for n in range(16))
    fragment += " }"
    query = "query { ...Many ... on Query { ...Many } }\n" + fragment
    assert_refused(await post(client, query, person=world.person), "TOO_MANY_ALIASES")


# -- tokens ----------------------------------------------------------------------------------


def lexical_tokens(document: str) -> int:
    """Tokens as graphql-core's lexer yields them (no SOF/EOF, no comments)."""
    lexer = Lexer(Source(document))
    count = 0
    while lexer.advance().kind != TokenKind.EOF:
        count += 1
    return count


def with_tokens(total: int) -> str:
    """A valid query of exactly ``total`` tokens: a long enum list in a filter.

    The project does not exist, so it reads as null without running the filter.
    """
    head = 'query { project(workspaceSlug: "nope", key: "NOPE") { issues(filter: {status: ['
    tail = "]}) { totalCount } } }"
    fixed = lexical_tokens(head + tail)
    document = head + " ".join(["TODO"] * (total - fixed)) + tail
    assert lexical_tokens(document) == total
    return document


async def test_tokens_at_the_limit_pass_one_over_is_refused(
    client: httpx.AsyncClient, world: World
) -> None:
    limit = DEFAULTS.max_tokens
    assert limit == 5_000
    body = assert_ok(await post(client, with_tokens(limit), person=world.person))
    assert body["data"] == {"project": None}
    refused = assert_refused(
        await post(client, with_tokens(limit + 1), person=world.person), "TOO_MANY_TOKENS"
    )
    assert "more than 5000 tokens" in refused["errors"][0]["message"]


async def test_a_flood_of_comments_counts_as_tokens(client: httpx.AsyncClient) -> None:
    document = "{ __typename }\n" + "#\n" * 100_000
    assert_refused(await post(client, document), "TOO_MANY_TOKENS")


# -- request body ----------------------------------------------------------------------------


def body_of_size(size: int) -> bytes:
    """A JSON GraphQL request of exactly ``size`` bytes (padding in an unused variable)."""
    empty = json.dumps({"query": "{ viewer { id } }", "variables": {"pad": ""}}).encode()
    padded = json.dumps(
        {"query": "{ viewer { id } }", "variables": {"pad": "x" * (size - len(empty))}}
    ).encode()
    assert len(padded) == size
    return padded


async def test_body_at_the_limit_passes_one_byte_over_is_413(
    client: httpx.AsyncClient, world: World
) -> None:
    limit = DEFAULTS.max_body_bytes
    assert limit == 12 * 1024 * 1024
    headers = {**world.person.headers, "Content-Type": "application/json"}
    ok = await client.post("/graphql", content=body_of_size(limit), headers=headers)
    assert_ok(ok)

    over = await client.post("/graphql", content=body_of_size(limit + 1), headers=headers)
    assert over.status_code == 413, over.text[:300]
    assert over.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"


async def test_streamed_body_over_the_limit_is_413(client: httpx.AsyncClient, world: World) -> None:
    """No Content-Length (chunked): the limit is counted as the body arrives."""
    limit = DEFAULTS.max_body_bytes
    chunk = b" " * (1024 * 1024)

    async def stream() -> AsyncIterator[bytes]:
        yield b'{"query": "{ viewer { id } }", "pad": "'
        for _ in range(limit // len(chunk) + 1):
            yield chunk
        yield b'"}'

    response = await client.post(
        "/graphql",
        content=stream(),
        headers={**world.person.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 413, response.text[:300]
    assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"


# -- batches ---------------------------------------------------------------------------------


async def test_batch_at_the_limit_passes_one_over_is_400(
    client: httpx.AsyncClient, world: World
) -> None:
    limit = DEFAULTS.max_batch_operations
    assert limit == 10
    operations = [{"query": f"query Q{n} {{ viewer {{ name }} }}"} for n in range(limit)]
    response = await client.post("/graphql", json=operations, headers=world.person.headers)
    assert response.status_code == 200, response.text
    results = response.json()
    assert [r["data"]["viewer"]["name"] for r in results] == ["Limit Owner"] * limit

    response = await client.post(
        "/graphql", json=[*operations, operations[0]], headers=world.person.headers
    )
    assert response.status_code == 400, response.text
    assert "Too many operations" in response.text


async def test_a_batch_of_many_mutations_is_refused_whole(
    client: httpx.AsyncClient, world: World
) -> None:
    """1,000 operations in one body: 400, and not one of them ran."""
    operations = [
        {
            "query": "mutation($input: CreateWorkspaceInput!) "
            "{ createWorkspace(input: $input) { workspace { id } } }",
            "variables": {"input": {"slug": f"batch-{n}", "name": f"Batch {n}"}},
        }
        for n in range(1_000)
    ]
    response = await client.post("/graphql", json=operations, headers=world.person.headers)
    assert response.status_code == 400, response.text[:300]
    body = assert_ok(
        await post(client, "{ workspaces(first: 100) { totalCount } }", person=world.person)
    )
    assert body["data"]["workspaces"]["totalCount"] == 1


# -- page sizes on nested connections --------------------------------------------------------

NESTED = """
query($a: Int, $b: Int, $c: Int) {
  workspaces(first: $a) { edges { node {
    projects(first: $b) { edges { node {
      issues(first: $c) { edges { node { id } } }
    } } }
  } } }
}
"""


@pytest.mark.parametrize("first", [100, 1_000_000, 2_147_483_647])
async def test_huge_first_on_nested_connections_is_too_costly(
    client: httpx.AsyncClient, world: World, first: int
) -> None:
    """Over 100 is counted as 100 (the resolvers refuse it anyway): 100 + 100**2 + 100**3."""
    response = await post(client, NESTED, {"a": first, "b": first, "c": first}, world.person)
    body = assert_refused(response, "QUERY_TOO_COSTLY")
    assert body["errors"][0]["extensions"]["cost"] == 100 + 100 * 100 + 100 * 100 * 100


@pytest.mark.parametrize("first", [101, 1_000_000, -1])
async def test_out_of_range_first_on_a_cheap_query_is_bad_user_input(
    client: httpx.AsyncClient, world: World, first: int
) -> None:
    body = (await post(client, NESTED, {"a": first, "b": 1, "c": 1}, world.person)).json()
    assert codes(body) == ["BAD_USER_INPUT"], body
    assert "between 0 and 100" in body["errors"][0]["message"]


async def test_first_beyond_32_bits_in_a_literal_is_a_validation_error(
    client: httpx.AsyncClient,
) -> None:
    body = (await post(client, "{ workspaces(first: 99999999999) { totalCount } }")).json()
    assert body.get("data") is None
    assert "Int cannot represent non 32-bit signed integer" in body["errors"][0]["message"]


@pytest.mark.parametrize("value", [2**31, 2**40, -(2**63), 10**30])
async def test_first_beyond_32_bits_in_a_variable_is_a_clear_coercion_error(
    client: httpx.AsyncClient, world: World, value: int
) -> None:
    """An ordinary client error (graphql-core's variable coercion), not a masked server error."""
    response = await post(client, NESTED, {"a": value}, world.person)
    assert response.status_code == 200
    body = response.json()
    assert body.get("data") is None
    [error] = body["errors"]
    assert error["message"] != "Unexpected error.", body
    assert "Int cannot represent non 32-bit signed integer" in error["message"], body


# -- input strings ---------------------------------------------------------------------------


async def user_errors(
    client: httpx.AsyncClient, person: Any, name: str, input_: dict[str, Any]
) -> list[dict[str, Any]]:
    payload = await mutate(client, person, name, input_, "")
    errors: list[dict[str, Any]] = payload["userErrors"]
    return errors


def invalid(field: str) -> list[dict[str, Any]]:
    return [{"field": ["input", field], "code": "INVALID"}]


def without_message(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"field": e["field"], "code": e["code"]} for e in errors]


async def test_input_strings_at_their_limit_pass_one_over_is_invalid(
    client: httpx.AsyncClient, world: World
) -> None:
    person, ws, project, issue = world.person, world.workspace, world.project, world.issue
    name_200, name_201 = "n" * 200, "n" * 201
    body_max, body_over = "b" * 65_536, "b" * 65_537
    cases: list[tuple[str, dict[str, Any], str | None]] = [
        ("createWorkspace", {"slug": "w" * 40, "name": name_200}, None),
        ("createWorkspace", {"slug": "w2", "name": name_201}, "name"),
        ("createWorkspace", {"slug": "w" * 41, "name": "ok"}, "slug"),
        ("createWorkspace", {"slug": "Upper", "name": "ok"}, "slug"),
        ("createWorkspace", {"slug": "-dash", "name": "ok"}, "slug"),
        ("createProject", {"workspaceId": ws, "key": "AB", "name": name_200}, None),
        ("createProject", {"workspaceId": ws, "key": "ABCDEFGHIJ", "name": "ok"}, None),
        ("createProject", {"workspaceId": ws, "key": "ABCDEFGHIJK", "name": "ok"}, "key"),
        ("createProject", {"workspaceId": ws, "key": "A", "name": "ok"}, "key"),
        ("createProject", {"workspaceId": ws, "key": "lower", "name": "ok"}, "key"),
        ("createProject", {"workspaceId": ws, "key": "NAMED", "name": name_201}, "name"),
        ("createLabel", {"workspaceId": ws, "name": name_200, "color": "#000000"}, None),
        ("createLabel", {"workspaceId": ws, "name": name_201, "color": "#000000"}, "name"),
        ("createIssue", {"projectId": project, "title": name_200, "body": body_max}, None),
        ("createIssue", {"projectId": project, "title": name_201}, "title"),
        ("createIssue", {"projectId": project, "title": "ok", "body": body_over}, "body"),
        ("updateIssue", {"id": issue, "title": name_201}, "title"),
        ("updateIssue", {"id": issue, "body": body_over}, "body"),
        ("addComment", {"issueId": issue, "body": body_max}, None),
        ("addComment", {"issueId": issue, "body": body_over}, "body"),
    ]
    failures = []
    for name, input_, field in cases:
        errors = without_message(await user_errors(client, person, name, input_))
        expected = invalid(field) if field else []
        if errors != expected:
            failures.append((name, {k: str(v)[:20] for k, v in input_.items()}, errors))
    assert failures == []


@pytest.mark.parametrize("argument", ["filter.search", "searchIssues.query"])
async def test_search_strings_over_200_are_bad_user_input(
    client: httpx.AsyncClient, world: World, argument: str
) -> None:
    if argument == "filter.search":
        query = (
            'query($s: String) { project(workspaceSlug: "limits", key: "LIM") '
            "{ issues(filter: {search: $s}) { totalCount } } }"
        )
    else:
        query = (
            'query($s: String!) { searchIssues(workspaceSlug: "limits", query: $s) { totalCount } }'
        )
    assert_ok(await post(client, query, {"s": "s" * 200}, world.person))
    body = (await post(client, query, {"s": "s" * 201}, world.person)).json()
    assert codes(body) == ["BAD_USER_INPUT"], body
    assert argument.split(".")[-1] in body["errors"][0]["message"]


UNSTORABLE = {
    "nul": "nul\x00inside",
    "only-nul": "\x00",
    "surrogate": "lone \ud800 surrogate",
    "only-surrogate": "\udfff",
}
UNSTORABLE_OPERATIONS: dict[str, tuple[str, Callable[[World, str], dict[str, Any]]]] = {
    "createWorkspace": (
        "mutation($i: CreateWorkspaceInput!) { createWorkspace(input: $i) "
        "{ workspace { id } userErrors { field code } } }",
        lambda world, value: {"i": {"slug": "nul", "name": value}},
    ),
    "createIssue": (
        "mutation($i: CreateIssueInput!) { createIssue(input: $i) "
        "{ issue { id } userErrors { field code } } }",
        lambda world, value: {"i": {"projectId": world.project, "title": "ok", "body": value}},
    ),
    "workspace": (
        "query($s: String!) { workspace(slug: $s) { id } }",
        lambda world, value: {"s": value},
    ),
    "issues-search": (
        'query($s: String) { project(workspaceSlug: "limits", key: "LIM") '
        "{ issues(filter: {search: $s}) { totalCount } } }",
        lambda world, value: {"s": value},
    ),
}


@pytest.mark.parametrize("value", UNSTORABLE.values(), ids=UNSTORABLE.keys())
@pytest.mark.parametrize("operation", UNSTORABLE_OPERATIONS.keys())
async def test_strings_postgres_cannot_store_are_refused_cleanly(
    app: Any, world: World, operation: str, value: str
) -> None:
    """NUL and unpaired surrogates (valid JSON escapes) cannot reach PostgreSQL text.

    Either way of saying no is fine (a userError, or a GraphQL error with a code); a masked
    "Unexpected error." or an exception out of the app (a 500) is not.
    """
    query, variables = UNSTORABLE_OPERATIONS[operation]
    # json.dumps escapes a lone surrogate as \\udXXX, as a hostile client may send it.
    content = json.dumps({"query": query, "variables": variables(world, value)}).encode()
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as raw:
        response = await raw.post(
            "/graphql",
            content=content,
            headers={**world.person.headers, "Content-Type": "application/json"},
        )
    await settle()
    assert response.status_code < 500, response.text[:300]
    assert "Unexpected error." not in response.text, response.text[:300]


# -- input lists -----------------------------------------------------------------------------


async def test_label_ids_in_mutations_over_100_are_invalid(
    client: httpx.AsyncClient, world: World
) -> None:
    limit = DEFAULTS.max_input_list
    assert limit == 100
    person, label = world.person, world.label
    create = {"projectId": world.project, "title": "Labelled"}
    assert (
        await user_errors(client, person, "createIssue", {**create, "labelIds": [label] * 100})
        == []
    )
    errors = await user_errors(client, person, "createIssue", {**create, "labelIds": [label] * 101})
    assert without_message(errors) == invalid("labelIds")

    update = {"id": world.issue}
    assert (
        await user_errors(client, person, "updateIssue", {**update, "labelIds": [label] * 100})
        == []
    )
    errors = await user_errors(client, person, "updateIssue", {**update, "labelIds": [label] * 101})
    assert without_message(errors) == invalid("labelIds")


async def test_nodes_ids_over_100_is_bad_user_input(
    client: httpx.AsyncClient, world: World
) -> None:
    query = "query($ids: [ID!]!) { nodes(ids: $ids) { id } }"
    body = assert_ok(await post(client, query, {"ids": [world.issue] * 100}, world.person))
    assert body["data"]["nodes"] == [{"id": world.issue}] * 100
    body = (await post(client, query, {"ids": [world.issue] * 101}, world.person)).json()
    assert codes(body) == ["BAD_USER_INPUT"], body
    assert "at most 100" in body["errors"][0]["message"]


async def test_filter_label_ids_over_100_is_bad_user_input(
    client: httpx.AsyncClient, world: World
) -> None:
    query = (
        'query($ids: [ID!]) { project(workspaceSlug: "limits", key: "LIM") '
        "{ issues(filter: {labelIds: $ids}) { totalCount } } }"
    )
    body = assert_ok(await post(client, query, {"ids": [world.label] * 100}, world.person))
    assert body["data"]["project"]["issues"]["totalCount"] == 1
    body = (await post(client, query, {"ids": [world.label] * 101}, world.person)).json()
    assert codes(body) == ["BAD_USER_INPUT"], body
    assert "filter.labelIds" in body["errors"][0]["message"]
