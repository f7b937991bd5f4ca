"""Follow-up reads through the API that check what a mutation did."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tests.support.client import query


async def read_node(gql: Any, person: Any, id: str, fields: str = "") -> dict[str, Any] | None:
    node: dict[str, Any] | None = (
        await query(gql, person, f"query($id: ID!) {{ node(id: $id) {{ id {fields} }} }}", id=id)
    )["node"]
    return node


async def read_issue(gql: Any, person: Any, slug: str, identifier: str) -> dict[str, Any] | None:
    data = await query(
        gql,
        person,
        """query($slug: String!, $identifier: String!) {
            issue(workspaceSlug: $slug, identifier: $identifier) {
                id identifier title body status priority closedAt updatedAt
                reporter { id } assignee { id } labels { id name }
                comments(first: 100) { totalCount edges { node { id body author { id } } } } } }""",
        slug=slug,
        identifier=identifier,
    )
    issue: dict[str, Any] | None = data["issue"]
    return issue


async def project_issues(gql: Any, person: Any, slug: str, key: str) -> list[str]:
    data = await query(
        gql,
        person,
        """query($slug: String!, $key: String!) { project(workspaceSlug: $slug, key: $key) {
            issues(first: 100) { totalCount edges { node { id } } } } }""",
        slug=slug,
        key=key,
    )
    issues = data["project"]["issues"]
    ids = [edge["node"]["id"] for edge in issues["edges"]]
    assert issues["totalCount"] == len(ids)
    return ids


async def workspace_count(gql: Any, person: Any) -> int:
    count: int = (await query(gql, person, "{ workspaces { totalCount } }"))["workspaces"][
        "totalCount"
    ]
    return count


async def roles_in(gql: Any, person: Any, slug: str = "acme") -> dict[str, str]:
    data = await query(
        gql,
        person,
        """query($slug: String!) { workspace(slug: $slug) {
            members(first: 100) { totalCount edges { node { role user { id } } } } } }""",
        slug=slug,
    )
    edges = data["workspace"]["members"]["edges"]
    assert data["workspace"]["members"]["totalCount"] == len(edges)
    return {edge["node"]["user"]["id"]: edge["node"]["role"] for edge in edges}


async def viewer_role(gql: Any, person: Any, slug: str = "acme") -> str | None:
    """The person's role in the workspace, or None when ``workspace(slug)`` is null for them."""
    data = await query(
        gql, person, "query($slug: String!) { workspace(slug: $slug) { viewerRole } }", slug=slug
    )
    if data["workspace"] is None:
        return None
    role: str = data["workspace"]["viewerRole"]
    return role


async def labels_in(gql: Any, person: Any, slug: str = "acme") -> dict[str, dict[str, Any]]:
    data = await query(
        gql,
        person,
        """query($slug: String!) { workspace(slug: $slug) {
            labels(first: 100) { totalCount edges { node { id name color } } } } }""",
        slug=slug,
    )
    labels = data["workspace"]["labels"]
    assert labels["totalCount"] == len(labels["edges"])
    return {edge["node"]["name"]: edge["node"] for edge in labels["edges"]}


def moment(value: str) -> datetime:
    return datetime.fromisoformat(value)
