"""Projects: the issue containers of a workspace, each with its own key and issue numbering."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import String, any_, bindparam, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Project, Workspace
from db.statements import Prepared, Row, Statements
from services import validation
from services.errors import Conflict
from services.pagination import (
    Listing,
    Page,
    PageArgs,
    SortKey,
    count_per_parent,
    decode_bigint,
    decode_str,
    fetch_pages,
    ids_param,
)
from services.tenancy import get_for_write, visible_by_ids
from services.unset import Maybe, Unset
from services.viewer import WRITERS, Viewer

_projects = Project.__table__
_workspaces = Workspace.__table__
PROJECTS = Listing(
    "projects",
    (
        _projects.c.id,
        _projects.c.workspace_id,
        _projects.c.key,
        _projects.c.name,
        _projects.c.description,
    ),
    parent=_projects.c.workspace_id,
    tenant=_projects.c.workspace_id,
)
PROJECT_ORDER = SortKey(
    "projects:key", (_projects.c.key, _projects.c.id), (decode_str, decode_bigint), False
)
PROJECT_BY_KEY = Prepared(
    select(*PROJECTS.columns)
    .join(_workspaces, _workspaces.c.id == _projects.c.workspace_id)
    .where(
        _workspaces.c.slug == bindparam("slug", type_=String),
        _projects.c.key == bindparam("key", type_=String),
        _projects.c.workspace_id == any_(ids_param("workspaces")),
    )
)


class ProjectReads:
    def __init__(self, db: Statements, viewer: Viewer) -> None:
        self.db = db
        self.viewer = viewer

    async def get_many(self, ids: Sequence[int]) -> list[Row | None]:
        return await visible_by_ids(self.db, self.viewer, PROJECTS, ids)

    async def get_by_key(self, workspace_slug: str, key: str) -> Row | None:
        if not self.viewer.workspace_ids:
            return None
        rows = await self.db.fetch(
            PROJECT_BY_KEY,
            {"slug": workspace_slug, "key": key.upper(), "workspaces": self.viewer.workspace_ids},
        )
        return rows[0] if rows else None

    async def pages(self, workspace_ids: Sequence[int], args: PageArgs) -> dict[int, Page[Row]]:
        readable = [i for i in workspace_ids if self.viewer.can_read(i)]
        return await fetch_pages(
            self.db, PROJECTS, readable, PROJECT_ORDER, args, workspaces=readable
        )

    async def counts(self, workspace_ids: Sequence[int]) -> dict[int, int]:
        readable = [i for i in workspace_ids if self.viewer.can_read(i)]
        return await count_per_parent(self.db, PROJECTS, readable, workspaces=readable)


class ProjectService:
    def __init__(self, session: AsyncSession, viewer: Viewer) -> None:
        self.session = session
        self.viewer = viewer

    async def get_for_write(self, project_id: int, field: Sequence[str]) -> Project:
        """The project, if it exists and the viewer may write in its workspace."""
        return await get_for_write(
            self.session,
            self.viewer,
            Project,
            project_id,
            missing="Project not found.",
            field=field,
            action="change projects",
        )

    async def create(
        self, *, workspace_id: int, key: str, name: str, description: str | None
    ) -> Project:
        self.viewer.require_role(
            workspace_id, WRITERS, ["input", "workspaceId"], action="create projects"
        )
        key = validation.project_key(key, ["input", "key"])
        name = validation.name(name, ["input", "name"])
        description = validation.body(description or "", ["input", "description"], "Description")
        project_id = await self.session.scalar(
            insert(Project)
            .values(workspace_id=workspace_id, key=key, name=name, description=description)
            .on_conflict_do_nothing(index_elements=["workspace_id", "key"])
            .returning(Project.id)
        )
        if project_id is None:
            raise Conflict(f"The key '{key}' is taken in this workspace.", ["input", "key"])
        return await self.session.get_one(Project, project_id)

    async def update(
        self,
        *,
        project_id: int,
        name: Maybe[str],
        description: Maybe[str],
    ) -> Project:
        project = await self.get_for_write(project_id, ["input", "id"])
        if not isinstance(name, Unset):
            project.name = validation.name(name or "", ["input", "name"])
        if not isinstance(description, Unset):
            project.description = validation.body(
                description or "", ["input", "description"], "Description"
            )
        await self.session.flush()
        return project
