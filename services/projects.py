"""Projects: the issue containers of a workspace, each with its own key and issue numbering."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import String, any_, bindparam, select
from sqlalchemy.dialects.postgresql import insert

from db.models import Project, Workspace
from db.statements import Prepared, Row
from services import validation
from services.errors import Conflict
from services.pagination import Page, PageArgs, SortKey, decode_bigint, decode_str, ids_param
from services.tenancy import Service, TenantReads, tenant_listing
from services.unset import Maybe, Unset
from services.viewer import WRITERS

_projects = Project.__table__
_workspaces = Workspace.__table__
PROJECTS = tenant_listing(
    "projects", _projects, ("id", "workspace_id", "key", "name", "description")
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


class ProjectReads(TenantReads):
    listing = PROJECTS

    async def get_by_key(self, workspace_slug: str, key: str) -> Row | None:
        if not self.viewer.workspace_ids:
            return None
        rows = await self.db.fetch(
            PROJECT_BY_KEY,
            {"slug": workspace_slug, "key": key.upper(), "workspaces": self.viewer.workspace_ids},
        )
        return rows[0] if rows else None

    async def pages(self, workspace_ids: Sequence[int], args: PageArgs) -> dict[int, Page[Row]]:
        return await self.pages_per_parent(workspace_ids, args, PROJECT_ORDER)

    async def counts(self, workspace_ids: Sequence[int]) -> dict[int, int]:
        return await self.counts_per_parent(workspace_ids)


class ProjectService(Service):
    async def get_for_write(self, project_id: int, field: Sequence[str]) -> Project:
        """The project, if it exists and the viewer may write in its workspace."""
        return await self.load_for_write(Project, project_id, action="change projects", field=field)

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
