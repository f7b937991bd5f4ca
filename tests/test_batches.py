"""A batch is sequential in effect: each operation sees every earlier operation's writes.

For every mutation of the contract, one batch reads what the mutation changes, runs the
mutation, and reads it again: the read before primes the request's loaders, so a stale cache
would answer the old value after the write. A batch that takes the viewer's own membership
away ends their access within the same batch.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.support.jobs import Space, issues_csv, job_of, make_space, start_triage
from tests.support.world import add_member


async def batch(
    client: httpx.AsyncClient, person: Any, operations: list[tuple[str, dict[str, Any]]]
) -> list[dict[str, Any]]:
    response = await client.post(
        "/graphql",
        json=[{"query": q, "variables": v} for q, v in operations],
        headers=person.headers,
    )
    assert response.status_code == 200, response.text
    answers: list[dict[str, Any]] = response.json()
    for answer in answers:
        assert "errors" not in answer, json.dumps(answers, indent=1)
    return answers


def payload_ok(answer: dict[str, Any]) -> dict[str, Any]:
    [payload] = answer["data"].values()
    assert payload["userErrors"] == [], payload
    return dict(payload)


NODE = (
    "query($id: ID!) { node(id: $id) { id ... on Project { name } ... on Label { name } "
    "... on Issue { title } ... on Comment { body } ... on Job { status } } }"
)
MEMBERS = (
    "query($s: String!) { workspace(slug: $s) { members { edges { node { role "
    "user { name } } } } } }"
)
LABELS = "query($s: String!) { workspace(slug: $s) { labels { edges { node { name } } } } }"
JOBS = "query($s: String!) { workspace(slug: $s) { jobs { totalCount } } }"
ISSUES = (
    "query($s: String!, $k: String!) { project(workspaceSlug: $s, key: $k) { "
    "issues { totalCount edges { node { title } } } } }"
)
COMMENTS = (
    "query($id: ID!) { node(id: $id) { ... on Issue { comments { totalCount "
    "edges { node { body } } } } } }"
)


def mutation(name: str, fields: str) -> str:
    input_type = name[0].upper() + name[1:] + "Input"
    return (
        f"mutation($input: {input_type}!) {{ {name}(input: $input) {{ {fields} "
        "userErrors { code } } }"
    )


async def world(gql: Any, make_person: Any) -> tuple[Any, Any, Space, dict[str, str]]:
    """An owner, a person to add, a workspace with a project, an issue, a label, a comment."""
    owner, other = await make_person("Owner"), await make_person("Other")
    space = await make_space(gql, owner, "batches")
    ids: dict[str, str] = {}
    for name, variables, field in (
        (
            "createLabel",
            {"workspaceId": space.workspace, "name": "bug", "color": "#d73a4a"},
            "label",
        ),
        ("addComment", {"issueId": space.issue, "body": "First."}, "comment"),
    ):
        body = await gql(mutation(name, f"{field} {{ id }}"), {"input": variables}, as_=owner)
        ids[field] = body["data"][name][field]["id"]
    return owner, other, space, ids


def node(answer: dict[str, Any]) -> Any:
    return answer["data"]["node"]


async def test_every_mutation_sees_what_came_before_and_is_seen_after(
    client: httpx.AsyncClient, gql: Any, make_person: Any
) -> None:
    owner, other, space, ids = await world(gql, make_person)
    s = space.slug

    before, _, after = await batch(
        client,
        owner,
        [
            ("query($s: String!) { workspace(slug: $s) { name } }", {"s": "batch-new"}),
            (
                mutation("createWorkspace", "workspace { id }"),
                {"input": {"slug": "batch-new", "name": "New"}},
            ),
            ("query($s: String!) { workspace(slug: $s) { name } }", {"s": "batch-new"}),
        ],
    )
    assert before["data"]["workspace"] is None
    assert after["data"]["workspace"] == {"name": "New"}

    def names(answer: dict[str, Any]) -> dict[str, str]:
        edges = answer["data"]["workspace"]["members"]["edges"]
        return {e["node"]["user"]["name"]: e["node"]["role"] for e in edges}

    member_id = f"{other.user_id}"
    from schema.ids import to_global_id

    user_gid = to_global_id("User", int(member_id))
    answers = await batch(
        client,
        owner,
        [
            (MEMBERS, {"s": s}),
            (
                mutation("addMember", "membership { role }"),
                {"input": {"workspaceId": space.workspace, "email": other.email, "role": "MEMBER"}},
            ),
            (MEMBERS, {"s": s}),
            (
                mutation("updateMember", "membership { role }"),
                {"input": {"workspaceId": space.workspace, "userId": user_gid, "role": "VIEWER"}},
            ),
            (MEMBERS, {"s": s}),
            (
                mutation("removeMember", "removedUserId"),
                {"input": {"workspaceId": space.workspace, "userId": user_gid}},
            ),
            (MEMBERS, {"s": s}),
        ],
    )
    assert names(answers[0]) == {"Owner": "OWNER"}
    assert names(answers[2]) == {"Owner": "OWNER", "Other": "MEMBER"}
    assert names(answers[4]) == {"Owner": "OWNER", "Other": "VIEWER"}
    assert names(answers[6]) == {"Owner": "OWNER"}

    answers = await batch(
        client,
        owner,
        [
            (ISSUES, {"s": s, "k": "NEW"}),
            (
                mutation("createProject", "project { id }"),
                {"input": {"workspaceId": space.workspace, "key": "NEW", "name": "New"}},
            ),
            (ISSUES, {"s": s, "k": "NEW"}),
            (NODE, {"id": space.project}),
            (
                mutation("updateProject", "project { id }"),
                {"input": {"id": space.project, "name": "Renamed"}},
            ),
            (NODE, {"id": space.project}),
        ],
    )
    assert answers[0]["data"]["project"] is None
    assert answers[2]["data"]["project"] == {"issues": {"totalCount": 0, "edges": []}}
    assert node(answers[3])["name"] == "Eng"
    assert node(answers[5])["name"] == "Renamed"

    answers = await batch(
        client,
        owner,
        [
            (LABELS, {"s": s}),
            (
                mutation("createLabel", "label { id }"),
                {"input": {"workspaceId": space.workspace, "name": "feature", "color": "#00ff00"}},
            ),
            (LABELS, {"s": s}),
            (NODE, {"id": ids["label"]}),
            (
                mutation("updateLabel", "label { id }"),
                {"input": {"id": ids["label"], "name": "defect"}},
            ),
            (NODE, {"id": ids["label"]}),
            (mutation("deleteLabel", "deletedLabelId"), {"input": {"id": ids["label"]}}),
            (NODE, {"id": ids["label"]}),
        ],
    )

    def label_names(answer: dict[str, Any]) -> list[str]:
        return [e["node"]["name"] for e in answer["data"]["workspace"]["labels"]["edges"]]

    assert label_names(answers[0]) == ["bug"]
    assert label_names(answers[2]) == ["bug", "feature"]
    assert node(answers[3])["name"] == "bug"
    assert node(answers[5])["name"] == "defect"
    assert node(answers[7]) is None

    answers = await batch(
        client,
        owner,
        [
            (ISSUES, {"s": s, "k": "ENG"}),
            (
                mutation("createIssue", "issue { id }"),
                {"input": {"projectId": space.project, "title": "Second"}},
            ),
            (ISSUES, {"s": s, "k": "ENG"}),
            (NODE, {"id": space.issue}),
            (
                mutation("updateIssue", "issue { id }"),
                {"input": {"id": space.issue, "title": "Retitled"}},
            ),
            (NODE, {"id": space.issue}),
        ],
    )
    assert answers[0]["data"]["project"]["issues"]["totalCount"] == 1
    assert answers[2]["data"]["project"]["issues"]["totalCount"] == 2
    second = payload_ok(answers[1])["issue"]["id"]
    assert node(answers[3])["title"] == "App crashes on start"
    assert node(answers[5])["title"] == "Retitled"

    answers = await batch(
        client,
        owner,
        [
            (COMMENTS, {"id": space.issue}),
            (
                mutation("addComment", "comment { id }"),
                {"input": {"issueId": space.issue, "body": "Second."}},
            ),
            (COMMENTS, {"id": space.issue}),
            (NODE, {"id": ids["comment"]}),
            (
                mutation("updateComment", "comment { id }"),
                {"input": {"id": ids["comment"], "body": "Edited."}},
            ),
            (NODE, {"id": ids["comment"]}),
            (mutation("deleteComment", "deletedCommentId"), {"input": {"id": ids["comment"]}}),
            (NODE, {"id": ids["comment"]}),
            (COMMENTS, {"id": space.issue}),
        ],
    )
    assert answers[0]["data"]["node"]["comments"]["totalCount"] == 1
    assert answers[2]["data"]["node"]["comments"]["totalCount"] == 2
    assert node(answers[3])["body"] == "First."
    assert node(answers[5])["body"] == "Edited."
    assert node(answers[7]) is None
    assert answers[8]["data"]["node"]["comments"]["edges"] == [{"node": {"body": "Second."}}]

    answers = await batch(
        client,
        owner,
        [
            (NODE, {"id": second}),
            (mutation("deleteIssue", "deletedIssueId"), {"input": {"id": second}}),
            (NODE, {"id": second}),
        ],
    )
    assert node(answers[0])["title"] == "Second"
    assert node(answers[2]) is None

    job_fields = "job { id status }"
    queued = job_of(await start_triage(gql, owner, space.issue))
    answers = await batch(
        client,
        owner,
        [
            (JOBS, {"s": s}),
            (
                mutation("importIssues", job_fields),
                {"input": {"projectId": space.project, "csv": issues_csv(1)}},
            ),
            (JOBS, {"s": s}),
            (
                mutation("exportProject", job_fields),
                {"input": {"projectId": space.project, "format": "CSV"}},
            ),
            (JOBS, {"s": s}),
            (mutation("triageIssue", job_fields), {"input": {"issueId": space.issue}}),
            (JOBS, {"s": s}),
            (NODE, {"id": queued["id"]}),
            (mutation("cancelJob", job_fields), {"input": {"id": queued["id"]}}),
            (NODE, {"id": queued["id"]}),
        ],
    )
    assert [a["data"]["workspace"]["jobs"]["totalCount"] for a in answers[0:7:2]] == [1, 2, 3, 4]
    assert node(answers[7])["status"] == "QUEUED"
    assert node(answers[9])["status"] == "CANCELED"


async def test_losing_a_membership_ends_access_within_the_batch(
    client: httpx.AsyncClient, gql: Any, make_person: Any
) -> None:
    owner, other = await make_person("Owner"), await make_person("Co-owner")
    space = await make_space(gql, owner, "leaving")
    await add_member(gql, owner, space.workspace, other, "OWNER")
    from schema.ids import to_global_id

    me = to_global_id("User", owner.user_id)
    read = ("query($s: String!) { workspace(slug: $s) { name } }", {"s": space.slug})
    answers = await batch(
        client,
        owner,
        [
            read,
            (
                mutation("removeMember", "removedUserId"),
                {"input": {"workspaceId": space.workspace, "userId": me}},
            ),
            read,
        ],
    )
    assert answers[0]["data"]["workspace"] == {"name": "Leaving"}
    payload_ok(answers[1])
    assert answers[2]["data"]["workspace"] is None
