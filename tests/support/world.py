"""Global ids, the objects of a workspace made through the API, and the world most mutation
tests start from (``build_world``; the ``world`` fixture is in tests/mutations/conftest.py)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from schema.ids import from_global_id, pk_of, to_global_id
from tests.support.client import ok, ok_many


def gid(type_name: str, pk: int) -> str:
    return str(to_global_id(type_name, pk))


def user_gid(person: Any) -> str:
    return gid("User", person.user_id)


def pk(global_id: str, type_name: str | None = None) -> int:
    """The primary key in a global id; of ``type_name`` when given (else of any type)."""
    if type_name is None:
        parsed = from_global_id(global_id)
        assert parsed is not None, global_id
        return parsed[1]
    value = pk_of(global_id, type_name)
    assert value is not None, global_id
    return value


async def create_workspace(gql: Any, owner: Any, slug: str, name: str | None = None) -> str:
    workspace = await ok(
        gql, owner, "createWorkspace", {"slug": slug, "name": name or slug.capitalize()}
    )
    workspace_id: str = workspace["id"]
    return workspace_id


async def add_member(
    gql: Any, owner: Any, workspace_id: str, person: Any, role: str = "MEMBER"
) -> None:
    await ok(
        gql, owner, "addMember", {"workspaceId": workspace_id, "email": person.email, "role": role}
    )


async def create_project(
    gql: Any, owner: Any, workspace_id: str, key: str, name: str | None = None
) -> str:
    project = await ok(
        gql, owner, "createProject", {"workspaceId": workspace_id, "key": key, "name": name or key}
    )
    project_id: str = project["id"]
    return project_id


async def create_label(
    gql: Any, owner: Any, workspace_id: str, name: str, color: str = "#d73a4a"
) -> str:
    label = await ok(
        gql, owner, "createLabel", {"workspaceId": workspace_id, "name": name, "color": color}
    )
    label_id: str = label["id"]
    return label_id


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


async def build_world(gql: Any, make_person: Any, engine: AsyncEngine) -> World:
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
