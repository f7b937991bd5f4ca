"""Concurrent writers: issue numbers per project are consecutive and never repeat."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import func, select

from db.models import Issue, Project
from tests.support.client import GraphQLClient, Person, data_of
from tests.support.datasets import SessionFactory
from tests.support.world import add_member, create_project, create_workspace, pk

CREATE_ISSUE = """mutation($p: ID!, $title: String!) {
  createIssue(input: {projectId: $p, title: $title}) {
    issue { id number identifier title }
    userErrors { field message code }
  }
}"""


async def _create(
    gql: GraphQLClient, person: Person, project_id: str, title: str
) -> dict[str, Any]:
    body = await gql(CREATE_ISSUE, {"p": project_id, "title": title}, as_=person)
    payload = data_of(body)["createIssue"]
    assert payload["userErrors"] == [], payload
    issue: dict[str, Any] = payload["issue"]
    assert issue["title"] == title
    return issue


async def test_50_concurrent_creates_get_consecutive_numbers(
    gql: GraphQLClient, make_person: Any, session_factory: SessionFactory
) -> None:
    alice = await make_person("Alice")
    bob = await make_person("Bob")
    workspace_id = await create_workspace(gql, alice, "acme")
    await add_member(gql, alice, workspace_id, bob)
    project_id = await create_project(gql, alice, workspace_id, "KEY")

    issues = await asyncio.gather(
        *(_create(gql, alice if i % 2 else bob, project_id, f"Issue {i}") for i in range(50))
    )

    numbers = sorted(i["number"] for i in issues)
    assert numbers == list(range(1, 51))
    assert sorted(i["identifier"] for i in issues) == sorted(f"KEY-{n}" for n in range(1, 51))
    assert all(i["identifier"] == f"KEY-{i['number']}" for i in issues)
    assert len({i["id"] for i in issues}) == 50
    async with session_factory() as session:
        counter = await session.scalar(
            select(Project.issue_counter).where(Project.id == pk(project_id))
        )
        stored = list(
            await session.scalars(
                select(Issue.number)
                .where(Issue.project_id == pk(project_id))
                .order_by(Issue.number)
            )
        )
    assert counter == 50
    assert stored == list(range(1, 51))
    # The next issue continues the sequence.
    assert (await _create(gql, alice, project_id, "After the rush"))["identifier"] == "KEY-51"


async def test_concurrent_creates_in_two_projects_number_independently(
    gql: GraphQLClient, make_person: Any, session_factory: SessionFactory
) -> None:
    alice = await make_person("Alice")
    workspace_id = await create_workspace(gql, alice, "acme")
    eng = await create_project(gql, alice, workspace_id, "ENG")
    ops = await create_project(gql, alice, workspace_id, "OPS")

    issues = await asyncio.gather(
        *(_create(gql, alice, eng if i % 2 else ops, f"Issue {i}") for i in range(40))
    )

    for key in ("ENG", "OPS"):
        mine = [i for i in issues if i["identifier"].startswith(f"{key}-")]
        assert sorted(i["number"] for i in mine) == list(range(1, 21)), key
    async with session_factory() as session:
        duplicates = await session.scalar(
            select(func.count()).select_from(
                select(Issue.project_id, Issue.number)
                .group_by(Issue.project_id, Issue.number)
                .having(func.count() > 1)
                .subquery()
            )
        )
    assert duplicates == 0
