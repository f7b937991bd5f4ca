"""Keyset pagination of the other connections (workspaces, projects, labels, members,
comments): small walks in both directions."""

from __future__ import annotations

from typing import Any

from tests.support.client import GraphQLClient
from tests.support.datasets import (
    SessionFactory,
    build_dataset,
    insert_comments,
)
from tests.support.walks import (
    PAGE_INFO,
    expected_pages,
    walk,
)
from tests.support.world import add_member, create_label, create_project, create_workspace, pk

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
