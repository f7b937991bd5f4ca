"""createWorkspace and the member mutations through the GraphQL API: success (the payload and
a follow-up read), conflicts, and the last OWNER."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.client import fails, ok, query
from tests.support.error_cases import ErrorCases, expect_error, report
from tests.support.reads import (
    read_issue,
    read_node,
    roles_in,
    viewer_role,
    workspace_count,
)
from tests.support.world import World, create_workspace, user_gid

# -- createWorkspace ---------------------------------------------------------------------------


async def test_create_workspace(gql: Any, make_person: Any) -> None:
    alice = await make_person("Alice")
    workspace = await ok(gql, alice, "createWorkspace", {"slug": "acme-2", "name": "Acme Two"})
    assert workspace["slug"] == "acme-2"
    assert workspace["name"] == "Acme Two"
    assert workspace["viewerRole"] == "OWNER"
    data = await query(
        gql,
        alice,
        """{ workspace(slug: "acme-2") { id name viewerRole
               members { totalCount edges { node { role user { id email } } } } }
             workspaces { totalCount edges { node { slug } } } }""",
    )
    assert data["workspace"]["id"] == workspace["id"]
    assert data["workspace"]["viewerRole"] == "OWNER"
    assert data["workspace"]["members"]["totalCount"] == 1
    assert data["workspace"]["members"]["edges"][0]["node"] == {
        "role": "OWNER",
        "user": {"id": user_gid(alice), "email": alice.email},
    }
    assert data["workspaces"]["totalCount"] == 1
    assert await read_node(gql, alice, workspace["id"], "... on Workspace { slug }") == {
        "id": workspace["id"],
        "slug": "acme-2",
    }
    # the boundaries of a valid slug and name
    for slug in ["a", "7", "a" * 40, "a-b-c", "x1-2y"]:
        created = await ok(gql, alice, "createWorkspace", {"slug": slug, "name": "x" * 200})
        assert (created["slug"], created["name"]) == (slug, "x" * 200)
    assert await workspace_count(gql, alice) == 6


async def test_create_workspace_duplicate_slug_conflicts(
    gql: Any, make_person: Any, engine: AsyncEngine
) -> None:
    alice, bob = await make_person("Alice"), await make_person("Bob")
    await create_workspace(gql, alice, "acme", "Acme")
    report(
        await expect_error(
            gql,
            engine,
            bob,
            "createWorkspace",
            {"slug": "acme", "name": "Bob's"},
            "CONFLICT",
            ["input", "slug"],
        )
        # the owner trying again is refused the same way
        + await expect_error(
            gql,
            engine,
            alice,
            "createWorkspace",
            {"slug": "acme", "name": "Again"},
            "CONFLICT",
            ["input", "slug"],
        )
    )
    assert await workspace_count(gql, bob) == 0
    assert await workspace_count(gql, alice) == 1
    assert await viewer_role(gql, bob) is None


# -- members ----------------------------------------------------------------------------------


async def test_add_member(gql: Any, world: World, make_person: Any) -> None:
    for role in ["OWNER", "MEMBER", "VIEWER"]:
        newcomer = await make_person(f"New {role.title()}")
        assert await viewer_role(gql, newcomer) is None
        # the email matches case-insensitively
        email = newcomer.email.upper() if role == "VIEWER" else newcomer.email
        membership = await ok(
            gql,
            world.owner,
            "addMember",
            {"workspaceId": world.workspace_id, "email": email, "role": role},
        )
        assert membership == {
            "role": role,
            "user": {"id": user_gid(newcomer), "name": newcomer.name, "email": newcomer.email},
        }
        assert (await roles_in(gql, world.owner))[user_gid(newcomer)] == role
        # the newcomer sees the workspace on their very next request, with that role
        assert await viewer_role(gql, newcomer) == role
        assert await read_issue(gql, newcomer, "acme", "ENG-1") is not None
    assert len(await roles_in(gql, world.viewer)) == 6
    # adding someone who is already a member, whatever their role
    check = ErrorCases(gql, world.engine)
    for existing in ["OWNER", "MEMBER", "VIEWER"]:
        await check.expect(
            world.owner,
            "addMember",
            {
                "workspaceId": world.workspace_id,
                "email": world.person(existing).email,
                "role": "VIEWER",
            },
            "CONFLICT",
            None,
            f"existing {existing}",
        )
    check.report()
    roles = await roles_in(gql, world.owner)
    assert [roles[user_gid(world.person(r))] for r in ["OWNER", "MEMBER", "VIEWER"]] == [
        "OWNER",
        "MEMBER",
        "VIEWER",
    ]


async def test_update_member(gql: Any, world: World) -> None:
    for person, role in [
        (world.owner, "OWNER"),  # the last owner keeping their role is no demotion
        (world.member, "VIEWER"),
        (world.member, "VIEWER"),  # to the role they have: fine
        (world.viewer, "MEMBER"),
        (world.member, "OWNER"),
        (world.member, "MEMBER"),  # an owner demoted while another owner remains
    ]:
        membership = await ok(
            gql,
            world.owner,
            "updateMember",
            {"workspaceId": world.workspace_id, "userId": user_gid(person), "role": role},
        )
        assert membership["role"] == role
        assert membership["user"]["id"] == user_gid(person)
        assert (await roles_in(gql, world.owner))[user_gid(person)] == role
        assert await viewer_role(gql, person) == role
    # the new roles apply at once: a demoted member loses write access...
    await ok(
        gql,
        world.owner,
        "updateMember",
        {"workspaceId": world.workspace_id, "userId": user_gid(world.member), "role": "VIEWER"},
    )
    check = ErrorCases(gql, world.engine)
    await check.expect(
        world.member, "createIssue", {"projectId": world.project_id, "title": "x"}, "FORBIDDEN"
    )
    # a VIEWER may neither edit nor delete a comment, even their own
    await check.expect(
        world.member, "updateComment", {"id": world.comment_id, "body": "Edited"}, "FORBIDDEN"
    )
    await check.expect(world.member, "deleteComment", {"id": world.comment_id}, "FORBIDDEN")
    check.report()
    # ... and a promoted one gains owner rights at once
    await ok(
        gql,
        world.owner,
        "updateMember",
        {"workspaceId": world.workspace_id, "userId": user_gid(world.viewer), "role": "OWNER"},
    )
    await ok(
        gql,
        world.viewer,
        "removeMember",
        {"workspaceId": world.workspace_id, "userId": user_gid(world.member)},
    )


async def test_the_last_owner_cannot_be_demoted_or_removed(gql: Any, world: World) -> None:
    check = ErrorCases(gql, world.engine)
    for role in ["MEMBER", "VIEWER"]:
        await check.expect(
            world.owner,
            "updateMember",
            {"workspaceId": world.workspace_id, "userId": user_gid(world.owner), "role": role},
            "CONFLICT",
            None,
            f"demote the last owner to {role}",
        )
    await check.expect(
        world.owner,
        "removeMember",
        {"workspaceId": world.workspace_id, "userId": user_gid(world.owner)},
        "CONFLICT",
        None,
        "remove the last owner",
    )
    check.report()
    assert await viewer_role(gql, world.owner) == "OWNER"
    # with a second owner, one may step down
    await ok(
        gql,
        world.owner,
        "updateMember",
        {"workspaceId": world.workspace_id, "userId": user_gid(world.member), "role": "OWNER"},
    )
    membership = await ok(
        gql,
        world.owner,
        "updateMember",
        {"workspaceId": world.workspace_id, "userId": user_gid(world.owner), "role": "MEMBER"},
    )
    assert membership["role"] == "MEMBER"
    assert await viewer_role(gql, world.owner) == "MEMBER"
    # now the former member is the last owner
    report(
        await expect_error(
            gql,
            world.engine,
            world.member,
            "updateMember",
            {"workspaceId": world.workspace_id, "userId": user_gid(world.member), "role": "VIEWER"},
            "CONFLICT",
        )
        + await expect_error(
            gql,
            world.engine,
            world.member,
            "removeMember",
            {"workspaceId": world.workspace_id, "userId": user_gid(world.member)},
            "CONFLICT",
        )
    )
    # an owner may leave while another owner remains
    await ok(
        gql,
        world.member,
        "updateMember",
        {"workspaceId": world.workspace_id, "userId": user_gid(world.owner), "role": "OWNER"},
    )
    removed = await ok(
        gql,
        world.owner,
        "removeMember",
        {"workspaceId": world.workspace_id, "userId": user_gid(world.owner)},
    )
    assert removed == user_gid(world.owner)
    assert await viewer_role(gql, world.owner) is None
    assert await roles_in(gql, world.member) == {
        user_gid(world.member): "OWNER",
        user_gid(world.viewer): "VIEWER",
    }


async def test_remove_member(gql: Any, world: World) -> None:
    for remaining, target in [(3, "VIEWER"), (2, "MEMBER")]:
        person = world.person(target)
        removed = await ok(
            gql,
            world.owner,
            "removeMember",
            {"workspaceId": world.workspace_id, "userId": user_gid(person)},
        )
        assert removed == user_gid(person)
        roles = await roles_in(gql, world.owner)
        assert user_gid(person) not in roles
        assert len(roles) == remaining - 1
        # their very next request cannot see the workspace or anything in it
        assert await viewer_role(gql, person) is None
        assert await workspace_count(gql, person) == 0
        assert await read_node(gql, person, world.workspace_id) is None
        assert await read_node(gql, person, world.issue_id) is None
        assert await read_issue(gql, person, "acme", "ENG-1") is None
        # nor act in it: what was FORBIDDEN or allowed before is now NOT_FOUND
        report(
            await expect_error(
                gql,
                world.engine,
                person,
                "addComment",
                {"issueId": world.issue_id, "body": "hi"},
                "NOT_FOUND",
                ["input", "issueId"],
            )
        )
        # removing them again: they are not a member
        await fails(
            gql,
            world.owner,
            "removeMember",
            {"workspaceId": world.workspace_id, "userId": user_gid(person)},
            "NOT_FOUND",
            ["input", "userId"],
        )
    # what they wrote stays
    issue = await read_issue(gql, world.owner, "acme", "ENG-1")
    assert issue is not None
    assert issue["comments"]["totalCount"] == 2
    assert issue["reporter"] == {"id": user_gid(world.member)}
