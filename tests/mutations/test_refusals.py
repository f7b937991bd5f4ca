"""Every mutation of the contract except the job ones, refused: missing / malformed / foreign
ids (NOT_FOUND, never FORBIDDEN), role checks (FORBIDDEN, per the permission table in
docs/security.md) and validation (INVALID).

Cases are grouped (by area, or by the type of the target id), each group in one test whose cases
are all checked and reported together, so a bug in one case does not hide the others."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.support.client import ok
from tests.support.error_cases import ErrorCases, short
from tests.support.world import World, gid, user_gid

# -- NOT_FOUND: missing, malformed, wrong type, foreign ----------------------------------------

Builder = Callable[[World, str], dict[str, Any]]

# mutation -> (type of the target id, the input aimed at a target, the input field naming it)
TARGETED: dict[str, tuple[str, Builder, list[str]]] = {
    "addMember": (
        "Workspace",
        lambda w, t: {"workspaceId": t, "email": w.outsider.email, "role": "MEMBER"},
        ["input", "workspaceId"],
    ),
    "updateMember": (
        "Workspace",
        lambda w, t: {"workspaceId": t, "userId": user_gid(w.member), "role": "VIEWER"},
        ["input", "workspaceId"],
    ),
    "removeMember": (
        "Workspace",
        lambda w, t: {"workspaceId": t, "userId": user_gid(w.member)},
        ["input", "workspaceId"],
    ),
    "createProject": (
        "Workspace",
        lambda w, t: {"workspaceId": t, "key": "NEW", "name": "New"},
        ["input", "workspaceId"],
    ),
    "updateProject": ("Project", lambda w, t: {"id": t, "name": "Renamed"}, ["input", "id"]),
    "createLabel": (
        "Workspace",
        lambda w, t: {"workspaceId": t, "name": "feature", "color": "#00ff00"},
        ["input", "workspaceId"],
    ),
    "updateLabel": ("Label", lambda w, t: {"id": t, "name": "renamed"}, ["input", "id"]),
    "deleteLabel": ("Label", lambda w, t: {"id": t}, ["input", "id"]),
    "createIssue": (
        "Project",
        lambda w, t: {"projectId": t, "title": "New issue"},
        ["input", "projectId"],
    ),
    "updateIssue": ("Issue", lambda w, t: {"id": t, "title": "Renamed"}, ["input", "id"]),
    "deleteIssue": ("Issue", lambda w, t: {"id": t}, ["input", "id"]),
    "addComment": ("Issue", lambda w, t: {"issueId": t, "body": "Hello"}, ["input", "issueId"]),
    "updateComment": ("Comment", lambda w, t: {"id": t, "body": "Edited"}, ["input", "id"]),
    "deleteComment": ("Comment", lambda w, t: {"id": t}, ["input", "id"]),
}


def real_target(w: World, type_name: str) -> str:
    """An object of acme of that type (the comment is the member's own)."""
    return {
        "Workspace": w.workspace_id,
        "Project": w.project_id,
        "Label": w.label_id,
        "Issue": w.issue_id,
        "Comment": w.comment_id,
    }[type_name]


@pytest.mark.parametrize(
    "target_types", [("Workspace",), ("Project", "Label", "Issue", "Comment")], ids=str
)
async def test_target_not_found(
    gql: Any, world: World, make_person: Any, target_types: tuple[str, ...]
) -> None:
    """Missing, malformed, wrong-type and foreign ids all read as NOT_FOUND, never FORBIDDEN.

    Covers every mutation whose target is of one of ``target_types``."""
    loner = await make_person("Lone Wolf")  # a member of no workspace at all
    check = ErrorCases(gql, world.engine)
    for mutation, (type_name, build, field) in TARGETED.items():
        if type_name not in target_types:
            continue
        real = real_target(world, type_name)
        cases = [
            ("missing", world.owner, gid(type_name, 987654)),
            ("malformed", world.owner, "not-a-global-id"),
            ("empty", world.owner, ""),
            ("wrong type", world.owner, user_gid(world.member)),
            # real objects of acme, aimed at by someone who is no member of acme
            ("foreign (member elsewhere)", world.outsider, real),
            ("foreign (member nowhere)", loner, real),
        ]
        for case, actor, target in cases:
            await check.expect(actor, mutation, build(world, target), "NOT_FOUND", field, case)
    check.report()


async def test_member_references_not_found(gql: Any, world: World) -> None:
    check = ErrorCases(gql, world.engine)
    for mutation in ["updateMember", "removeMember"]:
        for case, user_id in [
            ("missing user", gid("User", 987654)),
            ("malformed user", "@@@"),
            ("user not a member", user_gid(world.outsider)),
            ("wrong type", world.workspace_id),
        ]:
            input_: dict[str, Any] = {"workspaceId": world.workspace_id, "userId": user_id}
            if mutation == "updateMember":
                input_["role"] = "MEMBER"
            await check.expect(
                world.owner, mutation, input_, "NOT_FOUND", ["input", "userId"], case
            )
    await check.expect(
        world.owner,
        "addMember",
        {"workspaceId": world.workspace_id, "email": "nobody@example.com", "role": "MEMBER"},
        "NOT_FOUND",
        ["input", "email"],
        "unknown email",
    )
    check.report()


async def test_issue_references_not_found(gql: Any, world: World) -> None:
    """Assignees must be members of the issue's workspace, labels must be its labels."""
    foreign_label = await ok(
        gql,
        world.outsider,
        "createLabel",
        {"workspaceId": world.other_workspace_id, "name": "theirs", "color": "#123456"},
    )
    check = ErrorCases(gql, world.engine)
    for mutation in ["createIssue", "updateIssue"]:
        base: dict[str, Any] = (
            {"projectId": world.project_id, "title": "New"}
            if mutation == "createIssue"
            else {"id": world.issue_id}
        )
        for case, assignee in [
            ("missing assignee", gid("User", 987654)),
            ("malformed assignee", "xyz"),
            ("assignee not a member", user_gid(world.outsider)),
        ]:
            await check.expect(
                world.member,
                mutation,
                {**base, "assigneeId": assignee},
                "NOT_FOUND",
                ["input", "assigneeId"],
                case,
            )
        for case, label in [
            ("missing label", gid("Label", 987654)),
            ("malformed label", "Label:1"),
            ("label of another workspace", foreign_label["id"]),
        ]:
            await check.expect(
                world.member,
                mutation,
                {**base, "labelIds": [world.label_id, label]},
                "NOT_FOUND",
                ["input", "labelIds", "1"],
                case,
            )
    check.report()


# -- FORBIDDEN: members whose role does not allow the action -----------------------------------

RoleBuilder = Callable[[World], dict[str, Any]]

FORBIDDEN: list[tuple[str, str, RoleBuilder]] = [
    *[
        (
            "addMember",
            role,
            lambda w: {"workspaceId": w.workspace_id, "email": w.outsider.email, "role": "MEMBER"},
        )
        for role in ("MEMBER", "VIEWER")
    ],
    *[
        (
            "updateMember",
            role,
            lambda w: {
                "workspaceId": w.workspace_id,
                "userId": user_gid(w.viewer),
                "role": "OWNER",
            },
        )
        for role in ("MEMBER", "VIEWER")
    ],
    # nor promote themself
    *[
        (
            "updateMember",
            role,
            (
                lambda r: (
                    lambda w: {
                        "workspaceId": w.workspace_id,
                        "userId": user_gid(w.person(r)),
                        "role": "OWNER",
                    }
                )
            )(role),
        )
        for role in ("MEMBER", "VIEWER")
    ],
    *[
        (
            "removeMember",
            role,
            lambda w: {"workspaceId": w.workspace_id, "userId": user_gid(w.owner)},
        )
        for role in ("MEMBER", "VIEWER")
    ],
    (
        "removeMember",
        "MEMBER",
        lambda w: {"workspaceId": w.workspace_id, "userId": user_gid(w.viewer)},
    ),
    # removing members is for OWNERs only, themselves included
    *[
        (
            "removeMember",
            role,
            (lambda r: lambda w: {"workspaceId": w.workspace_id, "userId": user_gid(w.person(r))})(
                role
            ),
        )
        for role in ("MEMBER", "VIEWER")
    ],
    (
        "createProject",
        "VIEWER",
        lambda w: {"workspaceId": w.workspace_id, "key": "OPS", "name": "Ops"},
    ),
    ("updateProject", "VIEWER", lambda w: {"id": w.project_id, "name": "Renamed"}),
    (
        "createLabel",
        "VIEWER",
        lambda w: {"workspaceId": w.workspace_id, "name": "feature", "color": "#00ff00"},
    ),
    ("updateLabel", "VIEWER", lambda w: {"id": w.label_id, "color": "#000000"}),
    ("deleteLabel", "VIEWER", lambda w: {"id": w.label_id}),
    ("createIssue", "VIEWER", lambda w: {"projectId": w.project_id, "title": "New"}),
    ("updateIssue", "VIEWER", lambda w: {"id": w.issue_id, "status": "DONE"}),
    ("deleteIssue", "VIEWER", lambda w: {"id": w.issue_id}),
    ("addComment", "VIEWER", lambda w: {"issueId": w.issue_id, "body": "Me too"}),
    ("updateComment", "VIEWER", lambda w: {"id": w.comment_id, "body": "Edited"}),
    ("deleteComment", "VIEWER", lambda w: {"id": w.comment_id}),
    # someone else's comment: nobody may edit it, not even an OWNER
    ("updateComment", "OWNER", lambda w: {"id": w.comment_id, "body": "Edited by owner"}),
    ("updateComment", "MEMBER", lambda w: {"id": w.owner_comment_id, "body": "Edited by member"}),
    # ... and only an OWNER may delete it
    ("deleteComment", "MEMBER", lambda w: {"id": w.owner_comment_id}),
]


def area(mutation: str) -> str:
    """members, projects, labels, issues, comments or workspaces: what a mutation works on."""
    for suffix in ("Member", "Project", "Label", "Issue", "Comment", "Workspace"):
        if mutation.endswith(suffix):
            return suffix.lower() + "s"
    raise AssertionError(mutation)


@pytest.mark.parametrize(
    "areas", [("members",), ("projects", "labels", "issues", "comments")], ids=str
)
async def test_forbidden(gql: Any, world: World, areas: tuple[str, ...]) -> None:
    check = ErrorCases(gql, world.engine)
    for mutation, role, build in FORBIDDEN:
        if area(mutation) in areas:
            await check.expect(world.person(role), mutation, build(world), "FORBIDDEN", None, role)
    check.report()


# -- INVALID -----------------------------------------------------------------------------------

TOO_LONG_NAME = "x" * 201
TOO_LONG_BODY = "x" * 65_537
BAD_SLUGS = ["", "Acme", "-acme", "acme-", "ac_me", "açme", "acme\n", "a" * 41]
BAD_KEYS = ["", "O", "ops", "1OPS", "OP-S", "ÖPS", "OPS\n", "ABCDEFGHIJK"]
BAD_NAMES = ["", "   ", TOO_LONG_NAME]
BAD_COLORS = ["", "red", "#fff", "00ff00", "#00ff000", "#00gg00", "#00ff00\n"]

# mutation -> [(the input field at fault, a function of the bad value and the world to an input,
#               the bad values)]
INVALID: dict[str, list[tuple[str, Callable[[World, Any], dict[str, Any]], list[Any]]]] = {
    "createWorkspace": [
        ("slug", lambda w, v: {"slug": v, "name": "Fine"}, BAD_SLUGS),
        ("name", lambda w, v: {"slug": "fine", "name": v}, BAD_NAMES),
    ],
    "createProject": [
        ("key", lambda w, v: {"workspaceId": w.workspace_id, "key": v, "name": "Ops"}, BAD_KEYS),
        ("name", lambda w, v: {"workspaceId": w.workspace_id, "key": "OPS", "name": v}, BAD_NAMES),
        (
            "description",
            lambda w, v: {
                "workspaceId": w.workspace_id,
                "key": "OPS",
                "name": "Ops",
                "description": v,
            },
            [TOO_LONG_BODY],
        ),
    ],
    "updateProject": [
        ("name", lambda w, v: {"id": w.project_id, "name": v}, BAD_NAMES),
        ("description", lambda w, v: {"id": w.project_id, "description": v}, [TOO_LONG_BODY]),
    ],
    "createLabel": [
        (
            "name",
            lambda w, v: {"workspaceId": w.workspace_id, "name": v, "color": "#00ff00"},
            BAD_NAMES,
        ),
        (
            "color",
            lambda w, v: {"workspaceId": w.workspace_id, "name": "feature", "color": v},
            BAD_COLORS,
        ),
    ],
    "updateLabel": [
        ("name", lambda w, v: {"id": w.label_id, "name": v}, BAD_NAMES),
        ("color", lambda w, v: {"id": w.label_id, "color": v}, ["", "red", "#fff", "#00gg00"]),
    ],
    "createIssue": [
        ("title", lambda w, v: {"projectId": w.project_id, "title": v}, [*BAD_NAMES, "\n\t"]),
        (
            "body",
            lambda w, v: {"projectId": w.project_id, "title": "Fine", "body": v},
            [TOO_LONG_BODY],
        ),
    ],
    "updateIssue": [
        ("title", lambda w, v: {"id": w.issue_id, "title": v}, BAD_NAMES),
        ("body", lambda w, v: {"id": w.issue_id, "body": v}, [TOO_LONG_BODY]),
    ],
    "addComment": [
        ("body", lambda w, v: {"issueId": w.issue_id, "body": v}, ["", "   ", "\n", TOO_LONG_BODY]),
    ],
    "updateComment": [
        ("body", lambda w, v: {"id": w.comment_id, "body": v}, ["", "  ", TOO_LONG_BODY]),
    ],
}


@pytest.mark.parametrize(
    "areas", [("workspaces", "projects", "labels"), ("issues", "comments")], ids=str
)
async def test_invalid(gql: Any, world: World, areas: tuple[str, ...]) -> None:
    check = ErrorCases(gql, world.engine)
    for mutation, cases in INVALID.items():
        if area(mutation) not in areas:
            continue
        # The member acts (the author of world.comment_id); workspaces are made by the outsider.
        actor = world.outsider if mutation == "createWorkspace" else world.member
        for field, build, values in cases:
            for value in values:
                await check.expect(
                    actor,
                    mutation,
                    build(world, value),
                    "INVALID",
                    ["input", field],
                    f"bad {field} {short(value)!r}",
                )
    check.report()
