"""Every mutation of the contract except the job ones, through the GraphQL API.

For each: success (the payload and a follow-up read), validation (INVALID), missing / malformed /
foreign ids (NOT_FOUND, never FORBIDDEN), role checks (FORBIDDEN, per the permission table in
docs/security.md) and conflicts (CONFLICT). Every failing case also checks that the failed
mutation changed nothing: the whole database (every table but the tokens) is compared before and
after.

Error cases are grouped (by area, or by the type of the target id), each group in one test whose
cases are all checked and reported together, so a bug in one case does not hide the others. Most
tests start from the ``world`` fixture below.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from schema.ids import to_global_id

# -- GraphQL plumbing ------------------------------------------------------------------------

USER_ERRORS = "userErrors { field message code }"
MEMBERSHIP = "membership { role user { id name email } }"
PROJECT = "project { id key name description workspace { id slug } }"
LABEL = "label { id name color }"
ISSUE = """issue { id number identifier title body status priority closedAt createdAt updatedAt
    project { id } reporter { id } assignee { id } labels { id name } }"""
COMMENT = "comment { id body createdAt author { id name } issue { id } }"

# What each mutation's payload selects besides userErrors; the first word is its result field.
PAYLOAD_FIELDS: dict[str, str] = {
    "createWorkspace": "workspace { id slug name viewerRole }",
    "addMember": MEMBERSHIP,
    "updateMember": MEMBERSHIP,
    "removeMember": "removedUserId",
    "createProject": PROJECT,
    "updateProject": PROJECT,
    "createLabel": LABEL,
    "updateLabel": LABEL,
    "deleteLabel": "deletedLabelId",
    "createIssue": ISSUE,
    "updateIssue": ISSUE,
    "deleteIssue": "deletedIssueId",
    "addComment": COMMENT,
    "updateComment": COMMENT,
    "deleteComment": "deletedCommentId",
}


def result_key(mutation: str) -> str:
    return PAYLOAD_FIELDS[mutation].split()[0]


async def mutate_raw(gql: Any, person: Any, mutation: str, input: dict[str, Any]) -> dict[str, Any]:
    """Run one mutation as ``person``; the whole response body."""
    input_type = mutation[0].upper() + mutation[1:] + "Input"
    body: dict[str, Any] = await gql(
        f"mutation($input: {input_type}!) {{ {mutation}(input: $input) "
        f"{{ {PAYLOAD_FIELDS[mutation]} {USER_ERRORS} }} }}",
        {"input": input},
        as_=person,
    )
    return body


async def mutate(gql: Any, person: Any, mutation: str, input: dict[str, Any]) -> dict[str, Any]:
    """Run one mutation as ``person``; its payload (no GraphQL-level error allowed)."""
    body = await mutate_raw(gql, person, mutation, input)
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"][mutation]
    return payload


async def ok(gql: Any, person: Any, mutation: str, input: dict[str, Any]) -> Any:
    """Run a mutation that must succeed; its result field."""
    payload = await mutate(gql, person, mutation, input)
    assert payload["userErrors"] == [], payload
    result = payload[result_key(mutation)]
    assert result is not None, payload
    return result


async def ok_many(gql: Any, person: Any, calls: list[tuple[str, dict[str, Any]]]) -> list[Any]:
    """Run several mutations that must succeed in one document (executed in order); their
    result fields."""
    variables = ", ".join(
        f"$i{n}: {mutation[0].upper() + mutation[1:]}Input!"
        for n, (mutation, _) in enumerate(calls)
    )
    fields = " ".join(
        f"m{n}: {mutation}(input: $i{n}) {{ {PAYLOAD_FIELDS[mutation]} {USER_ERRORS} }}"
        for n, (mutation, _) in enumerate(calls)
    )
    body = await gql(
        f"mutation({variables}) {{ {fields} }}",
        {f"i{n}": input_ for n, (_, input_) in enumerate(calls)},
        as_=person,
    )
    assert "errors" not in body, body
    results = []
    for n, (mutation, _) in enumerate(calls):
        payload = body["data"][f"m{n}"]
        assert payload["userErrors"] == [], payload
        assert payload[result_key(mutation)] is not None, payload
        results.append(payload[result_key(mutation)])
    return results


async def fails(
    gql: Any,
    person: Any,
    mutation: str,
    input: dict[str, Any],
    code: str,
    field: list[str] | None = None,
) -> dict[str, Any]:
    """Run a mutation that must fail with exactly one user error of ``code`` (and ``field``)."""
    payload = await mutate(gql, person, mutation, input)
    assert payload[result_key(mutation)] is None, payload
    assert len(payload["userErrors"]) == 1, payload
    error: dict[str, Any] = payload["userErrors"][0]
    assert error["code"] == code, payload
    assert error["message"], payload
    if field is not None:
        assert error["field"] == field, payload
    return error


async def query(gql: Any, person: Any, document: str, **variables: Any) -> dict[str, Any]:
    body = await gql(document, variables, as_=person)
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


# -- the database as a whole, to prove that a failed mutation changed nothing -----------------


_TABLES: dict[str, list[str]] = {}  # per database: its tables (the schema is fixed per session)


async def db_state(engine: AsyncEngine) -> dict[str, list[str]]:
    """Every row of every table (tokens aside), as sorted JSON texts, read in one statement."""
    async with engine.connect() as conn:
        key = str(engine.url)
        if key not in _TABLES:
            _TABLES[key] = list(
                (
                    await conn.execute(
                        text(
                            "SELECT tablename FROM pg_tables "
                            "WHERE schemaname = current_schema() "
                            "AND tablename NOT IN ('alembic_version', 'api_tokens')"
                        )
                    )
                ).scalars()
            )
        rows = (
            await conn.execute(
                text(
                    " UNION ALL ".join(
                        f"SELECT '{table}' AS t, row_to_json(x)::text AS r FROM \"{table}\" x"  # noqa: S608
                        for table in _TABLES[key]
                    )
                )
            )
        ).all()
    state: dict[str, list[str]] = {table: [] for table in _TABLES[key]}
    for table, row in rows:
        state[table].append(row)
    return {table: sorted(values) for table, values in state.items()}


def short(value: Any) -> Any:
    """An input as it reads in a failure message: long strings abbreviated."""
    if isinstance(value, dict):
        return {k: short(v) for k, v in value.items()}
    if isinstance(value, list):
        return [short(v) for v in value]
    if isinstance(value, str) and len(value) > 40:
        return f"<{len(value)} chars>"
    return value


class ErrorCases:
    """Mutations that must fail: each with exactly one user error of the expected code (at the
    expected field, when given), no object returned, and the database unchanged.

    Collects what is wrong instead of stopping at the first problem, so one test can check many
    cases and still report every one of them. Use it only for a run of failing mutations: the
    state after one case is the expected state before the next.
    """

    def __init__(self, gql: Any, engine: AsyncEngine) -> None:
        self.gql = gql
        self.engine = engine
        self.problems: list[str] = []
        self._state: dict[str, list[str]] | None = None

    async def expect(
        self,
        person: Any,
        mutation: str,
        input: dict[str, Any],
        code: str,
        field: list[str] | None = None,
        case: str = "",
    ) -> None:
        before = self._state if self._state is not None else await db_state(self.engine)
        body = await mutate_raw(self.gql, person, mutation, input)
        after = self._state = await db_state(self.engine)
        where = f"{mutation} {case} as {person.name} with {short(input)}".replace("  ", " ")
        if "errors" in body:
            self.problems.append(f"{where}: GraphQL errors {body['errors']}")
            return
        payload = body["data"][mutation]
        errors = payload["userErrors"]
        if payload[result_key(mutation)] is not None:
            self.problems.append(f"{where}: returned {payload[result_key(mutation)]} with {errors}")
        if [error["code"] for error in errors] != [code]:
            self.problems.append(f"{where}: expected one {code}, got {errors}")
        elif field is not None and errors[0]["field"] != field:
            self.problems.append(f"{where}: expected field {field}, got {errors}")
        elif not errors[0]["message"]:
            self.problems.append(f"{where}: empty message")
        changed = [table for table in after if after[table] != before.get(table)]
        if changed:
            self.problems.append(f"{where}: changed tables {changed}")

    def report(self) -> None:
        report(self.problems)


async def expect_error(
    gql: Any,
    engine: AsyncEngine,
    person: Any,
    mutation: str,
    input: dict[str, Any],
    code: str,
    field: list[str] | None = None,
    case: str = "",
) -> list[str]:
    """What is wrong (nothing: ``[]``) with one mutation that must fail (see ErrorCases)."""
    cases = ErrorCases(gql, engine)
    await cases.expect(person, mutation, input, code, field, case)
    return cases.problems


def report(problems: list[str]) -> None:
    assert not problems, "\n" + "\n".join(problems)


# -- reads -------------------------------------------------------------------------------------


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


def gid(type_name: str, pk: int) -> str:
    return str(to_global_id(type_name, pk))


def user_gid(person: Any) -> str:
    return gid("User", person.user_id)


# -- the world most tests start from -----------------------------------------------------------


@dataclass
class World:
    """Workspace ``acme`` with an OWNER, a MEMBER and a VIEWER; project ENG with label ``bug``,
    issue ENG-1 (reported by the member, labelled ``bug``), a comment by the member and one by the
    owner. ``outsider`` owns workspace ``other`` and is no member of ``acme``."""

    engine: AsyncEngine
    owner: Any
    member: Any
    viewer: Any
    outsider: Any
    workspace_id: str
    project_id: str
    label_id: str
    issue_id: str
    comment_id: str  # by the member
    owner_comment_id: str
    other_workspace_id: str

    def person(self, role: str) -> Any:
        return {
            "OWNER": self.owner,
            "MEMBER": self.member,
            "VIEWER": self.viewer,
            "OUTSIDER": self.outsider,
        }[role]


async def create_workspace(gql: Any, owner: Any, slug: str, name: str | None = None) -> str:
    workspace = await ok(
        gql, owner, "createWorkspace", {"slug": slug, "name": name or slug.capitalize()}
    )
    workspace_id: str = workspace["id"]
    return workspace_id


@pytest.fixture
async def world(gql: Any, make_person: Any, engine: AsyncEngine) -> World:
    # Independent steps run concurrently or in one document: five rounds of requests.
    owner, member, viewer, outsider = await asyncio.gather(
        make_person("Olive Owner"),
        make_person("Max Member"),
        make_person("Vic Viewer"),
        make_person("Otto Outsider"),
    )
    workspace_id, other_workspace_id = await asyncio.gather(
        create_workspace(gql, owner, "acme"), create_workspace(gql, outsider, "other")
    )
    _, _, project, label = await ok_many(
        gql,
        owner,
        [
            ("addMember", {"workspaceId": workspace_id, "email": member.email, "role": "MEMBER"}),
            ("addMember", {"workspaceId": workspace_id, "email": viewer.email, "role": "VIEWER"}),
            ("createProject", {"workspaceId": workspace_id, "key": "ENG", "name": "Eng"}),
            ("createLabel", {"workspaceId": workspace_id, "name": "bug", "color": "#d73a4a"}),
        ],
    )
    issue = await ok(
        gql,
        member,
        "createIssue",
        {"projectId": project["id"], "title": "Crash on start", "labelIds": [label["id"]]},
    )
    comment, owner_comment = await asyncio.gather(
        ok(gql, member, "addComment", {"issueId": issue["id"], "body": "Seen it too"}),
        ok(gql, owner, "addComment", {"issueId": issue["id"], "body": "On it"}),
    )
    return World(
        engine=engine,
        owner=owner,
        member=member,
        viewer=viewer,
        outsider=outsider,
        workspace_id=workspace_id,
        project_id=project["id"],
        label_id=label["id"],
        issue_id=issue["id"],
        comment_id=comment["id"],
        owner_comment_id=owner_comment["id"],
        other_workspace_id=other_workspace_id,
    )


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
