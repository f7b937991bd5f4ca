"""Nested reads cost a fixed number of SQL statements, whatever the page size.

docs/architecture.md, rule 3. Statements are counted on the app's own engine, on both of its
paths (``db.statements.listen``: prepared reads and units of work); each query is run once before
counting so one-off connection setup is not counted.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from db import statements
from tests.support.client import GraphQLClient, data_of
from tests.support.datasets import (
    CommentRow,
    Dataset,
    IssueRow,
    SessionFactory,
    build_dataset,
    expected_numbers,
    insert_comments,
    insert_issues,
)
from tests.support.world import add_member, create_project, pk

MAX_STATEMENTS = 8
MAX_STATEMENTS_WITH_COUNTS = 10

ISSUES_FROM = re.compile(r"\bFROM issues\b", re.IGNORECASE)


class StatementLog:
    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, statement: str) -> None:
        self.statements.append(statement)

    @property
    def count(self) -> int:
        return len(self.statements)

    def matching(self, pattern: re.Pattern[str]) -> list[str]:
        return [s for s in self.statements if pattern.search(s)]


@contextmanager
def counting(engine: AsyncEngine) -> Iterator[StatementLog]:
    log = StatementLog()
    statements.listen(engine, log)  # every statement, prepared reads and units of work alike
    try:
        yield log
    finally:
        statements.remove(engine, log)


async def measure(
    gql: GraphQLClient, engine: AsyncEngine, data: Dataset, query: str, variables: dict[str, Any]
) -> tuple[dict[str, Any], StatementLog]:
    data_of(await gql(query, variables, as_=data.owner))  # warm up: parser cache, pool connections
    with counting(engine) as log:
        body = await gql(query, variables, as_=data.owner)
    return data_of(body), log


NESTED = """query($ws: String!, $key: String!, $n: Int!) {
  project(workspaceSlug: $ws, key: $key) {
    issues(first: $n) { edges { node {
      number
      reporter { name } assignee { name } labels { name }
      comments(first: 5) { edges { node { id author { name } } } }
    } } }
  }
}"""

NESTED_WITH_COUNTS = """query($ws: String!, $key: String!, $n: Int!) {
  project(workspaceSlug: $ws, key: $key) {
    issues(first: $n) { totalCount edges { node {
      number
      reporter { name } assignee { name } labels { name }
      comments(first: 5) { totalCount edges { node { id author { name } } } }
    } } }
  }
}"""


async def _dataset_with_comments(
    gql: GraphQLClient, make_person: Any, session_factory: SessionFactory
) -> tuple[Dataset, list[CommentRow]]:
    data = await build_dataset(gql, make_person, session_factory, count=150)
    # Dave only comments: his name is not already cached from a reporter or assignee load.
    dave = await make_person("Dave")
    await add_member(gql, data.owner, data.workspace_id, dave)
    data.people[dave.user_id] = dave
    comments = await insert_comments(
        session_factory,
        workspace_pk=pk(data.workspace_id),
        issues=data.issues,
        author_pks=[data.owner.user_id, data.bob.user_id, dave.user_id],
        max_per_issue=9,  # many issues have more than a page of 5
        seed=11,
    )
    return data, comments


def _check_nested(
    data: Dataset,
    comments: list[CommentRow],
    result: dict[str, Any],
    n: int,
    *,
    with_counts: bool,
) -> None:
    """The data is right too: each issue's own reporter, assignee, labels and comment page."""
    names = {p.user_id: p.name for p in data.people.values()}
    label_names = dict(zip(data.label_pks, ("bug", "ui", "perf", "docs"), strict=True))
    rows = {r.number: r for r in data.issues}
    by_issue: dict[int, list[CommentRow]] = {}
    for c in sorted(comments, key=lambda c: (c.created_at, c.id)):
        by_issue.setdefault(c.issue_id, []).append(c)
    issues = result["project"]["issues"]
    numbers = [e["node"]["number"] for e in issues["edges"]]
    assert numbers == expected_numbers(data.issues, "CREATED_AT", descending=True)[:n]
    if with_counts:
        assert issues["totalCount"] == len(data.issues)
    for edge in issues["edges"]:
        node = edge["node"]
        row: IssueRow = rows[node["number"]]
        assert node["reporter"]["name"] == names[row.reporter_id]
        expected_assignee = names[row.assignee_id] if row.assignee_id else None
        assert (node["assignee"] or {}).get("name") == expected_assignee
        assert sorted(label["name"] for label in node["labels"]) == sorted(
            label_names[i] for i in row.label_ids
        )
        own = by_issue.get(row.id, [])
        got = node["comments"]["edges"]
        assert [pk(e["node"]["id"]) for e in got] == [c.id for c in own[:5]]
        assert [e["node"]["author"]["name"] for e in got] == [names[c.author_id] for c in own[:5]]
        if with_counts:
            assert node["comments"]["totalCount"] == len(own)


async def test_nested_issue_query_costs_the_same_for_5_and_100(
    gql: GraphQLClient, make_person: Any, session_factory: SessionFactory, app_engine: AsyncEngine
) -> None:
    data, comments = await _dataset_with_comments(gql, make_person, session_factory)
    assert sum(1 for r in data.issues[:100] if r.assignee_id) > 0
    counts: dict[int, int] = {}
    for n in (5, 100):
        result, log = await measure(
            gql, app_engine, data, NESTED, {"ws": data.slug, "key": data.key, "n": n}
        )
        _check_nested(data, comments, result, n, with_counts=False)
        authors = {
            c["node"]["author"]["name"]
            for e in result["project"]["issues"]["edges"]
            for c in e["node"]["comments"]["edges"]
        }
        assert "Dave" in authors  # so comment authors need a user load of their own
        counts[n] = log.count
        print(f"\nnested issues(first: {n}): {log.count} SQL statements")
        for statement in log.statements:
            print("   ", " ".join(statement.split())[:140])
    assert counts[5] == counts[100], counts
    assert counts[100] <= MAX_STATEMENTS, counts


async def test_nested_query_with_total_counts_costs_the_same_for_5_and_100(
    gql: GraphQLClient, make_person: Any, session_factory: SessionFactory, app_engine: AsyncEngine
) -> None:
    data, comments = await _dataset_with_comments(gql, make_person, session_factory)
    counts: dict[int, int] = {}
    for n in (5, 100):
        result, log = await measure(
            gql, app_engine, data, NESTED_WITH_COUNTS, {"ws": data.slug, "key": data.key, "n": n}
        )
        _check_nested(data, comments, result, n, with_counts=True)
        counts[n] = log.count
        print(f"\nnested issues(first: {n}) with totalCount: {log.count} SQL statements")
    assert counts[5] == counts[100], counts
    assert counts[100] <= MAX_STATEMENTS_WITH_COUNTS, counts


WORKSPACE_TREE = """query($ws: String!, $n: Int!) {
  workspace(slug: $ws) {
    projects { totalCount edges { node {
      key
      issues(first: $n) {
        %s
        pageInfo { hasNextPage }
        edges { node { identifier number reporter { name } labels { name } } }
      }
    } } }
  }
}"""


async def test_issues_of_many_projects_come_from_one_query_with_a_page_per_project(
    gql: GraphQLClient, make_person: Any, session_factory: SessionFactory, app_engine: AsyncEngine
) -> None:
    data = await build_dataset(gql, make_person, session_factory, count=30)  # project ENG
    per_project: dict[str, list[IssueRow]] = {"ENG": data.issues}
    for key, count, seed in (("OPS", 12, 21), ("WEB", 3, 22)):
        project_id = await create_project(gql, data.owner, data.workspace_id, key)
        per_project[key] = await insert_issues(
            session_factory,
            workspace_pk=pk(data.workspace_id),
            project_pk=pk(project_id),
            count=count,
            reporter_pk=data.bob.user_id,
            assignee_pks=[None],
            label_pks=data.label_pks,
            seed=seed,
        )
    await create_project(gql, data.owner, data.workspace_id, "NIL")  # a project with no issues
    per_project["NIL"] = []

    counts: dict[tuple[int, bool], int] = {}
    for with_total in (False, True):
        query = WORKSPACE_TREE % ("totalCount" if with_total else "")
        for n in (5, 20):
            result, log = await measure(gql, app_engine, data, query, {"ws": data.slug, "n": n})
            counts[(n, with_total)] = log.count
            issue_statements = log.matching(ISSUES_FROM)
            # One page query for all four projects (+ one batched COUNT when totalCount is asked).
            assert len(issue_statements) == (2 if with_total else 1), issue_statements
            print(
                f"\nworkspace > 4 projects > issues(first: {n}), totalCount={with_total}: "
                f"{log.count} SQL statements"
            )
            projects = result["workspace"]["projects"]
            assert projects["totalCount"] == 4
            seen = {}
            for edge in projects["edges"]:
                project = edge["node"]
                key = project["key"]
                rows = per_project[key]
                issues = project["issues"]
                expected = expected_numbers(rows, "CREATED_AT", descending=True)[:n]
                # Each project gets its own first n, not a share of one global LIMIT.
                assert [e["node"]["number"] for e in issues["edges"]] == expected, key
                assert all(
                    e["node"]["identifier"] == f"{key}-{e['node']['number']}"
                    for e in issues["edges"]
                ), key
                assert issues["pageInfo"]["hasNextPage"] is (len(rows) > n), key
                if with_total:
                    assert issues["totalCount"] == len(rows), key
                seen[key] = len(issues["edges"])
            assert seen == {k: min(len(v), n) for k, v in per_project.items()}
    assert counts[(5, False)] == counts[(20, False)], counts
    assert counts[(5, True)] == counts[(20, True)], counts
    assert counts[(20, False)] <= MAX_STATEMENTS, counts
    assert counts[(20, True)] <= MAX_STATEMENTS_WITH_COUNTS, counts
