"""Tenant isolation: a member of workspace A learns nothing about workspace B.

Every object of B reads as ``null`` to A's members (``node``, ``nodes``, ``workspace``,
``project``, ``issue``; ``searchIssues`` is empty; nested fields and filters stay inside A), and
every mutation aimed at B's objects returns a ``NOT_FOUND`` user error (never ``FORBIDDEN``,
which would reveal that the object exists) and changes nothing. A user who shares no workspace
with the viewer is ``null`` through ``node``, and their email is hidden wherever they are still
reachable (an author later removed from the workspace).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.client import ok, ok_many, query
from tests.support.error_cases import ErrorCases
from tests.support.reads import read_issue
from tests.support.world import gid, user_gid


@dataclass
class Tenants:
    """``alpha``: alice (OWNER), vera (VIEWER), carol (MEMBER); project AL, label ``public``,
    issue AL-1 "Zebra crossing" with a comment.

    ``beta``: bob (OWNER), bea (MEMBER), carol (MEMBER); project BE, label ``secret``, issue BE-1
    "Zebra migration" (labelled, assigned to bea) with a comment by bob.
    """

    engine: AsyncEngine
    alice: Any
    vera: Any
    carol: Any
    bob: Any
    bea: Any
    a: dict[str, str]  # alpha's ids: workspace, project, label, issue, comment
    b: dict[str, str]  # beta's ids, likewise


async def build_workspace(
    gql: Any,
    owner: Any,
    slug: str,
    key: str,
    label: str,
    title: str,
    members: list[tuple[Any, str]],
    assignee: Any | None,
) -> dict[str, str]:
    workspace = await ok(gql, owner, "createWorkspace", {"slug": slug, "name": slug.title()})
    ws = workspace["id"]
    *_, project, label_ = await ok_many(
        gql,
        owner,
        [
            *(
                ("addMember", {"workspaceId": ws, "email": p.email, "role": role})
                for p, role in members
            ),
            ("createProject", {"workspaceId": ws, "key": key, "name": key.title()}),
            ("createLabel", {"workspaceId": ws, "name": label, "color": "#112233"}),
        ],
    )
    issue = await ok(
        gql,
        owner,
        "createIssue",
        {
            "projectId": project["id"],
            "title": title,
            "body": f"The {label} zebra details",
            "labelIds": [label_["id"]],
            "assigneeId": user_gid(assignee) if assignee else None,
        },
    )
    comment = await ok(
        gql, owner, "addComment", {"issueId": issue["id"], "body": f"A {label} zebra comment"}
    )
    return {
        "workspace": ws,
        "project": project["id"],
        "label": label_["id"],
        "issue": issue["id"],
        "comment": comment["id"],
    }


@pytest.fixture
async def tenants(gql: Any, make_person: Any, engine: AsyncEngine) -> Tenants:
    alice, vera, carol, bob, bea = await asyncio.gather(
        *(make_person(name) for name in ["Alice", "Vera", "Carol", "Bob", "Bea"])
    )
    a, b = await asyncio.gather(
        build_workspace(
            gql,
            alice,
            "alpha",
            "AL",
            "public",
            "Zebra crossing",
            [(vera, "VIEWER"), (carol, "MEMBER")],
            None,
        ),
        build_workspace(
            gql,
            bob,
            "beta",
            "BE",
            "secret",
            "Zebra migration",
            [(bea, "MEMBER"), (carol, "MEMBER")],
            bea,
        ),
    )
    return Tenants(engine, alice, vera, carol, bob, bea, a, b)


# What to select on each type through `node`: nested fields included, so nothing leaks below.
NODE_FIELDS = """__typename
    ... on Workspace { slug name viewerRole projects { totalCount } }
    ... on Project { key name workspace { slug } issues { totalCount } }
    ... on Label { name color }
    ... on Issue { identifier title body labels { name } assignee { id email }
                   comments { totalCount edges { node { body } } } }
    ... on Comment { body author { id email } issue { title } }
    ... on User { name email }"""


def b_ids(t: Tenants) -> list[str]:
    """Every object of beta, and the users only beta's members share with beta."""
    return [*t.b.values(), user_gid(t.bob), user_gid(t.bea)]


async def test_node_and_nodes_hide_foreign_objects(gql: Any, tenants: Tenants) -> None:
    t = tenants
    for person in [t.alice, t.vera]:  # alpha's OWNER and alpha's VIEWER
        # each through `node` (one alias each, in one document)
        ids = b_ids(t)
        data = await query(
            gql,
            person,
            "query("
            + ", ".join(f"$i{n}: ID!" for n in range(len(ids)))
            + ") { "
            + " ".join(f"n{n}: node(id: $i{n}) {{ id {NODE_FIELDS} }}" for n in range(len(ids)))
            + " }",
            **{f"i{n}": id_ for n, id_ in enumerate(ids)},
        )
        assert data == {f"n{n}": None for n in range(len(ids))}, data
        # interleaved with alpha's own objects, which do resolve
        ids = [x for pair in zip(t.a.values(), t.b.values(), strict=True) for x in pair]
        data = await query(
            gql,
            person,
            f"query($ids: [ID!]!) {{ nodes(ids: $ids) {{ id {NODE_FIELDS} }} }}",
            ids=ids,
        )
        assert [node["id"] if node else None for node in data["nodes"]] == [
            x if n % 2 == 0 else None for n, x in enumerate(ids)
        ], data
        # nothing of beta inside alpha's objects either
        assert "secret" not in repr(data["nodes"])
        data = await query(
            gql,
            person,
            f"query($ids: [ID!]!) {{ nodes(ids: $ids) {{ id {NODE_FIELDS} }} }}",
            ids=b_ids(t),
        )
        assert data["nodes"] == [None] * len(b_ids(t))
    # ids that exist only in beta, ids that exist nowhere, and malformed ids: all null
    ids = [
        *b_ids(t),
        gid("Issue", 987654),
        gid("Comment", 987654),
        gid("User", 987654),
        gid("Job", 987654),
        "not-an-id",
        "",
    ]
    data = await query(gql, t.alice, "query($ids: [ID!]!) { nodes(ids: $ids) { id } }", ids=ids)
    assert data["nodes"] == [None] * len(ids)
    # the control: the same ids do resolve for carol, who is in both workspaces
    data = await query(
        gql,
        t.carol,
        "query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
        ids=[*t.a.values(), *b_ids(t)],
    )
    assert [node["id"] if node else None for node in data["nodes"]] == [*t.a.values(), *b_ids(t)]


async def test_root_lookups_hide_foreign_workspaces(gql: Any, tenants: Tenants) -> None:
    t = tenants
    for person in [t.alice, t.vera]:  # alpha's OWNER and alpha's VIEWER
        data = await query(
            gql,
            person,
            """{
                beta: workspace(slug: "beta") { id name }
                betaProject: project(workspaceSlug: "beta", key: "BE") { id name }
                betaKeyInAlpha: project(workspaceSlug: "alpha", key: "BE") { id }
                betaIssue: issue(workspaceSlug: "beta", identifier: "BE-1") { id title }
                betaIssueInAlpha: issue(workspaceSlug: "alpha", identifier: "BE-1") { id }
                workspaces { totalCount edges { node { slug } } }
            }""",
        )
        assert data == {
            "beta": None,
            "betaProject": None,
            "betaKeyInAlpha": None,
            "betaIssue": None,
            "betaIssueInAlpha": None,
            "workspaces": {"totalCount": 1, "edges": [{"node": {"slug": "alpha"}}]},
        }
        # searching beta finds nothing; searching alpha finds only alpha's zebra
        search = """query($slug: String!) { searchIssues(workspaceSlug: $slug, query: "zebra") {
            totalCount edges { node { id title } } } }"""
        data = await query(gql, person, search, slug="beta")
        assert data["searchIssues"] == {"totalCount": 0, "edges": []}
        data = await query(gql, person, search, slug="alpha")
        assert data["searchIssues"] == {
            "totalCount": 1,
            "edges": [{"node": {"id": t.a["issue"], "title": "Zebra crossing"}}],
        }
        data = await query(
            gql, person, search.replace('"zebra"', '"secret migration"'), slug="alpha"
        )
        assert data["searchIssues"] == {"totalCount": 0, "edges": []}


async def test_nested_fields_and_filters_stay_in_the_workspace(gql: Any, tenants: Tenants) -> None:
    t = tenants
    data = await query(
        gql,
        t.alice,
        """query($label: ID!, $bea: ID!) { workspace(slug: "alpha") {
            members { totalCount edges { node { user { id } } } }
            labels { totalCount edges { node { name } } }
            projects { totalCount edges { node { key
                all: issues { totalCount }
                byForeignLabel: issues(filter: {labelIds: [$label]}) { ...ids }
                byForeignAssignee: issues(filter: {assigneeId: $bea}) { ...ids }
                bySearch: issues(filter: {search: "secret"}) { ...ids }
            } } } } }
        fragment ids on IssueConnection { totalCount edges { node { id } } }""",
        label=t.b["label"],
        bea=user_gid(t.bea),
    )
    workspace = data["workspace"]
    assert {edge["node"]["user"]["id"] for edge in workspace["members"]["edges"]} == {
        user_gid(t.alice),
        user_gid(t.vera),
        user_gid(t.carol),
    }
    assert workspace["members"]["totalCount"] == 3
    assert workspace["labels"] == {"totalCount": 1, "edges": [{"node": {"name": "public"}}]}
    assert workspace["projects"]["totalCount"] == 1
    project = workspace["projects"]["edges"][0]["node"]
    assert project["key"] == "AL"
    assert project["all"] == {"totalCount": 1}
    for name in ["byForeignLabel", "byForeignAssignee", "bySearch"]:
        assert project[name] == {"totalCount": 0, "edges": []}, name
    issue = await read_issue(gql, t.alice, "alpha", "AL-1")
    assert issue is not None
    assert [edge["node"]["id"] for edge in issue["comments"]["edges"]] == [t.a["comment"]]
    assert [label["id"] for label in issue["labels"]] == [t.a["label"]]


# -- mutations aimed at beta's objects ---------------------------------------------------------

Builder = Callable[[Tenants], dict[str, Any]]

# Every mutation of tests/mutations/, aimed at beta (carol is a member of both, bob beta's owner).
FOREIGN_MUTATIONS: list[tuple[str, Builder, list[str]]] = [
    (
        "addMember",
        lambda t: {"workspaceId": t.b["workspace"], "email": t.vera.email, "role": "OWNER"},
        ["input", "workspaceId"],
    ),
    (
        "updateMember",
        lambda t: {"workspaceId": t.b["workspace"], "userId": user_gid(t.carol), "role": "OWNER"},
        ["input", "workspaceId"],
    ),
    (
        "removeMember",
        lambda t: {"workspaceId": t.b["workspace"], "userId": user_gid(t.bob)},
        ["input", "workspaceId"],
    ),
    (
        "createProject",
        lambda t: {"workspaceId": t.b["workspace"], "key": "NEW", "name": "New"},
        ["input", "workspaceId"],
    ),
    ("updateProject", lambda t: {"id": t.b["project"], "name": "Hacked"}, ["input", "id"]),
    (
        "createLabel",
        lambda t: {"workspaceId": t.b["workspace"], "name": "new", "color": "#000000"},
        ["input", "workspaceId"],
    ),
    ("updateLabel", lambda t: {"id": t.b["label"], "name": "hacked"}, ["input", "id"]),
    ("deleteLabel", lambda t: {"id": t.b["label"]}, ["input", "id"]),
    (
        "createIssue",
        lambda t: {"projectId": t.b["project"], "title": "New"},
        ["input", "projectId"],
    ),
    (
        "updateIssue",
        lambda t: {"id": t.b["issue"], "status": "DONE", "assigneeId": None},
        ["input", "id"],
    ),
    ("deleteIssue", lambda t: {"id": t.b["issue"]}, ["input", "id"]),
    ("addComment", lambda t: {"issueId": t.b["issue"], "body": "Hello"}, ["input", "issueId"]),
    ("updateComment", lambda t: {"id": t.b["comment"], "body": "Hacked"}, ["input", "id"]),
    ("deleteComment", lambda t: {"id": t.b["comment"]}, ["input", "id"]),
]


# The same, with input that would be INVALID or a CONFLICT in beta: a non-member must not learn
# that way that the object exists (or which names and keys are taken in it) either.
FOREIGN_BAD_INPUT: list[tuple[str, Builder, list[str]]] = [
    (
        "addMember",
        lambda t: {"workspaceId": t.b["workspace"], "email": t.bea.email, "role": "MEMBER"},
        ["input", "workspaceId"],
    ),
    (
        "updateMember",
        lambda t: {"workspaceId": t.b["workspace"], "userId": user_gid(t.bob), "role": "VIEWER"},
        ["input", "workspaceId"],
    ),
    (
        "createProject",
        lambda t: {"workspaceId": t.b["workspace"], "key": "BE", "name": "Taken key"},
        ["input", "workspaceId"],
    ),
    (
        "createProject",
        lambda t: {"workspaceId": t.b["workspace"], "key": "bad key", "name": ""},
        ["input", "workspaceId"],
    ),
    ("updateProject", lambda t: {"id": t.b["project"], "name": ""}, ["input", "id"]),
    (
        "createLabel",
        lambda t: {"workspaceId": t.b["workspace"], "name": "SECRET", "color": "#000000"},
        ["input", "workspaceId"],
    ),
    (
        "createLabel",
        lambda t: {"workspaceId": t.b["workspace"], "name": "x", "color": "red"},
        ["input", "workspaceId"],
    ),
    ("updateLabel", lambda t: {"id": t.b["label"], "color": "red"}, ["input", "id"]),
    ("createIssue", lambda t: {"projectId": t.b["project"], "title": ""}, ["input", "projectId"]),
    ("updateIssue", lambda t: {"id": t.b["issue"], "title": " "}, ["input", "id"]),
    ("addComment", lambda t: {"issueId": t.b["issue"], "body": ""}, ["input", "issueId"]),
    ("updateComment", lambda t: {"id": t.b["comment"], "body": ""}, ["input", "id"]),
]


@pytest.mark.parametrize("who", ["alice", "vera"])
async def test_mutations_on_foreign_objects_are_not_found(
    gql: Any, tenants: Tenants, who: str
) -> None:
    """As alpha's OWNER (who could do anything in alpha) and alpha's VIEWER (who could do
    nothing): NOT_FOUND, never FORBIDDEN, and beta unchanged."""
    check = ErrorCases(gql, tenants.engine)
    for mutation, build, field in FOREIGN_MUTATIONS:
        await check.expect(getattr(tenants, who), mutation, build(tenants), "NOT_FOUND", field)
    if who == "alice":  # the owner, who could otherwise get past every role check
        for mutation, build, field in FOREIGN_BAD_INPUT:
            await check.expect(
                tenants.alice, mutation, build(tenants), "NOT_FOUND", field, "(bad input)"
            )
    check.report()
    # beta's owner still sees everything as it was
    issue = await read_issue(gql, tenants.bob, "beta", "BE-1")
    assert issue is not None
    assert (issue["title"], issue["status"], issue["assignee"]) == (
        "Zebra migration",
        "BACKLOG",
        {"id": user_gid(tenants.bea)},
    )


async def test_alpha_objects_cannot_reference_beta_objects(gql: Any, tenants: Tenants) -> None:
    """beta's labels and beta-only users cannot be attached to alpha's issues or memberships."""
    t = tenants
    check = ErrorCases(gql, t.engine)
    for mutation, base in [
        ("createIssue", {"projectId": t.a["project"], "title": "New"}),
        ("updateIssue", {"id": t.a["issue"]}),
    ]:
        await check.expect(
            t.alice,
            mutation,
            {**base, "labelIds": [t.b["label"]]},
            "NOT_FOUND",
            ["input", "labelIds", "0"],
            "beta's label",
        )
        await check.expect(
            t.alice,
            mutation,
            {**base, "assigneeId": user_gid(t.bea)},
            "NOT_FOUND",
            ["input", "assigneeId"],
            "beta's member",
        )
    await check.expect(
        t.alice,
        "updateMember",
        {"workspaceId": t.a["workspace"], "userId": user_gid(t.bob), "role": "VIEWER"},
        "NOT_FOUND",
        ["input", "userId"],
    )
    await check.expect(
        t.alice,
        "removeMember",
        {"workspaceId": t.a["workspace"], "userId": user_gid(t.bob)},
        "NOT_FOUND",
        ["input", "userId"],
    )
    # carol, a MEMBER of both, cannot move beta's things into alpha either
    await check.expect(
        t.carol,
        "updateIssue",
        {"id": t.a["issue"], "labelIds": [t.b["label"]]},
        "NOT_FOUND",
        ["input", "labelIds", "0"],
        "beta's label by a member of both",
    )
    await check.expect(
        t.carol,
        "createIssue",
        {"projectId": t.a["project"], "title": "x", "assigneeId": user_gid(t.bea)},
        "NOT_FOUND",
        ["input", "assigneeId"],
        "beta's member by a member of both",
    )
    check.report()


# -- users -------------------------------------------------------------------------------------

USER = "query($id: ID!) { node(id: $id) { id ... on User { name email } } }"


async def test_users_are_visible_only_through_a_shared_workspace(
    gql: Any, tenants: Tenants, make_person: Any
) -> None:
    t = tenants
    # bob and bea share no workspace with alice
    for other in [t.bob, t.bea]:
        assert (await query(gql, t.alice, USER, id=user_gid(other)))["node"] is None
        assert (await query(gql, other, USER, id=user_gid(t.alice)))["node"] is None
    # carol shares alpha with alice (and beta with bob): her email is visible to both
    for viewer in [t.alice, t.vera, t.bob, t.bea]:
        node = (await query(gql, viewer, USER, id=user_gid(t.carol)))["node"]
        assert node == {"id": user_gid(t.carol), "name": "Carol", "email": t.carol.email}
    # a user sees themself, even with no workspace at all
    loner = await make_person("Loner")
    assert (await query(gql, loner, USER, id=user_gid(loner)))["node"] == {
        "id": user_gid(loner),
        "name": "Loner",
        "email": loner.email,
    }
    assert (await query(gql, loner, USER, id=user_gid(t.alice)))["node"] is None
    assert (await query(gql, t.alice, USER, id=user_gid(loner)))["node"] is None
    # within beta, bob and bea see each other, emails included
    issue = """{ issue(workspaceSlug: "beta", identifier: "BE-1") {
        reporter { id email } assignee { id email } } }"""
    assert (await query(gql, t.bea, issue))["issue"] == {
        "reporter": {"id": user_gid(t.bob), "email": t.bob.email},
        "assignee": {"id": user_gid(t.bea), "email": t.bea.email},
    }
    assert (await query(gql, t.bob, USER, id=user_gid(t.bea)))["node"] == {
        "id": user_gid(t.bea),
        "name": "Bea",
        "email": t.bea.email,
    }


async def test_email_is_hidden_for_a_reachable_user_who_shares_no_workspace(
    gql: Any, tenants: Tenants, make_person: Any
) -> None:
    """dave reports, is assigned and comments in alpha, then is removed: his work stays
    reachable through alpha's issue, but alpha's members no longer see his email."""
    t = tenants
    dave = await make_person("Dave")
    await ok(
        gql,
        t.alice,
        "addMember",
        {"workspaceId": t.a["workspace"], "email": dave.email, "role": "MEMBER"},
    )
    issue = await ok(
        gql,
        dave,
        "createIssue",
        {"projectId": t.a["project"], "title": "Dave's issue", "assigneeId": user_gid(dave)},
    )
    await ok(gql, dave, "addComment", {"issueId": issue["id"], "body": "Dave was here"})
    people = """query($id: ID!) { node(id: $id) { ... on Issue {
        reporter { id name email } assignee { id name email }
        comments { edges { node { author { id name email } } } } } } }"""
    dave_with_email = {"id": user_gid(dave), "name": "Dave", "email": dave.email}
    assert (await query(gql, t.vera, people, id=issue["id"]))["node"] == {
        "reporter": dave_with_email,
        "assignee": dave_with_email,
        "comments": {"edges": [{"node": {"author": dave_with_email}}]},
    }
    await ok(
        gql,
        t.alice,
        "removeMember",
        {"workspaceId": t.a["workspace"], "userId": user_gid(dave)},
    )
    dave_without_email = {"id": user_gid(dave), "name": "Dave", "email": None}
    for viewer in [t.alice, t.vera, t.carol]:
        assert (await query(gql, viewer, people, id=issue["id"]))["node"] == {
            "reporter": dave_without_email,
            "assignee": dave_without_email,
            "comments": {"edges": [{"node": {"author": dave_without_email}}]},
        }
        assert (await query(gql, viewer, USER, id=user_gid(dave)))["node"] is None
    # and dave no longer sees alpha, nor alice
    assert (await query(gql, dave, people, id=issue["id"]))["node"] is None
    assert (await query(gql, dave, USER, id=user_gid(t.alice)))["node"] is None
    assert (await query(gql, dave, "{ viewer { id email } }"))["viewer"] == {
        "id": user_gid(dave),
        "email": dave.email,
    }
