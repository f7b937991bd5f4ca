"""Keyset pagination of issue lists: complete, ordered, stable walks in both directions, under
every ordering and filter.

The lists are walked over 250 rows inserted directly (tests/support/datasets.py), with
deliberate ties on ``createdAt``/``updatedAt``/``priority`` so the ``id`` tie-breaker matters at
page boundaries; ids, numbers and timestamps are shuffled independently so no ordering coincides
with another.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.client import GraphQLClient, data_of
from tests.support.datasets import (
    Dataset,
    IssueRow,
    expected_numbers,
)
from tests.support.walks import (
    check_walks,
    issues_query,
)
from tests.support.world import gid

# --------------------------------------------------------------------------------------------
# Issue lists: every ordering, both directions
# --------------------------------------------------------------------------------------------


ORDER_FIELDS = ["CREATED_AT", "UPDATED_AT", "PRIORITY", "NUMBER"]
ORDERINGS = [(f, d) for f in ORDER_FIELDS for d in ("ASC", "DESC")]


@pytest.mark.parametrize(("field_name", "direction"), ORDERINGS)
async def test_issue_walks_cover_every_issue_once_in_order(
    gql: GraphQLClient, dataset: Dataset, field_name: str, direction: str
) -> None:
    expected = expected_numbers(dataset.issues, field_name, direction == "DESC")
    assert len(expected) == 250
    await check_walks(
        gql, dataset, expected, order_by={"field": field_name, "direction": direction}
    )


async def test_default_order_is_newest_first(gql: GraphQLClient, dataset: Dataset) -> None:
    expected = expected_numbers(dataset.issues, "CREATED_AT", descending=True)
    await check_walks(gql, dataset, expected)  # no orderBy argument at all
    # An explicit null orderBy is the default too.
    body = await gql(
        issues_query(with_order=True),
        {"ws": dataset.slug, "key": dataset.key, "first": 100, "orderBy": None},
        as_=dataset.owner,
    )
    numbers = [e["node"]["number"] for e in data_of(body)["project"]["issues"]["edges"]]
    assert numbers == expected[:100]


async def test_forward_then_backward_from_a_middle_page_agree(
    gql: GraphQLClient, dataset: Dataset
) -> None:
    query = issues_query(with_order=True)
    variables = {
        "ws": dataset.slug,
        "key": dataset.key,
        "orderBy": {"field": "CREATED_AT", "direction": "ASC"},
    }
    expected = expected_numbers(dataset.issues, "CREATED_AT", descending=False)

    async def page(**args: Any) -> dict[str, Any]:
        body = await gql(query, {**variables, **args}, as_=dataset.owner)
        connection: dict[str, Any] = data_of(body)["project"]["issues"]
        return connection

    first = await page(first=30)
    second = await page(first=30, after=first["pageInfo"]["endCursor"])
    assert [e["node"]["number"] for e in second["edges"]] == expected[30:60]
    back = await page(last=30, before=second["pageInfo"]["startCursor"])
    assert [e["node"]["number"] for e in back["edges"]] == expected[:30]
    assert back["pageInfo"]["hasPreviousPage"] is False
    assert back["pageInfo"]["hasNextPage"] is True
    # Cursors are stable: the same row gets the same cursor from either direction.
    assert [e["cursor"] for e in back["edges"]] == [e["cursor"] for e in first["edges"]]
    # A window between two cursors.
    between = await page(
        first=100, after=first["edges"][9]["cursor"], before=second["edges"][5]["cursor"]
    )
    assert [e["node"]["number"] for e in between["edges"]] == expected[10:35]
    # last without before: the tail of the list.
    tail = await page(last=7)
    assert [e["node"]["number"] for e in tail["edges"]] == expected[-7:]
    assert tail["pageInfo"]["hasPreviousPage"] is True
    assert tail["pageInfo"]["hasNextPage"] is False


# --------------------------------------------------------------------------------------------
# Filters
# --------------------------------------------------------------------------------------------


FILTERS: dict[str, Any] = {
    "status": lambda d: (
        {"status": ["TODO", "IN_PROGRESS"]},
        lambda r: r.status in ("TODO", "IN_PROGRESS"),
    ),
    "priority": lambda d: (
        {"priority": ["HIGH", "URGENT", "NONE"]},
        lambda r: r.priority in ("HIGH", "URGENT", "NONE"),
    ),
    "hasAssignee-true": lambda d: ({"hasAssignee": True}, lambda r: r.assignee_id is not None),
    "hasAssignee-false": lambda d: ({"hasAssignee": False}, lambda r: r.assignee_id is None),
    "assigneeId": lambda d: (
        {"assigneeId": gid("User", d.bob.user_id)},
        lambda r: r.assignee_id == d.bob.user_id,
    ),
    "labelIds-one": lambda d: (
        {"labelIds": [d.label_ids[0]]},
        lambda r: d.label_pks[0] in r.label_ids,
    ),
    "labelIds-any-of": lambda d: (
        {"labelIds": d.label_ids[1:3]},
        lambda r: bool(r.label_ids & set(d.label_pks[1:3])),
    ),
    "combined": lambda d: (
        {"status": ["BACKLOG", "TODO", "DONE"], "labelIds": d.label_ids[:2], "hasAssignee": True},
        lambda r: (
            r.status in ("BACKLOG", "TODO", "DONE")
            and bool(r.label_ids & set(d.label_pks[:2]))
            and r.assignee_id is not None
        ),
    ),
    "matches-nothing": lambda d: (
        {"status": ["DONE"], "assigneeId": gid("User", 999_999)},  # nobody has this id
        lambda r: False,
    ),
}


def _filter_case(data: Dataset, name: str) -> tuple[dict[str, Any], list[IssueRow]]:
    filter_, predicate = FILTERS[name](data)
    rows = [r for r in data.issues if predicate(r)]
    if name != "matches-nothing":
        assert 10 < len(rows) < 250, "the dataset should make this filter selective"
    return filter_, rows


@pytest.mark.parametrize("name", list(FILTERS))
async def test_filtered_walks(gql: GraphQLClient, dataset: Dataset, name: str) -> None:
    filter_, rows = _filter_case(dataset, name)
    # Default order (newest first), then an explicit other ordering.
    expected = expected_numbers(rows, "CREATED_AT", descending=True)
    await check_walks(gql, dataset, expected, filter_=filter_, forward_size=23, backward_size=29)
    expected = expected_numbers(rows, "UPDATED_AT", descending=False)
    await check_walks(
        gql,
        dataset,
        expected,
        filter_=filter_,
        order_by={"field": "UPDATED_AT", "direction": "ASC"},
        forward_size=29,
        backward_size=23,
    )


async def test_filtered_walks_by_priority(gql: GraphQLClient, dataset: Dataset) -> None:
    cases = [
        ("status", "ASC"),
        ("hasAssignee-false", "DESC"),
        ("labelIds-any-of", "ASC"),
        ("combined", "DESC"),
    ]
    for name, direction in cases:
        filter_, rows = _filter_case(dataset, name)
        expected = expected_numbers(rows, "PRIORITY", descending=direction == "DESC")
        await check_walks(
            gql,
            dataset,
            expected,
            filter_=filter_,
            order_by={"field": "PRIORITY", "direction": direction},
            forward_size=30,
            backward_size=25,
        )


async def test_label_filter_returns_an_issue_with_several_matching_labels_once(
    gql: GraphQLClient, dataset: Dataset
) -> None:
    wanted = set(dataset.label_pks[:2])
    both = [r for r in dataset.issues if wanted <= r.label_ids]
    assert both, "the dataset should have issues carrying both labels"
    expected = expected_numbers(
        [r for r in dataset.issues if r.label_ids & wanted], "NUMBER", descending=False
    )
    body = await gql(
        issues_query(with_filter=True, with_order=True),
        {
            "ws": dataset.slug,
            "key": dataset.key,
            "first": 100,
            "filter": {"labelIds": dataset.label_ids[:2]},
            "orderBy": {"field": "NUMBER", "direction": "ASC"},
        },
        as_=dataset.owner,
    )
    connection = data_of(body)["project"]["issues"]
    numbers = [e["node"]["number"] for e in connection["edges"]]
    assert numbers == expected[:100]
    assert connection["totalCount"] == len(expected)
    assert {r.number for r in both if r.number <= numbers[-1]} <= set(numbers)
