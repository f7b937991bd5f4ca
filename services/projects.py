"""Projects: the issue containers of a workspace, each with its own key and issue numbering."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Project, Workspace
from services import validation
from services.errors import Conflict, NotFound
from services.pagination import (
    Page,
    PageArgs,
    SortKey,
    count_per_parent,
    decode_bigint,
    decode_str,
    fetch_pages,
)
from services.tenancy import visible_by_ids
from services.unset import Maybe, Unset
from services.viewer import WRITERS, Viewer

PROJECT_ORDER = SortKey(
    "projects:key", (Project.key, Project.id), (decode_str, decode_bigint), False
)


class ProjectService:
    def __init__(self, session: AsyncSession, viewer: Viewer) -> None:
        self.session = session
        self.viewer = viewer

    async def get_many(self, ids: Sequence[int]) -> list[Project | None]:
        return await visible_by_ids(self.session, self.viewer, Project, ids)

    async def get_by_key(self, workspace_slug: str, key: str) -> Project | None:
        if not self.viewer.workspace_ids:
            return None
        return await self.session.scalar(
            select(Project)
            .join(Workspace, Workspace.id == Project.workspace_id)
            .where(
                Workspace.slug == workspace_slug,
                Project.key == key.upper(),
                Project.workspace_id.in_(self.viewer.workspace_ids),
            )
        )

    async def pages(self, workspace_ids: Sequence[int], args: PageArgs) -> dict[int, Page[Project]]:
        return await fetch_pages(
            self.session,
            entity=Project,
            parent_column=Project.workspace_id,
            parent_ids=[i for i in workspace_ids if self.viewer.can_read(i)],
            sort=PROJECT_ORDER,
            args=args,
        )

    async def counts(self, workspace_ids: Sequence[int]) -> dict[int, int]:
        return await count_per_parent(
            self.session,
            parent_column=Project.workspace_id,
            parent_ids=[i for i in workspace_ids if self.viewer.can_read(i)],
        )

    async def get_for_write(self, project_id: int, field: Sequence[str]) -> Project:
        """The project, if it exists and the viewer may write in its workspace."""
        project = await self.session.get(Project, project_id)
        if project is None or not self.viewer.can_read(project.workspace_id):
            raise NotFound("Project not found.", field)
        self.viewer.require_role(project.workspace_id, WRITERS, action="change projects")
        return project

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
