"""ProjectService and LabelService: writers only, another workspace's row is NotFound, keys,
names and colors validated, keys and label names unique per workspace."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from services.errors import Conflict, Forbidden, Invalid, NotFound
from services.labels import LabelService
from services.projects import ProjectService
from services.unset import UNSET
from tests.support.domain import Tenants


async def test_projects_are_created_by_writers_with_unique_valid_keys(
    session: AsyncSession, tenants: Tenants
) -> None:
    with pytest.raises(Forbidden):
        await ProjectService(session, tenants.reader).create(
            workspace_id=tenants.workspace_id, key="RD", name="Reader's", description=None
        )
    with pytest.raises(NotFound):
        await ProjectService(session, tenants.stranger).create(
            workspace_id=tenants.workspace_id, key="ST", name="Stranger's", description=None
        )
    service = ProjectService(session, tenants.member)
    with pytest.raises(Invalid) as invalid:
        await service.create(
            workspace_id=tenants.workspace_id, key="no key", name="Bad", description=None
        )
    assert invalid.value.field == ["input", "key"]
    with pytest.raises(Conflict):
        await service.create(
            workspace_id=tenants.workspace_id, key="HOME", name="Again", description=None
        )
    # Keys are unique per workspace only: AWAY's key is free here.
    project = await service.create(
        workspace_id=tenants.workspace_id, key="AWAY", name="Ours", description="d"
    )
    assert (project.workspace_id, project.key) == (tenants.workspace_id, "AWAY")


async def test_a_foreign_project_is_not_found_for_update(
    session: AsyncSession, tenants: Tenants
) -> None:
    service = ProjectService(session, tenants.owner)
    for project_id in (tenants.away_project_id, tenants.away_project_id + 1_000_000):
        with pytest.raises(NotFound) as missing:
            await service.update(project_id=project_id, name="Mine", description=UNSET)
        assert missing.value.field == ["input", "id"]
    with pytest.raises(Forbidden):
        await ProjectService(session, tenants.reader).update(
            project_id=tenants.project_id, name="Read only", description=UNSET
        )
    updated = await service.update(project_id=tenants.project_id, name="Home 2", description=UNSET)
    assert (updated.name, updated.description) == ("Home 2", "")


async def test_labels_are_validated_and_unique_per_workspace(
    session: AsyncSession, tenants: Tenants
) -> None:
    service = LabelService(session, tenants.member)
    with pytest.raises(Invalid) as bad_color:
        await service.create(workspace_id=tenants.workspace_id, name="ui", color="red")
    assert bad_color.value.field == ["input", "color"]
    with pytest.raises(Conflict):
        await service.create(workspace_id=tenants.workspace_id, name="bug", color="#000000")
    ui = await service.create(workspace_id=tenants.workspace_id, name="ui", color="#1d76db")
    with pytest.raises(Conflict):
        await service.update(label_id=ui.id, name="bug", color=UNSET)
    with pytest.raises(Forbidden):
        await LabelService(session, tenants.reader).delete(label_id=ui.id)


async def test_a_foreign_label_is_not_found_and_cannot_be_attached(
    session: AsyncSession, tenants: Tenants
) -> None:
    service = LabelService(session, tenants.owner)
    with pytest.raises(NotFound):
        await service.delete(label_id=tenants.away_label_id)
    with pytest.raises(NotFound):
        await service.update(label_id=tenants.away_label_id, name="mine", color=UNSET)
    with pytest.raises(NotFound) as foreign:
        await service.require_in_workspace(
            tenants.workspace_id, [tenants.label_id, tenants.away_label_id], ["input", "labelIds"]
        )
    assert foreign.value.field == ["input", "labelIds", "1"]
    assert await service.require_in_workspace(
        tenants.workspace_id, [tenants.label_id, tenants.label_id], ["input", "labelIds"]
    ) == [tenants.label_id]
