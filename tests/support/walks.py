"""Walking any connection to its end by its cursors, forward or backward, checking
``pageInfo`` on every page; and the walks of a project's issue list."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tests.support.client import GraphQLClient, Person, data_of
from tests.support.datasets import Dataset

PAGE_INFO = "pageInfo { hasNextPage hasPreviousPage startCursor endCursor }"


def dig(data: Any, path: Sequence[str | int]) -> Any:
    for step in path:
        assert data is not None, f"null at {step!r} in {path}"
        data = data[step]
    return data


@dataclass
class Walk:
    nodes: list[dict[str, Any]]
    pages: int
    total_counts: set[int]


async def walk(
    gql: GraphQLClient,
    person: Person,
    query: str,
    path: Sequence[str | int],
    *,
    size: int,
    backward: bool = False,
    variables: dict[str, Any] | None = None,
) -> Walk:
    """Follow endCursor (forward) or startCursor (backward) to the end, checking pageInfo.

    ``query`` declares ``$first: Int, $after: String`` (and ``$last: Int, $before: String`` to
    walk backward) and passes them to the connection at ``path`` (which may select
    ``totalCount``).
    """
    nodes: list[dict[str, Any]] = []
    cursor: str | None = None
    pages = 0
    totals: set[int] = set()
    while True:
        page_vars = {
            **(variables or {}),
            **({"last": size, "before": cursor} if backward else {"first": size, "after": cursor}),
        }
        body = await gql(query, page_vars, as_=person)
        connection = dig(data_of(body), path)
        pages += 1
        assert pages <= 200, "walk does not terminate"
        edges = connection["edges"]
        info = connection["pageInfo"]
        if "totalCount" in connection:
            totals.add(connection["totalCount"])
        assert len(edges) <= size, (pages, len(edges))
        if edges:
            assert info["startCursor"] == edges[0]["cursor"], info
            assert info["endCursor"] == edges[-1]["cursor"], info
        else:
            assert info["startCursor"] is None, info
            assert info["endCursor"] is None, info
        page_nodes = [e["node"] for e in edges]
        if backward:
            nodes = page_nodes + nodes
            # Paging backward from a cursor: the rows at and after it exist.
            assert info["hasNextPage"] is (cursor is not None), (pages, info)
            more = info["hasPreviousPage"]
            cursor = info["startCursor"]
        else:
            nodes = nodes + page_nodes
            assert info["hasPreviousPage"] is (cursor is not None), (pages, info)
            more = info["hasNextPage"]
            cursor = info["endCursor"]
        if not more:
            break
        assert len(edges) == size, f"a short page ({len(edges)}) that claims more follow"
    return Walk(nodes=nodes, pages=pages, total_counts=totals)


def issues_query(
    *, with_filter: bool = False, with_order: bool = False, node: str = "number"
) -> str:
    var_defs = (
        "$ws: String!, $key: String!, $first: Int, $after: String, $last: Int, $before: String"
    )
    args = "first: $first, after: $after, last: $last, before: $before"
    if with_filter:
        var_defs += ", $filter: IssueFilter"
        args += ", filter: $filter"
    if with_order:
        var_defs += ", $orderBy: IssueOrder"
        args += ", orderBy: $orderBy"
    return f"""query({var_defs}) {{ project(workspaceSlug: $ws, key: $key) {{
        issues({args}) {{ totalCount {PAGE_INFO} edges {{ cursor node {{ {node} }} }} }} }} }}"""


ISSUES_PATH = ["project", "issues"]


def expected_pages(total: int, size: int) -> int:
    return max(1, math.ceil(total / size))


async def check_walks(
    gql: GraphQLClient,
    data: Dataset,
    expected: list[int],
    *,
    order_by: dict[str, str] | None = None,
    filter_: dict[str, Any] | None = None,
    forward_size: int = 50,
    backward_size: int = 45,
) -> None:
    query = issues_query(with_filter=filter_ is not None, with_order=order_by is not None)
    variables: dict[str, Any] = {"ws": data.slug, "key": data.key}
    if order_by is not None:
        variables["orderBy"] = order_by
    if filter_ is not None:
        variables["filter"] = filter_
    for backward, size in ((False, forward_size), (True, backward_size)):
        result = await walk(
            gql, data.owner, query, ISSUES_PATH, size=size, backward=backward, variables=variables
        )
        numbers = [n["number"] for n in result.nodes]
        direction = "backward" if backward else "forward"
        assert len(numbers) == len(set(numbers)), f"{direction}: duplicates"
        assert set(numbers) == set(expected), f"{direction}: missing or extra issues"
        assert numbers == expected, f"{direction}: wrong order"
        assert result.pages == expected_pages(len(expected), size), direction
        assert result.total_counts == {len(expected)}, direction
