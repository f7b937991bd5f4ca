"""Keyset pagination's strict arguments: cursors from another ordering or list, garbage and
out-of-range cursors, and page sizes outside 0..100 are BAD_USER_INPUT, never a server error."""

from __future__ import annotations

import base64
from typing import Any

import orjson
import pytest

from tests.support.client import GraphQLClient, data_of
from tests.support.datasets import (
    Dataset,
    expected_numbers,
)
from tests.support.walks import (
    PAGE_INFO,
    issues_query,
)
from tests.support.world import create_project, create_workspace

# --------------------------------------------------------------------------------------------
# Bad cursors and bad page sizes
# --------------------------------------------------------------------------------------------


def assert_bad_input(body: dict[str, Any], *words: str) -> dict[str, Any]:
    assert body.get("errors"), body
    error: dict[str, Any] = body["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    assert error["message"] != "Unexpected error.", error
    for word in words:
        assert word in error["message"], (word, error["message"])
    return error


async def _cursor(gql: GraphQLClient, data: Dataset, order_by: dict[str, str] | None) -> str:
    body = await gql(
        issues_query(with_order=True),
        {"ws": data.slug, "key": data.key, "first": 3, "orderBy": order_by},
        as_=data.owner,
    )
    cursor: str = data_of(body)["project"]["issues"]["pageInfo"]["endCursor"]
    return cursor


@pytest.mark.parametrize("argument", ["after", "before"])
async def test_cursor_from_another_ordering_is_rejected(
    gql: GraphQLClient, dataset: Dataset, argument: str
) -> None:
    by_created_desc = await _cursor(gql, dataset, None)
    by_number_asc = await _cursor(gql, dataset, {"field": "NUMBER", "direction": "ASC"})
    by_created_asc = await _cursor(gql, dataset, {"field": "CREATED_AT", "direction": "ASC"})
    size = "last" if argument == "before" else "first"
    cases = [
        (by_created_desc, {"field": "NUMBER", "direction": "ASC"}),
        (by_created_desc, {"field": "UPDATED_AT", "direction": "DESC"}),
        (by_number_asc, None),  # the default ordering
        (by_number_asc, {"field": "PRIORITY", "direction": "ASC"}),
        (by_created_asc, {"field": "CREATED_AT", "direction": "DESC"}),  # same field, other way
    ]
    for cursor, order_by in cases:
        body = await gql(
            issues_query(with_order=True),
            {
                "ws": dataset.slug,
                "key": dataset.key,
                size: 5,
                argument: cursor,
                "orderBy": order_by,
            },
            as_=dataset.owner,
        )
        error = assert_bad_input(body, argument)
        assert error["path"] == ["project", "issues"], error
        assert body["data"] is None or body["data"]["project"] is None


async def test_cursor_from_another_list_is_rejected(gql: GraphQLClient, dataset: Dataset) -> None:
    body = await gql(
        f"""{{ workspace(slug: "{dataset.slug}") {{ labels(first: 1) {{ {PAGE_INFO} }} }} }}""",
        as_=dataset.owner,
    )
    label_cursor = data_of(body)["workspace"]["labels"]["pageInfo"]["endCursor"]
    body = await gql(
        issues_query(),
        {"ws": dataset.slug, "key": dataset.key, "first": 5, "after": label_cursor},
        as_=dataset.owner,
    )
    assert_bad_input(body, "after")
    issue_cursor = await _cursor(gql, dataset, None)
    body = await gql(
        f"""query($c: String) {{ workspace(slug: "{dataset.slug}") {{
              labels(first: 1, after: $c) {{ edges {{ node {{ name }} }} }} }} }}""",
        {"c": issue_cursor},
        as_=dataset.owner,
    )
    assert_bad_input(body, "after")


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _json_cursor(*values: Any) -> str:
    return _b64(orjson.dumps(list(values)))


GARBAGE_CURSORS: dict[str, str] = {
    "plain-text": "garbage",
    "empty": "",
    "symbols": "!!!@@@###",
    "not-json": _b64(b"hello world"),
    "not-utf8": _b64(b"\xff\xfe\xfd\xfc"),
    "json-object": _b64(b'{"a": 1}'),
    "json-string": _b64(b'"issues:CREATED_AT:DESC"'),
    "empty-list": _json_cursor(),
    "name-only": _json_cursor("issues:CREATED_AT:DESC"),
    "too-many-values": _json_cursor("issues:CREATED_AT:DESC", "2024-01-01T00:00:00+00:00", 1, 2),
    "bad-date": _json_cursor("issues:CREATED_AT:DESC", "2024-13-45T99:00:00+00:00", 1),
    "date-is-number": _json_cursor("issues:CREATED_AT:DESC", 12345, 1),
    "id-is-text": _json_cursor("issues:CREATED_AT:DESC", "2024-01-01T00:00:00+00:00", "x"),
    "id-is-null": _json_cursor("issues:CREATED_AT:DESC", "2024-01-01T00:00:00+00:00", None),
    "unknown-list": _json_cursor("nope:id", 1),
}

# Well-formed JSON whose values do not fit the columns: a crafted cursor, still the client's
# fault, so still BAD_USER_INPUT rather than a database error.
OUT_OF_RANGE_CURSORS: dict[str, tuple[dict[str, str] | None, str]] = {
    "id-over-bigint": (
        None,
        _json_cursor("issues:CREATED_AT:DESC", "2024-01-01T00:00:00+00:00", 2**63),
    ),
    "number-over-int4": (
        {"field": "NUMBER", "direction": "ASC"},
        _json_cursor("issues:NUMBER:ASC", 2**31, 1),
    ),
    "unknown-priority": (
        {"field": "PRIORITY", "direction": "ASC"},
        _json_cursor("issues:PRIORITY:ASC", "BOGUS", 1),
    ),
    "id-under-bigint": (
        None,
        _b64(b'["issues:CREATED_AT:DESC","2024-01-01T00:00:00+00:00",-9223372036854775809]'),
    ),
    "naive-datetime": (None, _json_cursor("issues:CREATED_AT:DESC", "2024-01-01T00:00:00", 1)),
    "year-10000-in-utc": (
        None,
        _json_cursor("issues:CREATED_AT:DESC", "9999-12-31T23:59:00-12:00", 1),
    ),
    "number-is-bool": (
        {"field": "NUMBER", "direction": "ASC"},
        _json_cursor("issues:NUMBER:ASC", True, 1),
    ),
}

OUT_OF_RANGE_SEARCH_CURSORS: dict[str, str] = {
    "rank-over-float4": _json_cursor("search:rank", 1e300, 1),
    "rank-is-text": _json_cursor("search:rank", "high", 1),
    "id-over-bigint": _json_cursor("search:rank", 0.5, 2**63),
}


async def test_garbage_cursors_are_bad_user_input(gql: GraphQLClient, make_person: Any) -> None:
    alice = await make_person("Alice")
    workspace_id = await create_workspace(gql, alice, "acme")
    await create_project(gql, alice, workspace_id, "ENG")
    failures: list[str] = []
    for name, cursor in GARBAGE_CURSORS.items():
        for argument, size in (("after", "first"), ("before", "last")):
            body = await gql(
                issues_query(), {"ws": "acme", "key": "ENG", size: 5, argument: cursor}, as_=alice
            )
            try:
                assert_bad_input(body, argument)
            except AssertionError as error:
                failures.append(f"{name}/{argument}: {error}")
    assert not failures, "\n".join(failures)


async def test_out_of_range_cursor_values_are_never_a_server_error(
    gql: GraphQLClient, make_person: Any
) -> None:
    """Crafted cursors whose values do not fit the columns: BAD_USER_INPUT or an empty page."""
    alice = await make_person("Alice")
    workspace_id = await create_workspace(gql, alice, "acme")
    await create_project(gql, alice, workspace_id, "ENG")
    failures: list[str] = []
    for name, (order_by, cursor) in OUT_OF_RANGE_CURSORS.items():
        body = await gql(
            issues_query(with_order=True),
            {"ws": "acme", "key": "ENG", "first": 5, "after": cursor, "orderBy": order_by},
            as_=alice,
        )
        if body.get("errors"):
            code = body["errors"][0]["extensions"]["code"]
            if code != "BAD_USER_INPUT":
                failures.append(f"{name}: {code} {body['errors'][0]['message']!r}")
        else:
            data_of(body)
    search = """query($after: String) { searchIssues(workspaceSlug: "acme", query: "crash",
        first: 5, after: $after) { edges { cursor } } }"""
    for name, cursor in OUT_OF_RANGE_SEARCH_CURSORS.items():
        body = await gql(search, {"after": cursor}, as_=alice)
        if body.get("errors"):
            code = body["errors"][0]["extensions"]["code"]
            if code != "BAD_USER_INPUT":
                failures.append(f"search {name}: {code} {body['errors'][0]['message']!r}")
        else:
            data_of(body)
    assert not failures, "\n".join(failures)


async def test_garbage_cursor_in_other_connections(gql: GraphQLClient, make_person: Any) -> None:
    alice = await make_person("Alice")
    await create_workspace(gql, alice, "acme")
    acme = 'workspace(slug: "acme")'
    queries = [
        "query($c: String) { workspaces(first: 2, after: $c) { edges { cursor } } }",
        f"query($c: String) {{ {acme} {{ projects(after: $c) {{ edges {{ cursor }} }} }} }}",
        f"query($c: String) {{ {acme} {{ members(before: $c, last: 1) {{ edges {{ cursor }} }} }}"
        " }",
        f"query($c: String) {{ {acme} {{ labels(after: $c) {{ edges {{ cursor }} }} }} }}",
        'query($c: String) { searchIssues(workspaceSlug: "acme", query: "x", after: $c) {'
        " edges { cursor } } }",
    ]
    for query in queries:
        body = await gql(query, {"c": "garbage"}, as_=alice)
        assert_bad_input(body)


async def test_out_of_range_page_size_is_a_clear_error(
    gql: GraphQLClient, make_person: Any
) -> None:
    alice = await make_person("Alice")
    workspace_id = await create_workspace(gql, alice, "acme")
    project_id = await create_project(gql, alice, workspace_id, "ENG")
    body = await gql(
        'mutation($p: ID!) { createIssue(input: {projectId: $p, title: "One"}) { issue { id } } }',
        {"p": project_id},
        as_=alice,
    )
    assert data_of(body)["createIssue"]["issue"], body
    cases = [("first", 101), ("first", -1), ("last", 101), ("last", -1), ("first", 100_000)]
    for argument, value in cases:
        body = await gql(issues_query(), {"ws": "acme", "key": "ENG", argument: value}, as_=alice)
        error = assert_bad_input(body, argument, "100")
        assert error["path"] == ["project", "issues"]
        # The same rule on the other connections.
        for query in (
            f"{{ workspaces({argument}: {value}) {{ totalCount }} }}",
            f'{{ workspace(slug: "acme") {{ projects({argument}: {value}) {{ totalCount }} }} }}',
            f'{{ workspace(slug: "acme") {{ labels({argument}: {value}) {{ totalCount }} }} }}',
            f'{{ workspace(slug: "acme") {{ members({argument}: {value}) {{ totalCount }} }} }}',
            f"""{{ project(workspaceSlug: "acme", key: "ENG") {{ issues(first: 1) {{ edges {{
                  node {{ comments({argument}: {value}) {{ totalCount }} }} }} }} }} }}""",
        ):
            assert_bad_input(await gql(query, as_=alice), argument, "100")
        if argument == "first":
            body = await gql(
                f'{{ searchIssues(workspaceSlug: "acme", query: "x", first: {value}) '
                "{ totalCount } }",
                as_=alice,
            )
            assert_bad_input(body, "first", "100")


async def test_page_size_boundaries(gql: GraphQLClient, dataset: Dataset) -> None:
    expected = expected_numbers(dataset.issues, "CREATED_AT", descending=True)

    async def numbers(**args: Any) -> tuple[list[int], dict[str, Any]]:
        body = await gql(
            issues_query(), {"ws": dataset.slug, "key": dataset.key, **args}, as_=dataset.owner
        )
        connection = data_of(body)["project"]["issues"]
        return [e["node"]["number"] for e in connection["edges"]], connection["pageInfo"]

    got, info = await numbers()  # neither first nor last: 20
    assert got == expected[:20]
    assert info["hasNextPage"] is True
    assert info["hasPreviousPage"] is False
    got, _ = await numbers(first=100)
    assert got == expected[:100]
    got, _ = await numbers(last=100)
    assert got == expected[-100:]
    got, info = await numbers(first=0)
    assert got == []
    got, _ = await numbers(first=1)
    assert got == expected[:1]
