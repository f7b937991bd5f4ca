"""The issue mutations through the GraphQL API: success (the payload and a follow-up read),
defaults and limits, partial updates, labels, assignees and the closedAt rule."""

from __future__ import annotations

from typing import Any

from tests.support.client import fails, ok
from tests.support.reads import (
    labels_in,
    moment,
    project_issues,
    read_issue,
    read_node,
)
from tests.support.world import World, user_gid

# -- issues ------------------------------------------------------------------------------------


async def test_create_issue(gql: Any, world: World) -> None:
    feature = await ok(
        gql,
        world.owner,
        "createLabel",
        {"workspaceId": world.workspace_id, "name": "feature", "color": "#00ff00"},
    )
    for number, role in [(2, "MEMBER"), (3, "OWNER")]:
        person = world.person(role)
        issue = await ok(
            gql,
            person,
            "createIssue",
            {
                "projectId": world.project_id,
                "title": f"Add dark mode {number}",
                "body": "Please",
                "status": "TODO",
                "priority": "HIGH",
                "assigneeId": user_gid(world.viewer),  # any member may be assigned
                "labelIds": [feature["id"], world.label_id],
            },
        )
        assert issue["number"] == number
        assert issue["identifier"] == f"ENG-{number}"
        assert issue["title"] == f"Add dark mode {number}"
        assert issue["body"] == "Please"
        assert issue["status"] == "TODO"
        assert issue["priority"] == "HIGH"
        assert issue["closedAt"] is None
        assert issue["project"] == {"id": world.project_id}
        assert issue["reporter"] == {"id": user_gid(person)}
        assert issue["assignee"] == {"id": user_gid(world.viewer)}
        assert {label["id"] for label in issue["labels"]} == {feature["id"], world.label_id}
        found = await read_issue(gql, world.viewer, "acme", f"ENG-{number}")
        assert found is not None
        assert found["id"] == issue["id"]
        assert found["title"] == f"Add dark mode {number}"
        assert found["status"] == "TODO"
        assert found["priority"] == "HIGH"
        assert found["assignee"] == {"id": user_gid(world.viewer)}
        assert found["reporter"] == {"id": user_gid(person)}
        assert {label["name"] for label in found["labels"]} == {"bug", "feature"}
        assert found["comments"]["totalCount"] == 0
    assert len(await project_issues(gql, world.viewer, "acme", "ENG")) == 3


async def test_create_issue_defaults_and_limits(gql: Any, world: World) -> None:
    issue = await ok(
        gql, world.member, "createIssue", {"projectId": world.project_id, "title": "x" * 200}
    )
    assert issue["title"] == "x" * 200
    assert issue["body"] == ""
    assert issue["status"] == "BACKLOG"
    assert issue["priority"] == "NONE"
    assert issue["assignee"] is None
    assert issue["labels"] == []
    assert issue["closedAt"] is None
    # a body of exactly the limit is fine
    issue = await ok(
        gql,
        world.member,
        "createIssue",
        {"projectId": world.project_id, "title": "Long", "body": "y" * 65_536},
    )
    assert len(issue["body"]) == 65_536
    assert issue["identifier"] == "ENG-3"
    # a failed create does not use up a number
    await fails(
        gql,
        world.member,
        "createIssue",
        {"projectId": world.project_id, "title": "x", "assigneeId": user_gid(world.outsider)},
        "NOT_FOUND",
    )
    await fails(
        gql, world.member, "createIssue", {"projectId": world.project_id, "title": ""}, "INVALID"
    )
    await fails(
        gql, world.viewer, "createIssue", {"projectId": world.project_id, "title": "x"}, "FORBIDDEN"
    )
    issue = await ok(
        gql, world.member, "createIssue", {"projectId": world.project_id, "title": "x"}
    )
    assert issue["identifier"] == "ENG-4"


async def test_update_issue_changes_only_given_fields(gql: Any, world: World) -> None:
    # no field at all: nothing changes (but the update succeeds)
    before = await read_issue(gql, world.owner, "acme", "ENG-1")
    issue = await ok(gql, world.member, "updateIssue", {"id": world.issue_id})
    assert issue["title"] == "Crash on start"
    after = await read_issue(gql, world.owner, "acme", "ENG-1")
    assert before is not None
    assert after is not None
    before.pop("updatedAt")
    after.pop("updatedAt")
    assert after == before
    full = await ok(
        gql,
        world.member,
        "updateIssue",
        {
            "id": world.issue_id,
            "body": "Stack trace attached",
            "status": "IN_PROGRESS",
            "priority": "URGENT",
            "assigneeId": user_gid(world.owner),
        },
    )
    assert full["title"] == "Crash on start"
    assert full["body"] == "Stack trace attached"
    assert full["labels"] == [{"id": world.label_id, "name": "bug"}]
    # one field at a time; every other field keeps its value
    expected = {
        key: full[key] for key in ("title", "body", "status", "priority", "assignee", "labels")
    }
    changes: list[tuple[str, Any, str, Any]] = [
        ("title", "Crash at startup", "title", "Crash at startup"),
        ("body", "", "body", ""),
        ("priority", "LOW", "priority", "LOW"),
        ("status", "TODO", "status", "TODO"),
        ("assigneeId", user_gid(world.member), "assignee", {"id": user_gid(world.member)}),
        ("labelIds", [], "labels", []),
    ]
    updated_at = full["updatedAt"]
    for input_field, value, output_field, output in changes:
        issue = await ok(
            gql, world.owner, "updateIssue", {"id": world.issue_id, input_field: value}
        )
        expected[output_field] = output
        assert {key: issue[key] for key in expected} == expected, input_field
        assert moment(issue["updatedAt"]) > moment(updated_at), input_field
        updated_at = issue["updatedAt"]
        found = await read_issue(gql, world.viewer, "acme", "ENG-1")
        assert found is not None
        assert {key: found[key] for key in expected} == expected, input_field
        assert found["reporter"] == {"id": user_gid(world.member)}
        assert found["comments"]["totalCount"] == 2


async def test_update_issue_assignee_null_unassigns(gql: Any, world: World) -> None:
    issue = await ok(
        gql,
        world.member,
        "updateIssue",
        {"id": world.issue_id, "assigneeId": user_gid(world.viewer)},
    )
    assert issue["assignee"] == {"id": user_gid(world.viewer)}
    # leaving assigneeId out keeps the assignee
    issue = await ok(gql, world.member, "updateIssue", {"id": world.issue_id, "title": "Renamed"})
    assert issue["assignee"] == {"id": user_gid(world.viewer)}
    # assigneeId: null (a variable) unassigns
    issue = await ok(gql, world.member, "updateIssue", {"id": world.issue_id, "assigneeId": None})
    assert issue["assignee"] is None
    assert issue["title"] == "Renamed"
    found = await read_issue(gql, world.viewer, "acme", "ENG-1")
    assert found is not None
    assert found["assignee"] is None
    assert found["title"] == "Renamed"
    # ... and so does a literal null in the document
    await ok(
        gql,
        world.member,
        "updateIssue",
        {"id": world.issue_id, "assigneeId": user_gid(world.owner)},
    )
    body = await gql(
        """mutation($id: ID!) { updateIssue(input: {id: $id, assigneeId: null}) {
            issue { assignee { id } title } userErrors { code } } }""",
        {"id": world.issue_id},
        as_=world.member,
    )
    assert body["data"]["updateIssue"] == {
        "issue": {"assignee": None, "title": "Renamed"},
        "userErrors": [],
    }, body


async def test_update_issue_labels(gql: Any, world: World) -> None:
    feature = await ok(
        gql,
        world.member,
        "createLabel",
        {"workspaceId": world.workspace_id, "name": "feature", "color": "#00ff00"},
    )
    issue = await ok(
        gql, world.member, "updateIssue", {"id": world.issue_id, "labelIds": [feature["id"]]}
    )
    assert issue["labels"] == [{"id": feature["id"], "name": "feature"}]
    found = await read_issue(gql, world.viewer, "acme", "ENG-1")
    assert found is not None
    assert found["labels"] == [{"id": feature["id"], "name": "feature"}]
    # a repeated id counts once
    issue = await ok(
        gql,
        world.member,
        "updateIssue",
        {"id": world.issue_id, "labelIds": [world.label_id, feature["id"], world.label_id]},
    )
    assert sorted(label["name"] for label in issue["labels"]) == ["bug", "feature"]
    issue = await ok(gql, world.member, "updateIssue", {"id": world.issue_id, "labelIds": []})
    assert issue["labels"] == []
    found = await read_issue(gql, world.viewer, "acme", "ENG-1")
    assert found is not None
    assert found["labels"] == []


async def test_closed_at_follows_status(gql: Any, world: World) -> None:
    """Set when the issue moves to DONE or CANCELED, cleared when it moves back."""

    async def set_status(status: str) -> dict[str, Any]:
        issue: dict[str, Any] = await ok(
            gql, world.member, "updateIssue", {"id": world.issue_id, "status": status}
        )
        assert issue["status"] == status
        found = await read_issue(gql, world.viewer, "acme", "ENG-1")
        assert found is not None
        assert (found["status"], found["closedAt"]) == (status, issue["closedAt"])
        return issue

    # an issue created closed is closed at once
    for status, closed in [("DONE", True), ("CANCELED", True), ("TODO", False), ("BACKLOG", False)]:
        created = await ok(
            gql,
            world.member,
            "createIssue",
            {"projectId": world.project_id, "title": status, "status": status},
        )
        assert created["status"] == status
        assert (created["closedAt"] is not None) is closed, created
    # each closed status, and each open status to reopen to
    for closing, reopening in [("DONE", "BACKLOG"), ("CANCELED", "TODO"), ("DONE", "IN_PROGRESS")]:
        closed_at = (await set_status(closing))["closedAt"]
        assert closed_at is not None, (closing, reopening)
        # an unrelated change keeps it
        issue = await ok(gql, world.member, "updateIssue", {"id": world.issue_id, "title": closing})
        assert issue["closedAt"] == closed_at
        assert (await set_status(reopening))["closedAt"] is None, (closing, reopening)
    # moving between the closed statuses keeps it set
    assert (await set_status("DONE"))["closedAt"] is not None
    assert (await set_status("CANCELED"))["closedAt"] is not None
    assert (await set_status("DONE"))["closedAt"] is not None


async def test_delete_issue(gql: Any, world: World) -> None:
    second = await ok(
        gql, world.owner, "createIssue", {"projectId": world.project_id, "title": "B"}
    )
    third = await ok(gql, world.owner, "createIssue", {"projectId": world.project_id, "title": "C"})
    deleted = await ok(gql, world.member, "deleteIssue", {"id": world.issue_id})
    assert deleted == world.issue_id
    assert await read_issue(gql, world.owner, "acme", "ENG-1") is None
    assert await read_node(gql, world.owner, world.issue_id) is None
    # its comments went with it
    assert await read_node(gql, world.owner, world.comment_id) is None
    assert await read_node(gql, world.owner, world.owner_comment_id) is None
    assert await project_issues(gql, world.viewer, "acme", "ENG") == [third["id"], second["id"]]
    # the label survives
    assert set(await labels_in(gql, world.owner)) == {"bug"}
    await fails(gql, world.member, "deleteIssue", {"id": world.issue_id}, "NOT_FOUND")
    # an owner may delete too
    assert await ok(gql, world.owner, "deleteIssue", {"id": third["id"]}) == third["id"]
    assert await project_issues(gql, world.viewer, "acme", "ENG") == [second["id"]]
