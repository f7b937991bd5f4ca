"""The request's services are injected (resolvers/services.py): a test can replace one, for
reads and inside a mutation's unit of work, and a request builds only the ones it uses."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.graphql.schema import schema
from db.statements import EngineStatements, Row, Statements
from resolvers.context import Context, ContextWiring
from services import types as domain
from services.auth import authenticate
from services.labels import LabelReads
from services.viewer import Viewer
from services.workspaces import WorkspaceReads, WorkspaceService


class RenamingWorkspaceReads(WorkspaceReads):
    async def get_by_slug(self, slug: str) -> Row | None:
        row = await super().get_by_slug(slug)
        return None if row is None else {**row, "name": "from the override"}


class RecordingWorkspaceService(WorkspaceService):
    created: list[str] = []

    async def create(self, *, slug: str, name: str) -> domain.Workspace:
        RecordingWorkspaceService.created.append(slug)
        return await super().create(slug=slug, name=name)


async def test_a_test_can_replace_a_service(
    engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession], make_person: Any
) -> None:
    person = await make_person()
    db = EngineStatements(engine)
    built: list[str] = []

    def counted(name: str, make: Any) -> Any:
        def build(binding: Statements | AsyncSession, viewer: Viewer) -> object:
            built.append(name)
            return make(binding, viewer)

        return build

    wiring = ContextWiring(
        session_factory,
        service_overrides={
            WorkspaceReads: counted("workspace_reads", RenamingWorkspaceReads),
            WorkspaceService: counted("workspaces", RecordingWorkspaceService),
            LabelReads: counted("label_reads", LabelReads),
        },
    )

    async def execute(query: str) -> dict[str, Any]:
        found = await authenticate(db, person.token)
        assert found is not None
        context = Context(wiring, db=db, viewer=found.viewer, request_id="test")
        result = await schema.execute(query, context_value=context)
        assert result.errors is None, result.errors
        assert result.data is not None
        return result.data

    created = await execute(
        'mutation { createWorkspace(input: {slug: "acme", name: "Acme"}) '
        "{ workspace { name } userErrors { message } } }"
    )
    assert created["createWorkspace"] == {"workspace": {"name": "Acme"}, "userErrors": []}
    assert RecordingWorkspaceService.created == ["acme"]

    read = await execute('{ workspace(slug: "acme") { name } }')
    assert read == {"workspace": {"name": "from the override"}}
    # Each request built only the service it used.
    assert built == ["workspaces", "workspace_reads"]
