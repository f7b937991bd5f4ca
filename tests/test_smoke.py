from __future__ import annotations

from typing import Any


async def test_create_workspace_and_read_it(gql: Any, make_person: Any) -> None:
    alice = await make_person("Alice")
    body = await gql(
        """mutation { createWorkspace(input: {slug: "acme", name: "Acme"}) {
            workspace { id slug name viewerRole } userErrors { field message code } } }""",
        as_=alice,
    )
    assert body["data"]["createWorkspace"]["userErrors"] == [], body
    ws = body["data"]["createWorkspace"]["workspace"]
    assert ws["viewerRole"] == "OWNER"
    body = await gql(
        """mutation($ws: ID!) { createProject(input: {workspaceId: $ws, key: "ENG", name: "Eng"}) {
            project { id key } userErrors { code message } } }""",
        {"ws": ws["id"]},
        as_=alice,
    )
    project = body["data"]["createProject"]["project"]
    body = await gql(
        """mutation($p: ID!) { createIssue(input: {projectId: $p, title: "First"}) {
            issue { id identifier title status reporter { name email } labels { name } }
            userErrors { code message } } }""",
        {"p": project["id"]},
        as_=alice,
    )
    assert body["data"]["createIssue"]["issue"]["identifier"] == "ENG-1", body
    body = await gql(
        """{ workspace(slug: "acme") { projects { totalCount edges { node { key
             issues(first: 5) { totalCount edges { cursor node {
               identifier reporter { name } comments { totalCount } } } } } } } } }""",
        as_=alice,
    )
    assert "errors" not in body, body
    issues = body["data"]["workspace"]["projects"]["edges"][0]["node"]["issues"]
    assert issues["totalCount"] == 1
    assert issues["edges"][0]["node"]["identifier"] == "ENG-1"


async def test_unauthenticated_gets_401(gql: Any) -> None:
    body = await gql("{ viewer { id } }", expect_status=401)
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    body = await gql("{ __typename }")
    assert body["data"] == {"__typename": "Query"}
