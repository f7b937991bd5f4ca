"""The project and label mutations through the GraphQL API: success (the payload and a follow-up
read), partial updates and conflicts."""

from __future__ import annotations

from typing import Any

from tests.support.client import fails, ok, query
from tests.support.error_cases import ErrorCases, expect_error, report
from tests.support.reads import (
    labels_in,
    read_issue,
    read_node,
)
from tests.support.world import World

# -- projects ----------------------------------------------------------------------------------

PROJECT_QUERY = """query($slug: String!, $key: String!) { project(workspaceSlug: $slug, key: $key) {
    id key name description workspace { id } } }"""


async def test_create_project(gql: Any, world: World) -> None:
    for role, key in [("OWNER", "OPS"), ("MEMBER", "WEB")]:
        project = await ok(
            gql,
            world.person(role),
            "createProject",
            {"workspaceId": world.workspace_id, "key": key, "name": "Ops", "description": "Infra"},
        )
        assert project["key"] == key
        assert project["name"] == "Ops"
        assert project["description"] == "Infra"
        assert project["workspace"] == {"id": world.workspace_id, "slug": "acme"}
        found = (await query(gql, world.viewer, PROJECT_QUERY, slug="acme", key=key))["project"]
        assert found == {
            "id": project["id"],
            "key": key,
            "name": "Ops",
            "description": "Infra",
            "workspace": {"id": world.workspace_id},
        }
        # its issues are numbered from 1
        issue = await ok(
            gql, world.member, "createIssue", {"projectId": project["id"], "title": "x"}
        )
        assert issue["identifier"] == f"{key}-1"
    # the boundaries of a valid key and name; the description is optional
    for key in ["AB", "A1", "Z123456789"]:
        project = await ok(
            gql,
            world.member,
            "createProject",
            {"workspaceId": world.workspace_id, "key": key, "name": "x" * 200},
        )
        assert (project["key"], project["name"], project["description"]) == (key, "x" * 200, "")
    # a key is unique within its workspace
    report(
        await expect_error(
            gql,
            world.engine,
            world.member,
            "createProject",
            {"workspaceId": world.workspace_id, "key": "ENG", "name": "Engineering again"},
            "CONFLICT",
            ["input", "key"],
        )
    )
    # the same key in another workspace is fine
    project = await ok(
        gql,
        world.outsider,
        "createProject",
        {"workspaceId": world.other_workspace_id, "key": "ENG", "name": "Their Eng"},
    )
    assert project["key"] == "ENG"


async def test_update_project_changes_only_given_fields(gql: Any, world: World) -> None:
    project = await ok(
        gql, world.member, "updateProject", {"id": world.project_id, "description": "Core"}
    )
    assert (project["name"], project["description"]) == ("Eng", "Core")
    project = await ok(
        gql, world.member, "updateProject", {"id": world.project_id, "name": "Engineering"}
    )
    assert project["name"] == "Engineering"
    assert project["description"] == "Core"
    assert project["key"] == "ENG"
    found = (await query(gql, world.viewer, PROJECT_QUERY, slug="acme", key="ENG"))["project"]
    assert found["name"] == "Engineering"
    assert found["description"] == "Core"
    # an empty description is allowed and clears it; the owner may update too
    project = await ok(
        gql, world.owner, "updateProject", {"id": world.project_id, "description": ""}
    )
    assert project["description"] == ""
    assert project["name"] == "Engineering"
    found = (await query(gql, world.viewer, PROJECT_QUERY, slug="acme", key="ENG"))["project"]
    assert found["description"] == ""


# -- labels ------------------------------------------------------------------------------------


async def test_create_label(gql: Any, world: World) -> None:
    for role, name in [("OWNER", "feature"), ("MEMBER", "x" * 200)]:
        label = await ok(
            gql,
            world.person(role),
            "createLabel",
            {"workspaceId": world.workspace_id, "name": name, "color": "#00ff00"},
        )
        assert label["name"] == name
        assert label["color"] == "#00ff00"
        assert (await labels_in(gql, world.viewer))[name] == label
        assert await read_node(gql, world.viewer, label["id"], "... on Label { name }") == {
            "id": label["id"],
            "name": name,
        }
    assert set(await labels_in(gql, world.viewer)) == {"bug", "feature", "x" * 200}
    # names are unique in a workspace, case-insensitively, on create and on rename
    check = ErrorCases(gql, world.engine)
    for name in ["bug", "BUG", "Bug"]:
        await check.expect(
            world.member,
            "createLabel",
            {"workspaceId": world.workspace_id, "name": name, "color": "#000000"},
            "CONFLICT",
            ["input", "name"],
            name,
        )
    for name in ["feature", "FEATURE", "Feature"]:
        await check.expect(
            world.member,
            "updateLabel",
            {"id": world.label_id, "name": name, "color": "#ffffff"},
            "CONFLICT",
            ["input", "name"],
            name,
        )
    check.report()
    # the same name in another workspace is fine
    await ok(
        gql,
        world.outsider,
        "createLabel",
        {"workspaceId": world.other_workspace_id, "name": "bug", "color": "#000000"},
    )


async def test_update_label(gql: Any, world: World) -> None:
    label = await ok(gql, world.member, "updateLabel", {"id": world.label_id, "color": "#0000ff"})
    assert label == {"id": world.label_id, "name": "bug", "color": "#0000ff"}
    label = await ok(gql, world.owner, "updateLabel", {"id": world.label_id, "name": "defect"})
    assert label == {"id": world.label_id, "name": "defect", "color": "#0000ff"}
    assert await labels_in(gql, world.viewer) == {"defect": label}
    # issues carrying it see the new name
    issue = await read_issue(gql, world.viewer, "acme", "ENG-1")
    assert issue is not None
    assert issue["labels"] == [{"id": world.label_id, "name": "defect"}]
    # changing only the case of its own name is no conflict with itself
    label = await ok(gql, world.member, "updateLabel", {"id": world.label_id, "name": "Defect"})
    assert label["name"] == "Defect"


async def test_delete_label(gql: Any, world: World) -> None:
    feature = await ok(
        gql,
        world.owner,
        "createLabel",
        {"workspaceId": world.workspace_id, "name": "feature", "color": "#00ff00"},
    )
    await ok(
        gql,
        world.member,
        "updateIssue",
        {"id": world.issue_id, "labelIds": [world.label_id, feature["id"]]},
    )
    for role, label_id, left in [
        ("MEMBER", world.label_id, {"feature"}),
        ("OWNER", feature["id"], set()),
    ]:
        deleted = await ok(gql, world.person(role), "deleteLabel", {"id": label_id})
        assert deleted == label_id
        assert set(await labels_in(gql, world.viewer)) == left
        assert await read_node(gql, world.owner, label_id) is None
        # the issue that carried it no longer does, and is otherwise intact
        issue = await read_issue(gql, world.viewer, "acme", "ENG-1")
        assert issue is not None
        assert {label["name"] for label in issue["labels"]} == left
        assert issue["title"] == "Crash on start"
        # deleting it again: not found
        await fails(gql, world.member, "deleteLabel", {"id": label_id}, "NOT_FOUND")
