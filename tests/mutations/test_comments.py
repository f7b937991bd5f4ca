"""The comment mutations through the GraphQL API: adding, editing one's own, deleting."""

from __future__ import annotations

from typing import Any

from tests.support.client import fails, ok
from tests.support.reads import (
    read_issue,
    read_node,
)
from tests.support.world import World, user_gid

# -- comments ----------------------------------------------------------------------------------


async def test_add_comment(gql: Any, world: World) -> None:
    for count, role in [(3, "MEMBER"), (4, "OWNER")]:
        person = world.person(role)
        comment = await ok(
            gql, person, "addComment", {"issueId": world.issue_id, "body": f"Reproduced {count}"}
        )
        assert comment["author"] == {"id": user_gid(person), "name": person.name}
        assert comment["issue"] == {"id": world.issue_id}
        assert comment["body"] == f"Reproduced {count}"
        assert comment["createdAt"]
        issue = await read_issue(gql, world.viewer, "acme", "ENG-1")
        assert issue is not None
        assert issue["comments"]["totalCount"] == count
        assert comment["id"] in {edge["node"]["id"] for edge in issue["comments"]["edges"]}
        assert await read_node(gql, world.viewer, comment["id"], "... on Comment { body }") == {
            "id": comment["id"],
            "body": f"Reproduced {count}",
        }
    # a body of exactly the limit is fine
    long = await ok(
        gql, world.member, "addComment", {"issueId": world.issue_id, "body": "z" * 65_536}
    )
    assert len(long["body"]) == 65_536


async def test_update_own_comment(gql: Any, world: World) -> None:
    for role, comment_id in [("MEMBER", world.comment_id), ("OWNER", world.owner_comment_id)]:
        person = world.person(role)
        comment = await ok(
            gql, person, "updateComment", {"id": comment_id, "body": f"Edited {role}"}
        )
        assert comment["id"] == comment_id
        assert comment["body"] == f"Edited {role}"
        assert comment["author"]["id"] == user_gid(person)
        assert comment["issue"] == {"id": world.issue_id}
        found = await read_node(gql, world.viewer, comment_id, "... on Comment { body }")
        assert found == {"id": comment_id, "body": f"Edited {role}"}
    issue = await read_issue(gql, world.viewer, "acme", "ENG-1")
    assert issue is not None
    assert sorted(edge["node"]["body"] for edge in issue["comments"]["edges"]) == [
        "Edited MEMBER",
        "Edited OWNER",
    ]


async def test_delete_comment(gql: Any, world: World) -> None:
    another = await ok(gql, world.member, "addComment", {"issueId": world.issue_id, "body": "More"})
    for role, comment_id, whose in [
        ("MEMBER", world.comment_id, "own"),
        ("OWNER", world.owner_comment_id, "own"),
        ("OWNER", another["id"], "someone else's"),
    ]:
        deleted = await ok(gql, world.person(role), "deleteComment", {"id": comment_id})
        assert deleted == comment_id, whose
        assert await read_node(gql, world.owner, comment_id) is None
        issue = await read_issue(gql, world.viewer, "acme", "ENG-1")
        assert issue is not None
        assert comment_id not in {edge["node"]["id"] for edge in issue["comments"]["edges"]}
        await fails(gql, world.owner, "deleteComment", {"id": comment_id}, "NOT_FOUND")
    issue = await read_issue(gql, world.viewer, "acme", "ENG-1")
    assert issue is not None
    assert issue["comments"]["totalCount"] == 0
