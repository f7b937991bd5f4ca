"""The domain rules written once (services/issue_rules.py, services/tenancy.py:get_for_write),
through the service API against the real database: every writer of issues numbers them from the
project's counter and sets closedAt by the same rule, and a write's load tells a foreign row
(NotFound) from a role that may not write (Forbidden)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from db.models import Issue, IssueStatus, Label, Project, Role
from db.statements import EngineStatements
from seeding.bench import BenchShape, seed_bench
from services.errors import Forbidden, NotFound
from services.issue_rules import take_numbers
from services.issues import IssueService, create_issue_at_once
from services.labels import LabelService
from services.projects import ProjectService
from services.tenancy import get_for_write
from services.viewer import Viewer
from services.workspaces import WorkspaceService
from tests.support.domain import make_viewer, update_issue


@dataclass
class World:
    owner: Viewer
    project_id: int


@pytest.fixture
async def world(session_factory: async_sessionmaker[AsyncSession]) -> World:
    async with session_factory() as session:
        owner = await make_viewer(session, "owner@example.com", {})
        workspace = await WorkspaceService(session, owner).create(slug="rules", name="Rules")
        owner = Viewer(owner.user_id, owner.name, owner.email, {workspace.id: Role.OWNER})
        project = await ProjectService(session, owner).create(
            workspace_id=workspace.id, key="RUL", name="Rules", description=None
        )
        await session.commit()
    return World(owner, project.id)


async def test_every_writer_numbers_from_the_project_counter(
    world: World, session_factory: async_sessionmaker[AsyncSession], engine: AsyncEngine
) -> None:
    async with session_factory() as session:
        first = await IssueService(session, world.owner).create(
            project_id=world.project_id, title="One"
        )
        await session.commit()
    fast = await create_issue_at_once(
        EngineStatements(engine),
        world.owner,
        project_id=world.project_id,
        title="Two",
        body=None,
        status=None,
        priority=None,
    )
    assert fast is not None
    async with session_factory() as session:
        batch = await take_numbers(session, world.project_id, 3)  # what an import batch takes
        third = await IssueService(session, world.owner).create(
            project_id=world.project_id, title="Six"
        )
        await session.commit()
        counter = await session.scalar(
            select(Project.issue_counter).where(Project.id == world.project_id)
        )
    assert [first.number, fast["number"], *batch, third.number] == [1, 2, 3, 4, 5, 6]
    assert counter == 6


async def test_closed_at_is_set_on_close_kept_while_closed_and_cleared_on_reopen(
    world: World, session_factory: async_sessionmaker[AsyncSession], engine: AsyncEngine
) -> None:
    async with session_factory() as session:
        service = IssueService(session, world.owner)
        done = await service.create(
            project_id=world.project_id, title="Done", status=IssueStatus.DONE
        )
        open_ = await service.create(project_id=world.project_id, title="Open")
        await session.commit()
    fast_done = await create_issue_at_once(
        EngineStatements(engine),
        world.owner,
        project_id=world.project_id,
        title="Fast",
        body=None,
        status=IssueStatus.CANCELED,
        priority=None,
    )
    assert done.closed_at is not None
    assert open_.closed_at is None
    assert fast_done is not None
    assert fast_done["closed_at"] is not None

    async with session_factory() as session:
        service = IssueService(session, world.owner)
        canceled = await update_issue(service, done.id, status=IssueStatus.CANCELED)
        assert canceled.closed_at == done.closed_at  # closed to closed: the instant stays
        reopened = await update_issue(service, done.id, status=IssueStatus.TODO)
        assert reopened.closed_at is None
        closed = await update_issue(service, open_.id, status=IssueStatus.DONE)
        assert closed.closed_at is not None
        await session.commit()


async def test_bench_seeding_numbers_and_closes_by_the_same_rules(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    shape = BenchShape(users=3, projects=2, issues=40, labels=4, comments_per_issue=1)
    async with session_factory() as session:
        seeded = await seed_bench(session, shape)
        await session.commit()
        projects = (await session.execute(select(Project.id, Project.issue_counter))).all()
        columns = (Issue.project_id, Issue.number, Issue.status, Issue.closed_at, Issue.created_at)
        issues = (await session.execute(select(*columns))).all()
    assert seeded.project_keys == ["P0", "P1"]
    for project_id, counter in projects:
        numbers = sorted(i.number for i in issues if i.project_id == project_id)
        assert numbers == list(range(1, counter + 1))
        assert counter == 20
    for issue in issues:
        closed = issue.status in (IssueStatus.DONE, IssueStatus.CANCELED)
        assert issue.closed_at == (issue.created_at if closed else None)


async def test_get_for_write_hides_foreign_rows_and_refuses_readers(
    world: World, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    async with session_factory() as session:
        [workspace_id] = world.owner.roles
        label = await LabelService(session, world.owner).create(
            workspace_id=workspace_id, name="bug", color="#d73a4a"
        )
        stranger = await make_viewer(session, "stranger@example.com", {})
        reader = await make_viewer(session, "reader@example.com", {workspace_id: Role.VIEWER})
        await session.commit()

        async def load(viewer: Viewer, label_id: int) -> Label:
            return await get_for_write(
                session,
                viewer,
                Label,
                label_id,
                missing="Label not found.",
                field=["input", "id"],
                action="change labels",
            )

        assert (await load(world.owner, label.id)).id == label.id
        with pytest.raises(NotFound) as foreign:
            await load(stranger, label.id)
        with pytest.raises(NotFound) as missing:
            await load(world.owner, label.id + 1_000_000)
        # A foreign row and a missing one read the same: a non-member learns nothing.
        assert (foreign.value.message, foreign.value.field) == (
            missing.value.message,
            missing.value.field,
        )
        assert foreign.value.field == ["input", "id"]
        with pytest.raises(Forbidden, match=r"VIEWER.*change labels"):
            await load(reader, label.id)
