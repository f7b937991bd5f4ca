"""``Query.issue`` reads the issue, its labels and its comment page in one statement, and
``Project.issues`` a page of issues with each one's labels and comment page in one statement.

The nested rows must be exactly what the loaders return for the same issue (``Query.node``
goes through them): every page shape (forward, backward, with cursors, empty), a bad cursor
reported on the comments field alone, labels in their order, people joined; and the request
costs one statement after the token lookup (and the project's), however the page is asked for.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from schema.ids import to_global_id
from tests.support.client import GraphQLClient, data_of
from tests.support.datasets import (
    CommentRow,
    Dataset,
    SessionFactory,
    build_dataset,
    insert_comments,
)
from tests.support.world import pk
from tests.test_query_counts import counting

SELECTION = """
  id number title
  reporter { name } assignee { name }
  labels { id name color }
  comments(first: $first, after: $after, last: $last, before: $before) {
    edges { cursor node { id body createdAt author { id name } } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
"""
ARGS = "$first: Int, $after: String, $last: Int, $before: String"
BY_IDENTIFIER = f"""query($ws: String!, $identifier: String!, {ARGS}) {{
  issue(workspaceSlug: $ws, identifier: $identifier) {{ {SELECTION} }}
}}"""
BY_NODE = f"""query($id: ID!, {ARGS}) {{ node(id: $id) {{ ... on Issue {{ {SELECTION} }} }} }}"""
IN_PROJECT = f"""query($ws: String!, $key: String!, $n: Int!, {ARGS}) {{
  project(workspaceSlug: $ws, key: $key) {{
    issues(first: $n) {{ edges {{ node {{ {SELECTION} }} }} }}
  }}
}}"""


async def _dataset(
    gql: GraphQLClient, make_person: Any, session_factory: SessionFactory
) -> tuple[Dataset, list[CommentRow]]:
    data = await build_dataset(gql, make_person, session_factory, count=12)
    comments = await insert_comments(
        session_factory,
        workspace_pk=pk(data.workspace_id),
        issues=data.issues,
        author_pks=[data.owner.user_id, data.bob.user_id],
        max_per_issue=9,
        seed=5,
    )
    return data, comments


def _busiest(data: Dataset, comments: list[CommentRow]) -> int:
    """The number of the issue with most comments (several pages of 2)."""
    per_issue: dict[int, int] = {}
    for c in comments:
        per_issue[c.issue_id] = per_issue.get(c.issue_id, 0) + 1
    issue_id = max(per_issue, key=lambda i: per_issue[i])
    assert per_issue[issue_id] >= 5
    return next(i.number for i in data.issues if i.id == issue_id)


async def _both(
    gql: GraphQLClient, data: Dataset, number: int, page: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    issue_id = next(i.id for i in data.issues if i.number == number)
    nested = await gql(
        BY_IDENTIFIER,
        {"ws": data.slug, "identifier": f"{data.key}-{number}", **page},
        as_=data.owner,
    )
    loaded = await gql(BY_NODE, {"id": to_global_id("Issue", issue_id), **page}, as_=data.owner)
    return nested, loaded


async def test_nested_pages_match_the_loaders_page_for_page(
    gql: GraphQLClient, make_person: Any, session_factory: SessionFactory
) -> None:
    data, comments = await _dataset(gql, make_person, session_factory)
    number = _busiest(data, comments)
    first, _ = await _both(gql, data, number, {"first": 2})
    edges = data_of(first)["issue"]["comments"]["edges"]
    second_cursor = edges[1]["cursor"]
    shapes: list[dict[str, Any]] = [
        {},
        {"first": 2},
        {"first": 2, "after": second_cursor},
        {"first": 0},
        {"first": 100},
        {"last": 2},
        {"last": 3, "before": second_cursor},
        {"first": 1, "last": 1},
        {"first": 2, "after": second_cursor, "before": edges[0]["cursor"]},
    ]
    for page in shapes:
        nested, loaded = await _both(gql, data, number, page)
        assert data_of(nested)["issue"] == data_of(loaded)["node"], page
    # an issue without comments or labels: empty, not null
    bare = next(i.number for i in data.issues if not i.label_ids)
    nested, loaded = await _both(gql, data, bare, {"first": 5})
    assert data_of(nested)["issue"] == data_of(loaded)["node"]


async def test_a_bad_cursor_fails_the_comments_field_only(
    gql: GraphQLClient, make_person: Any, session_factory: SessionFactory
) -> None:
    data, comments = await _dataset(gql, make_person, session_factory)
    number = _busiest(data, comments)
    for page in ({"first": 2, "after": "not-a-cursor"}, {"first": -1}):
        nested, loaded = await _both(gql, data, number, page)
        assert nested["data"]["issue"] is None or nested["data"]["issue"]["comments"] is None
        assert [e["path"][-1] for e in nested["errors"]] == ["comments"]
        assert [e["extensions"]["code"] for e in nested["errors"]] == [
            e["extensions"]["code"] for e in loaded["errors"]
        ]


@pytest.mark.parametrize(
    "page", [{"first": 5}, {"last": 2}, {"first": 2, "after": "cursor"}], ids=str
)
async def test_one_issue_with_labels_and_comments_is_one_statement(
    gql: GraphQLClient,
    make_person: Any,
    session_factory: SessionFactory,
    app_engine: AsyncEngine,
    page: dict[str, Any],
) -> None:
    data, comments = await _dataset(gql, make_person, session_factory)
    number = _busiest(data, comments)
    variables = {"ws": data.slug, "identifier": f"{data.key}-{number}", **page}
    if page.get("after") == "cursor":
        first = data_of(await gql(BY_IDENTIFIER, {**variables, "after": None}, as_=data.owner))
        variables["after"] = first["issue"]["comments"]["edges"][0]["cursor"]
    data_of(await gql(BY_IDENTIFIER, variables, as_=data.owner))  # warm-up
    with counting(app_engine) as log:
        data_of(await gql(BY_IDENTIFIER, variables, as_=data.owner))
    # The test app runs both executors (differential mode), so the root field resolves once
    # per executor: each resolution one statement with the labels and comments in it.
    reads = [s for s in log.statements if "FROM issues" in s]
    assert reads
    assert all("FROM comments" in s and "issue_labels" in s for s in reads)
    others = [s for s in log.statements if s not in reads]
    assert len(others) == 1, others
    assert "api_tokens" in others[0]  # the token lookup


async def test_two_comment_pages_of_one_issue_still_answer(
    gql: GraphQLClient, make_person: Any, session_factory: SessionFactory
) -> None:
    """Two aliased comment pages: nested in the row only when one is asked; both right."""
    data, comments = await _dataset(gql, make_person, session_factory)
    number = _busiest(data, comments)
    query = """query($ws: String!, $identifier: String!) {
      issue(workspaceSlug: $ws, identifier: $identifier) {
        a: comments(first: 1) { edges { node { id } } }
        b: comments(last: 1) { edges { node { id } } }
      }
    }"""
    answer = data_of(
        await gql(query, {"ws": data.slug, "identifier": f"{data.key}-{number}"}, as_=data.owner)
    )
    issue_id = next(i.id for i in data.issues if i.number == number)
    own = sorted(
        (c for c in comments if c.issue_id == issue_id), key=lambda c: (c.created_at, c.id)
    )
    assert [pk(e["node"]["id"]) for e in answer["issue"]["a"]["edges"]] == [own[0].id]
    assert [pk(e["node"]["id"]) for e in answer["issue"]["b"]["edges"]] == [own[-1].id]


async def _page_of_issues(
    gql: GraphQLClient, data: Dataset, page: dict[str, Any]
) -> dict[str, Any]:
    variables = {"ws": data.slug, "key": data.key, "n": len(data.issues), **page}
    return await gql(IN_PROJECT, variables, as_=data.owner)


async def test_pages_of_issues_nest_what_the_loaders_read_issue_for_issue(
    gql: GraphQLClient, make_person: Any, session_factory: SessionFactory
) -> None:
    data, comments = await _dataset(gql, make_person, session_factory)
    number = _busiest(data, comments)
    first, _ = await _both(gql, data, number, {"first": 2})
    cursor = data_of(first)["issue"]["comments"]["edges"][1]["cursor"]
    shapes: list[dict[str, Any]] = [
        {},
        {"first": 2},
        {"first": 2, "after": cursor},  # a cursor of one issue's page, applied to all
        {"first": 0},
        {"last": 2},
        {"last": 3, "before": cursor},
    ]
    for page in shapes:
        nodes = [
            e["node"]
            for e in data_of(await _page_of_issues(gql, data, page))["project"]["issues"]["edges"]
        ]
        assert len(nodes) == len(data.issues)
        for node in nodes:
            loaded = await gql(BY_NODE, {"id": node["id"], **page}, as_=data.owner)
            assert node == data_of(loaded)["node"], (page, node["number"])


async def test_a_bad_cursor_fails_each_issues_comments_field_only(
    gql: GraphQLClient, make_person: Any, session_factory: SessionFactory
) -> None:
    data, _ = await _dataset(gql, make_person, session_factory)
    for page in ({"first": 2, "after": "not-a-cursor"}, {"first": -1}):
        answer = await _page_of_issues(gql, data, page)
        assert answer["errors"], answer
        assert {e["path"][-1] for e in answer["errors"]} == {"comments"}
        codes = {e["extensions"]["code"] for e in answer["errors"]}
        assert codes <= {"BAD_USER_INPUT", "BAD_CURSOR", "INVALID_ARGUMENT"}, codes


async def test_a_page_of_issues_with_labels_and_comments_is_one_statement(
    gql: GraphQLClient,
    make_person: Any,
    session_factory: SessionFactory,
    app_engine: AsyncEngine,
) -> None:
    """The project, its page of issues and each issue's labels and comment page: one read."""
    data, _ = await _dataset(gql, make_person, session_factory)
    data_of(await _page_of_issues(gql, data, {"first": 5}))  # warm-up
    with counting(app_engine) as log:
        data_of(await _page_of_issues(gql, data, {"first": 5}))
    reads = [s for s in log.statements if "api_tokens" not in s]
    # Once per executor (differential mode, as above), each the whole read.
    assert reads
    assert all(
        "FROM projects" in s and "FROM issues" in s and "FROM comments" in s and "issue_labels" in s
        for s in reads
    ), reads
    assert len(log.statements) == len(reads) + 1  # and the token lookup


async def test_a_project_with_a_filtered_or_bad_page_still_answers(
    gql: GraphQLClient, make_person: Any, session_factory: SessionFactory
) -> None:
    """Read with the project or through the loader (a filter), the same page; a bad cursor
    is reported by the issues field either way."""
    data, _ = await _dataset(gql, make_person, session_factory)
    query = """query($ws: String!, $key: String!, $after: String, $status: [IssueStatus!]) {
      project(workspaceSlug: $ws, key: $key) {
        key
        plain: issues(first: 3, after: $after) { edges { cursor node { number } } }
      }
      filtered: project(workspaceSlug: $ws, key: $key) {
        issues(first: 3, after: $after, filter: {status: $status}) { edges { node { number } } }
      }
    }"""
    variables = {"ws": data.slug, "key": data.key, "after": None, "status": None}
    both = data_of(await gql(query, variables, as_=data.owner))
    plain = [e["node"]["number"] for e in both["project"]["plain"]["edges"]]
    assert plain == [e["node"]["number"] for e in both["filtered"]["issues"]["edges"]]
    assert len(plain) == 3
    after = both["project"]["plain"]["edges"][0]["cursor"]
    later = data_of(await gql(query, {**variables, "after": after}, as_=data.owner))
    assert [e["node"]["number"] for e in later["project"]["plain"]["edges"]][:2] == plain[1:]
    bad = await gql(query, {**variables, "after": "not-a-cursor"}, as_=data.owner)
    # Reported on each issues field (non-null, so its project is null), by either path alike.
    assert bad["data"] == {"project": None, "filtered": None}
    assert sorted(e["path"] for e in bad["errors"]) == [
        ["filtered", "issues"],
        ["project", "plain"],
    ]
    assert len({e["extensions"]["code"] for e in bad["errors"]}) == 1
