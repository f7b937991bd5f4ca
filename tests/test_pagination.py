"""Keyset pagination: complete, ordered, stable walks in both directions, and strict arguments.

The issue lists are walked over 250 rows inserted directly (fast), with deliberate ties on
``createdAt``/``updatedAt``/``priority`` so the ``id`` tie-breaker matters at page boundaries;
ids, numbers and timestamps are shuffled independently so no ordering coincides with another.
"""

from __future__ import annotations

import base64
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import Comment, Issue, IssueLabel, IssuePriority, IssueStatus, Project
from schema.ids import from_global_id
from tests.conftest import GraphQLClient, Person

SessionFactory = async_sessionmaker[AsyncSession]

BASE_TIME = datetime(2024, 1, 1, tzinfo=UTC)
PRIORITIES = [p.value for p in IssuePriority]  # lowest to highest, as PostgreSQL orders them
STATUSES = [s.value for s in IssueStatus]
ORDER_FIELDS = ["CREATED_AT", "UPDATED_AT", "PRIORITY", "NUMBER"]
PAGE_INFO = "pageInfo { hasNextPage hasPreviousPage startCursor endCursor }"


# --------------------------------------------------------------------------------------------
# Dataset helpers (also used by test_query_counts)
# --------------------------------------------------------------------------------------------


def pk(global_id: str) -> int:
    parsed = from_global_id(global_id)
    assert parsed is not None, global_id
    return parsed[1]


def user_gid(user_pk: int) -> str:
    return base64.b64encode(f"User:{user_pk}".encode()).decode()


def ok(body: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


async def create_workspace(gql: GraphQLClient, owner: Person, slug: str) -> str:
    body = await gql(
        """mutation($slug: String!) { createWorkspace(input: {slug: $slug, name: $slug}) {
            workspace { id } userErrors { message } } }""",
        {"slug": slug},
        as_=owner,
    )
    payload = ok(body)["createWorkspace"]
    assert payload["userErrors"] == [], body
    workspace_id: str = payload["workspace"]["id"]
    return workspace_id


async def create_project(gql: GraphQLClient, owner: Person, workspace_id: str, key: str) -> str:
    body = await gql(
        """mutation($ws: ID!, $key: String!) {
            createProject(input: {workspaceId: $ws, key: $key, name: $key}) {
              project { id } userErrors { message } } }""",
        {"ws": workspace_id, "key": key},
        as_=owner,
    )
    payload = ok(body)["createProject"]
    assert payload["userErrors"] == [], body
    project_id: str = payload["project"]["id"]
    return project_id


async def add_member(
    gql: GraphQLClient, owner: Person, workspace_id: str, person: Person, role: str = "MEMBER"
) -> None:
    body = await gql(
        """mutation($ws: ID!, $email: String!, $role: Role!) {
            addMember(input: {workspaceId: $ws, email: $email, role: $role}) {
              membership { role } userErrors { message } } }""",
        {"ws": workspace_id, "email": person.email, "role": role},
        as_=owner,
    )
    assert ok(body)["addMember"]["userErrors"] == [], body


async def create_label(gql: GraphQLClient, owner: Person, workspace_id: str, name: str) -> str:
    body = await gql(
        """mutation($ws: ID!, $name: String!) {
            createLabel(input: {workspaceId: $ws, name: $name, color: "#d73a4a"}) {
              label { id } userErrors { message } } }""",
        {"ws": workspace_id, "name": name},
        as_=owner,
    )
    payload = ok(body)["createLabel"]
    assert payload["userErrors"] == [], body
    label_id: str = payload["label"]["id"]
    return label_id


@dataclass
class IssueRow:
    id: int
    number: int
    project_id: int
    created_at: datetime
    updated_at: datetime
    priority: str
    status: str
    reporter_id: int
    assignee_id: int | None
    label_ids: frozenset[int]


@dataclass
class CommentRow:
    id: int
    issue_id: int
    author_id: int
    created_at: datetime


async def insert_issues(
    session_factory: SessionFactory,
    *,
    workspace_pk: int,
    project_pk: int,
    count: int,
    reporter_pk: int,
    assignee_pks: Sequence[int | None],
    label_pks: Sequence[int],
    seed: int,
) -> list[IssueRow]:
    """``count`` issues inserted in one statement, with shuffled numbers and timestamps.

    Ties: a run of 55 issues shares one ``created_at`` (longer than any page size used in the
    walks, so page boundaries must fall inside it), 12 share one ``updated_at``, and every
    7th issue copies another's ``created_at``; priorities tie by nature (5 values).
    """
    rng = random.Random(seed)
    created = [BASE_TIME + timedelta(minutes=m) for m in rng.sample(range(count * 4), count)]
    updated = [c + timedelta(days=1, minutes=rng.randrange(10_000)) for c in created]
    tie_group = rng.sample(range(count), min(55, count))
    for i in tie_group:
        created[i] = created[tie_group[0]]
    for i in range(0, count, 7):
        created[i] = created[(i * 13 + 5) % count]
    for i in rng.sample(range(count), min(12, count)):
        updated[i] = BASE_TIME + timedelta(days=3)
    numbers = list(range(1, count + 1))
    rng.shuffle(numbers)
    values: list[dict[str, Any]] = []
    labels_per_issue: list[frozenset[int]] = []
    for i in range(count):
        status = rng.choice(STATUSES)
        values.append(
            {
                "workspace_id": workspace_pk,
                "project_id": project_pk,
                "number": numbers[i],
                "title": f"Issue {numbers[i]} in project {project_pk}",
                "body": f"Body of issue {numbers[i]}.",
                "status": IssueStatus(status),
                "priority": IssuePriority(rng.choice(PRIORITIES)),
                "reporter_id": reporter_pk,
                "assignee_id": rng.choice(list(assignee_pks)),
                "created_at": created[i],
                "updated_at": updated[i],
                "closed_at": updated[i] if status in ("DONE", "CANCELED") else None,
            }
        )
        labels_per_issue.append(frozenset(rng.sample(list(label_pks), rng.randrange(3))))
    async with session_factory() as session:
        ids = list(
            await session.scalars(
                insert(Issue).returning(Issue.id, sort_by_parameter_order=True), values
            )
        )
        links = [
            {"issue_id": issue_id, "label_id": label_id}
            for issue_id, labels in zip(ids, labels_per_issue, strict=True)
            for label_id in labels
        ]
        if links:
            await session.execute(insert(IssueLabel), links)
        await session.execute(
            update(Project).where(Project.id == project_pk).values(issue_counter=count)
        )
        await session.commit()
    return [
        IssueRow(
            id=issue_id,
            number=v["number"],
            project_id=project_pk,
            created_at=v["created_at"],
            updated_at=v["updated_at"],
            priority=v["priority"].value,
            status=v["status"].value,
            reporter_id=reporter_pk,
            assignee_id=v["assignee_id"],
            label_ids=labels,
        )
        for issue_id, v, labels in zip(ids, values, labels_per_issue, strict=True)
    ]


async def insert_comments(
    session_factory: SessionFactory,
    *,
    workspace_pk: int,
    issues: Sequence[IssueRow],
    author_pks: Sequence[int],
    max_per_issue: int,
    seed: int,
) -> list[CommentRow]:
    """0..max_per_issue comments per issue; every third comment ties with its predecessor."""
    rng = random.Random(seed)
    values: list[dict[str, Any]] = []
    for issue in issues:
        at = issue.created_at
        for j in range(rng.randrange(max_per_issue + 1)):
            if j % 3 != 2:
                at = at + timedelta(minutes=rng.randrange(1, 60))
            values.append(
                {
                    "workspace_id": workspace_pk,
                    "issue_id": issue.id,
                    "author_id": rng.choice(list(author_pks)),
                    "body": f"Comment {j} on {issue.id}",
                    "created_at": at,
                    "updated_at": at,
                }
            )
    # Insert in shuffled order so comment ids do not follow created_at.
    rng.shuffle(values)
    if not values:
        return []
    async with session_factory() as session:
        ids = list(
            await session.scalars(
                insert(Comment).returning(Comment.id, sort_by_parameter_order=True), values
            )
        )
        await session.commit()
    return [
        CommentRow(
            id=i, issue_id=v["issue_id"], author_id=v["author_id"], created_at=v["created_at"]
        )
        for i, v in zip(ids, values, strict=True)
    ]


@dataclass
class Dataset:
    owner: Person
    bob: Person
    carol: Person
    slug: str
    key: str
    workspace_id: str
    project_id: str
    label_ids: list[str]
    issues: list[IssueRow]
    people: dict[int, Person] = field(default_factory=dict)

    @property
    def label_pks(self) -> list[int]:
        return [pk(i) for i in self.label_ids]


async def build_dataset(
    gql: GraphQLClient,
    make_person: Any,
    session_factory: SessionFactory,
    *,
    count: int = 250,
    slug: str = "acme",
    key: str = "ENG",
    seed: int = 7,
) -> Dataset:
    """A workspace with an owner and two members, four labels, and ``count`` issues."""
    alice: Person = await make_person("Alice")
    bob: Person = await make_person("Bob")
    carol: Person = await make_person("Carol")
    workspace_id = await create_workspace(gql, alice, slug)
    await add_member(gql, alice, workspace_id, bob)
    await add_member(gql, alice, workspace_id, carol, "VIEWER")
    project_id = await create_project(gql, alice, workspace_id, key)
    label_ids = [
        await create_label(gql, alice, workspace_id, n) for n in ("bug", "ui", "perf", "docs")
    ]
    issues = await insert_issues(
        session_factory,
        workspace_pk=pk(workspace_id),
        project_pk=pk(project_id),
        count=count,
        reporter_pk=alice.user_id,
        assignee_pks=[None, alice.user_id, bob.user_id, carol.user_id],
        label_pks=[pk(i) for i in label_ids],
        seed=seed,
    )
    return Dataset(
        owner=alice,
        bob=bob,
        carol=carol,
        slug=slug,
        key=key,
        workspace_id=workspace_id,
        project_id=project_id,
        label_ids=label_ids,
        issues=issues,
        people={p.user_id: p for p in (alice, bob, carol)},
    )


def sort_key(field_name: str) -> Any:
    return {
        "CREATED_AT": lambda r: (r.created_at, r.id),
        "UPDATED_AT": lambda r: (r.updated_at, r.id),
        "PRIORITY": lambda r: (PRIORITIES.index(r.priority), r.id),
        "NUMBER": lambda r: (r.number, r.id),
    }[field_name]


def expected_numbers(rows: Sequence[IssueRow], field_name: str, descending: bool) -> list[int]:
    return [r.number for r in sorted(rows, key=sort_key(field_name), reverse=descending)]


# --------------------------------------------------------------------------------------------
# A generic walker over any connection
# --------------------------------------------------------------------------------------------


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
        connection = dig(ok(body), path)
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


# --------------------------------------------------------------------------------------------
# Issue lists: every ordering, both directions
# --------------------------------------------------------------------------------------------


@pytest.fixture
async def dataset(gql: GraphQLClient, make_person: Any, session_factory: SessionFactory) -> Dataset:
    return await build_dataset(gql, make_person, session_factory)


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
    numbers = [e["node"]["number"] for e in ok(body)["project"]["issues"]["edges"]]
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
        connection: dict[str, Any] = ok(body)["project"]["issues"]
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
        {"assigneeId": user_gid(d.bob.user_id)},
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
        {"status": ["DONE"], "assigneeId": user_gid(999_999)},  # nobody has this id
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
    connection = ok(body)["project"]["issues"]
    numbers = [e["node"]["number"] for e in connection["edges"]]
    assert numbers == expected[:100]
    assert connection["totalCount"] == len(expected)
    assert {r.number for r in both if r.number <= numbers[-1]} <= set(numbers)


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
    cursor: str = ok(body)["project"]["issues"]["pageInfo"]["endCursor"]
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
    label_cursor = ok(body)["workspace"]["labels"]["pageInfo"]["endCursor"]
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
            ok(body)
    search = """query($after: String) { searchIssues(workspaceSlug: "acme", query: "crash",
        first: 5, after: $after) { edges { cursor } } }"""
    for name, cursor in OUT_OF_RANGE_SEARCH_CURSORS.items():
        body = await gql(search, {"after": cursor}, as_=alice)
        if body.get("errors"):
            code = body["errors"][0]["extensions"]["code"]
            if code != "BAD_USER_INPUT":
                failures.append(f"search {name}: {code} {body['errors'][0]['message']!r}")
        else:
            ok(body)
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
    assert ok(body)["createIssue"]["issue"], body
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
        connection = ok(body)["project"]["issues"]
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


# --------------------------------------------------------------------------------------------
# The other connections: small walks
# --------------------------------------------------------------------------------------------

CONNECTION_ARGS = "first: $first, after: $after, last: $last, before: $before"
CONNECTION_VARS = "$first: Int, $after: String, $last: Int, $before: String"


async def test_workspaces_walk(gql: GraphQLClient, make_person: Any) -> None:
    alice = await make_person("Alice")
    bob = await make_person("Bob")
    slugs = ["zeta", "alpha", "mid", "beta", "omega"]
    for slug in slugs:
        await create_workspace(gql, alice, slug)
    bob_ws = await create_workspace(gql, bob, "bobs")
    await add_member(gql, bob, bob_ws, alice, "VIEWER")  # a sixth, joined later
    await create_workspace(gql, bob, "private")  # not alice's
    query = f"""query({CONNECTION_VARS}) {{ workspaces({CONNECTION_ARGS}) {{
        totalCount {PAGE_INFO} edges {{ cursor node {{ slug viewerRole }} }} }} }}"""
    for backward, size in ((False, 2), (True, 2), (False, 3), (True, 6)):
        result = await walk(gql, alice, query, ["workspaces"], size=size, backward=backward)
        assert [n["slug"] for n in result.nodes] == [*slugs, "bobs"]
        assert [n["viewerRole"] for n in result.nodes] == ["OWNER"] * 5 + ["VIEWER"]
        assert result.total_counts == {6}
        assert result.pages == expected_pages(6, size)


async def test_projects_walk(gql: GraphQLClient, make_person: Any) -> None:
    alice = await make_person("Alice")
    workspace_id = await create_workspace(gql, alice, "acme")
    keys = ["ZED", "ALP", "MID", "BET", "QUA", "CAT", "DOG"]
    for key in keys:
        await create_project(gql, alice, workspace_id, key)
    other = await create_workspace(gql, alice, "other")
    await create_project(gql, alice, other, "AAA")  # another workspace's project
    query = f"""query({CONNECTION_VARS}) {{ workspace(slug: "acme") {{
        projects({CONNECTION_ARGS}) {{
          totalCount {PAGE_INFO} edges {{ cursor node {{ key }} }} }} }} }}"""
    for backward, size in ((False, 2), (True, 3), (False, 7), (True, 7)):
        result = await walk(
            gql, alice, query, ["workspace", "projects"], size=size, backward=backward
        )
        assert [n["key"] for n in result.nodes] == sorted(keys)
        assert result.total_counts == {len(keys)}


async def test_labels_walk(gql: GraphQLClient, make_person: Any) -> None:
    alice = await make_person("Alice")
    workspace_id = await create_workspace(gql, alice, "acme")
    names = ["ui", "bug", "perf", "docs", "api", "security", "triage", "zz-top"]
    for name in names:
        await create_label(gql, alice, workspace_id, name)
    query = f"""query({CONNECTION_VARS}) {{ workspace(slug: "acme") {{ labels({CONNECTION_ARGS}) {{
        totalCount {PAGE_INFO} edges {{ cursor node {{ name }} }} }} }} }}"""
    for backward, size in ((False, 3), (True, 3), (False, 4), (True, 1)):
        result = await walk(
            gql, alice, query, ["workspace", "labels"], size=size, backward=backward
        )
        assert [n["name"] for n in result.nodes] == sorted(names)
        assert result.total_counts == {len(names)}


async def test_members_walk(gql: GraphQLClient, make_person: Any) -> None:
    alice = await make_person("Alice")
    workspace_id = await create_workspace(gql, alice, "acme")
    others = [await make_person(f"Member {i}") for i in range(6)]
    roles = ["MEMBER", "VIEWER", "OWNER"] * 2
    for person, role in zip(others, roles, strict=True):
        await add_member(gql, alice, workspace_id, person, role)
    query = f"""query({CONNECTION_VARS}) {{ workspace(slug: "acme") {{ members({CONNECTION_ARGS}) {{
        totalCount {PAGE_INFO} edges {{ cursor node {{ role user {{ name }} }} }} }} }} }}"""
    expected = ["Alice", *(p.name for p in others)]  # in the order they joined
    for backward, size in ((False, 2), (True, 2), (False, 7), (True, 3)):
        result = await walk(
            gql, alice, query, ["workspace", "members"], size=size, backward=backward
        )
        assert [n["user"]["name"] for n in result.nodes] == expected
        assert [n["role"] for n in result.nodes] == ["OWNER", *roles]
        assert result.total_counts == {7}


async def test_comments_walk(
    gql: GraphQLClient, make_person: Any, session_factory: SessionFactory
) -> None:
    data = await build_dataset(gql, make_person, session_factory, count=3)
    target = data.issues[0]
    others = data.issues[1:]
    comments = await insert_comments(
        session_factory,
        workspace_pk=pk(data.workspace_id),
        issues=[target] * 4,  # four runs of up to 6: plenty of comments with ties
        author_pks=[data.owner.user_id, data.bob.user_id],
        max_per_issue=6,
        seed=3,
    )
    await insert_comments(
        session_factory,
        workspace_pk=pk(data.workspace_id),
        issues=others,
        author_pks=[data.bob.user_id],
        max_per_issue=4,
        seed=4,
    )
    assert len(comments) >= 8
    expected = [c.id for c in sorted(comments, key=lambda c: (c.created_at, c.id))]
    query = f"""query({CONNECTION_VARS}, $id: String!) {{
      issue(workspaceSlug: "{data.slug}", identifier: $id) {{
        comments({CONNECTION_ARGS}) {{
          totalCount {PAGE_INFO} edges {{ cursor node {{ id body author {{ name }} }} }} }} }} }}"""
    variables = {"id": f"{data.key}-{target.number}"}
    for backward, size in ((False, 3), (True, 3), (False, 5), (True, len(expected))):
        result = await walk(
            gql,
            data.owner,
            query,
            ["issue", "comments"],
            size=size,
            backward=backward,
            variables=variables,
        )
        assert [pk(n["id"]) for n in result.nodes] == expected
        assert result.total_counts == {len(expected)}
