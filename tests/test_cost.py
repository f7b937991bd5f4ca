"""The query cost budget (issue #4, part 2): `estimate_nodes` on the served schema, and the
QUERY_TOO_COSTLY refusal over HTTP.

Each named case states its estimate as the arithmetic a reader can check: every connection
counts its page size (``first``/``last``, else 20, at most 100) times the page sizes of the
connections above it; a plain list of objects (``Issue.labels``, ``userErrors``...) counts by
its cap (100), ``nodes(ids:)`` by the number of ids; every fragment branch counts.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from graphql import parse

from app.graphql.document_facts import operation_of
from app.graphql.schema import schema as served_schema
from app.main import create_app
from app.policy.cost import CostRules, estimate_nodes
from app.settings import Settings

RULES = CostRules()  # the defaults, which are the settings' defaults
LIMIT = Settings().max_query_cost


def estimate(
    document: str, variables: dict[str, Any] | None = None, operation_name: str | None = None
) -> int:
    operation, fragments = operation_of(parse(document), operation_name)
    assert operation is not None
    return estimate_nodes(served_schema._schema, operation, fragments, variables or {}, RULES)


NESTED_3 = """
query($a: Int, $b: Int, $c: Int) {
  workspaces(first: $a) { edges { node {
    projects(first: $b) { edges { node {
      issues(first: $c) { edges { node { id } } }
    } } }
  } } }
}
"""

CASES = [
    pytest.param(
        "{ workspaces { edges { node { id } } } }",
        None,
        20,  # the default page size
        id="default-page-size",
    ),
    pytest.param(
        """{ workspaces(first: 50) { edges { node {
             projects(first: 5) { totalCount }
             labels(first: 100) { edges { node { name } } }
           } } } }""",
        None,
        50 + 50 * 5 + 50 * 100,
        id="siblings-multiply-by-their-parent",
    ),
    pytest.param(
        """{ workspaces(first: 50) { edges { node {
             projects(first: 5) { edges { node {
               issues(first: 10) { edges { node {
                 labels { id }
                 comments { totalCount }
               } } }
             } } }
           } } } }""",
        None,
        # workspaces, projects, issues, labels (cap 100), comments (default 20)
        50 + 50 * 5 + 50 * 5 * 10 + 50 * 5 * 10 * 100 + 50 * 5 * 10 * 20,
        id="nested-connections-and-labels",
    ),
    pytest.param("{ workspaces(last: 7) { edges { cursor } } }", None, 7, id="last"),
    pytest.param(
        "{ workspaces(first: 3, last: 9) { totalCount } }", None, 9, id="first-and-last-max"
    ),
    pytest.param(
        """{ workspaces(first: 1000) { edges { node {
             projects(first: 500) { totalCount } } } } }""",
        None,
        100 + 100 * 100,  # over 100 counts as 100
        id="over-max-counts-as-max",
    ),
    pytest.param(
        "{ workspaces(first: -5) { edges { node { projects { totalCount } } } } }",
        None,
        0 + 0 * 20,
        id="negative-first-counts-zero",
    ),
    pytest.param("{ workspaces(first: 0) { totalCount } }", None, 0, id="first-zero"),
    pytest.param(
        "{ workspaces(first: 10) { totalCount pageInfo { hasNextPage endCursor } } }",
        None,
        10,  # pageInfo and totalCount are not nodes
        id="page-info-is-free",
    ),
    pytest.param(NESTED_3, {"a": 10, "b": 30, "c": 2}, 10 + 10 * 30 + 10 * 30 * 2, id="variables"),
    pytest.param(NESTED_3, {}, 20 + 20 * 20 + 20 * 20 * 20, id="absent-variables-default"),
    pytest.param(
        NESTED_3,
        {"a": None, "b": 5, "c": None},
        20 + 20 * 5 + 20 * 5 * 20,
        id="null-variables-default",
    ),
    pytest.param(
        NESTED_3,
        {"a": 100.0, "b": 100.0, "c": 1e2},
        # GraphQL's Int accepts an integral float: the resolvers get first=100
        100 + 100 * 100 + 100 * 100 * 100,
        id="integral-float-variables",
    ),
    pytest.param(
        NESTED_3.replace("$a: Int, $b: Int, $c: Int", "$a: Int = 100, $b: Int = 100, $c: Int = 3"),
        {},
        # variable defaults from the document are what the resolvers get
        100 + 100 * 100 + 100 * 100 * 3,
        id="variable-default-values",
    ),
    pytest.param(
        """query { workspaces(first: 10) { edges { node { ...WS } } } }
           fragment WS on Workspace { projects(first: 4) { edges { node { ...P } } } }
           fragment P on Project { issues(first: 5) { edges { node { id labels { name } } } } }""",
        None,
        10 + 10 * 4 + 10 * 4 * 5 + 10 * 4 * 5 * 100,
        id="nested-named-fragments",
    ),
    pytest.param(
        """{ a: workspaces(first: 2) { edges { node { ...WS } } }
             b: workspaces(first: 3) { edges { node { ...WS } } } }
           fragment WS on Workspace { projects(first: 10) { totalCount } }""",
        None,
        (2 + 2 * 10) + (3 + 3 * 10),
        id="fragment-spread-twice-counts-twice",
    ),
    pytest.param(
        """query($id: ID!) { node(id: $id) {
             id
             ... on Workspace { projects(first: 10) { totalCount } }
             ... on Project { issues(first: 30) { edges { node { labels { id } } } } }
             ... on Issue { comments(first: 7) { totalCount } }
           } }""",
        {"id": "x"},
        10 + (30 + 30 * 100) + 7,  # every branch counts: an upper bound
        id="inline-fragments-on-node",
    ),
    pytest.param(
        """{ workspaces(first: 5) { edges { node {
             ... { projects(first: 6) { totalCount } }
             ... on Workspace { labels(first: 7) { totalCount } }
           } } } }""",
        None,
        5 + 5 * 6 + 5 * 7,
        id="inline-fragments-without-and-with-condition",
    ),
    pytest.param(
        """{ nodes(ids: ["a", "b", "c"]) { id
             ... on Issue { comments(first: 10) { totalCount } labels { id } } } }""",
        None,
        3 + 3 * 10 + 3 * 100,
        id="nodes-literal-ids",
    ),
    pytest.param(
        "query($ids: [ID!]!) { nodes(ids: $ids) { ... on Project { issues { totalCount } } } }",
        {"ids": ["a", "b", "c", "d", "e"]},
        5 + 5 * 20,
        id="nodes-variable-ids",
    ),
    pytest.param(
        "query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
        {"ids": "a"},
        1,  # a single value coerces to a list of one
        id="nodes-single-id-coerced",
    ),
    pytest.param(
        """{ workspaces(first: 4) { edges { node {
             members(first: 25) { edges { node { role user { name } } } }
             jobs(first: 3) { edges { node { createdBy { name } } } }
           } } } }""",
        None,
        4 + 4 * 25 + 4 * 3,  # single objects under a node (user, createdBy) are free
        id="members-and-jobs",
    ),
    pytest.param(
        """{ issue(workspaceSlug: "a", identifier: "A-1") {
             labels { id }
             insight { suggestedLabels { id } }
             comments(last: 15) { edges { node { author { name } } } }
           } }""",
        None,
        100 + 100 + 15,  # Issue.labels cap, IssueInsight.suggestedLabels default cap
        id="single-issue-lists",
    ),
    pytest.param(
        """{ searchIssues(workspaceSlug: "a", query: "b", first: 10) {
             edges { node { comments(first: 3) { totalCount } } } } }""",
        None,
        10 + 10 * 3,
        id="search",
    ),
    pytest.param(
        """mutation { createIssue(input: {projectId: "p", title: "t"}) {
             issue { labels { id } comments(first: 5) { totalCount } }
             userErrors { field }
           } }""",
        None,
        100 + 5 + 100,  # labels, comments, and userErrors as a list of objects (cap 100)
        id="mutation-payload",
    ),
    pytest.param(
        "{ __schema { types { fields { name type { name } } } } __typename }",
        None,
        0,
        id="introspection-is-free",
    ),
    pytest.param(
        """query { workspace(slug: "a") { ...A } }
           fragment A on Workspace { projects { edges { node { workspace { ...A } } } } }""",
        None,
        20,  # a cycle (refused by validation anyway) is walked once
        id="fragment-cycle-terminates",
    ),
]


@pytest.mark.parametrize(("document", "variables", "expected"), CASES)
def test_estimate_nodes(document: str, variables: dict[str, Any] | None, expected: int) -> None:
    assert estimate(document, variables) == expected


def test_default_rules_are_the_settings_defaults() -> None:
    defaults = Settings()
    assert (RULES.default_page_size, RULES.max_page_size) == (20, 100)
    assert (defaults.default_page_size, defaults.max_page_size) == (20, 100)
    assert RULES.list_caps == {"Issue.labels": 100}


def test_the_named_operation_is_the_one_estimated() -> None:
    document = """
      query Small { workspaces(first: 2) { totalCount } }
      query Big { workspaces(first: 90) { edges { node { projects(first: 90) { totalCount } } } } }
    """
    assert estimate(document, operation_name="Small") == 2
    assert estimate(document, operation_name="Big") == 90 + 90 * 90


def test_rules_come_from_settings() -> None:
    rules = CostRules(default_page_size=5, max_page_size=10)
    operation, fragments = operation_of(parse(NESTED_3), None)
    assert operation is not None
    schema = served_schema._schema
    assert estimate_nodes(schema, operation, fragments, {}, rules) == 5 + 5 * 5 + 5 * 5 * 5
    big = {"a": 50, "b": 50, "c": 50}
    assert estimate_nodes(schema, operation, fragments, big, rules) == 10 + 10 * 10 + 10 * 10 * 10


# -- end to end ------------------------------------------------------------------------------


async def post(
    client: httpx.AsyncClient, person: Any, query: str, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=person.headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def refusal(body: dict[str, Any]) -> dict[str, Any]:
    assert body.get("data") is None, body
    [error] = body["errors"]
    assert error["extensions"]["code"] == "QUERY_TOO_COSTLY", body
    extensions: dict[str, Any] = error["extensions"]
    return extensions


async def test_a_query_at_the_budget_runs_one_node_over_is_refused(
    client: httpx.AsyncClient, make_person: Any
) -> None:
    alice = await make_person()
    assert LIMIT == 50_000
    at_limit = {"a": 50, "b": 27, "c": 36}
    assert estimate(NESTED_3, at_limit) == 50 + 50 * 27 + 50 * 27 * 36 == LIMIT
    body = await post(client, alice, NESTED_3, at_limit)
    assert "errors" not in body, body
    assert body["data"] == {"workspaces": {"edges": []}}

    one_more = NESTED_3.replace("} } }\n}", '} } }\n  nodes(ids: ["x"]) { id }\n}')
    assert estimate(one_more, at_limit) == LIMIT + 1
    body = await post(client, alice, one_more, at_limit)
    extensions = refusal(body)
    assert extensions["cost"] == 50_001
    assert extensions["limit"] == 50_000
    assert "50,001" in body["errors"][0]["message"]
    assert "50,000" in body["errors"][0]["message"]


async def test_a_costly_mutation_is_refused_before_it_runs(
    client: httpx.AsyncClient, make_person: Any
) -> None:
    alice = await make_person()
    mutation = """mutation { createWorkspace(input: {slug: "costly", name: "Costly"}) {
        workspace { projects(first: 100) { edges { node {
          issues(first: 100) { edges { node { labels { id } } } } } } } }
      } }"""
    extensions = refusal(await post(client, alice, mutation))
    assert extensions["cost"] == 100 + 100 * 100 + 100 * 100 * 100
    body = await post(client, alice, "{ workspaces { totalCount } }")
    assert body["data"]["workspaces"]["totalCount"] == 0


async def test_fragments_cannot_hide_cost(client: httpx.AsyncClient, make_person: Any) -> None:
    alice = await make_person()
    query = """query { workspaces(first: 100) { edges { node { ...W } } } }
      fragment W on Workspace { projects(first: 100) { edges { node { ... on Node { ...P } } } } }
      fragment P on Project { issues(first: 10) { edges { node { id } } } }"""
    extensions = refusal(await post(client, alice, query))
    assert extensions == {
        "code": "QUERY_TOO_COSTLY",
        "cost": 100 + 100 * 100 + 100 * 100 * 10,
        "limit": LIMIT,
    }


# Every connection at 100 by a variable's default: the resolvers page 100 at each level.
DEFAULTED = NESTED_3.replace(
    "$a: Int, $b: Int, $c: Int", "$a: Int = 100, $b: Int = 100, $c: Int = 100"
)


async def test_variable_defaults_cannot_hide_cost(
    client: httpx.AsyncClient, make_person: Any
) -> None:
    alice = await make_person()
    extensions = refusal(await post(client, alice, DEFAULTED))
    assert extensions["cost"] == 100 + 100 * 100 + 100 * 100 * 100


async def test_integral_float_variables_cannot_hide_cost(
    client: httpx.AsyncClient, make_person: Any
) -> None:
    alice = await make_person()
    extensions = refusal(await post(client, alice, NESTED_3, {"a": 100.0, "b": 100.0, "c": 100.0}))
    assert extensions["cost"] == 100 + 100 * 100 + 100 * 100 * 100


async def test_a_tighter_budget_from_settings(settings: Settings, make_person: Any) -> None:
    tight = create_app(settings.model_copy(update={"max_query_cost": 100}))
    alice = await make_person()
    async with (
        tight.router.lifespan_context(tight),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=tight), base_url="http://test") as c,
    ):
        assert "errors" not in await post(c, alice, "{ workspaces(first: 100) { totalCount } }")
        extensions = refusal(
            await post(
                c,
                alice,
                "{ workspaces(first: 100) { edges { node { labels(first: 1) { totalCount } } } } }",
            )
        )
        assert (extensions["cost"], extensions["limit"]) == (100 + 100 * 1, 100)
