"""Migrations both ways: every downgrade undoes its upgrade exactly and keeps the data of the
tables that stay; `issuegraph migrate --to REVISION` from the command line.

Each test migrates a throw-away database of its own (created like the session's, dropped
afterwards), so it may take the schema up and down without disturbing other tests.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from app.graphql.persisted import Operation, register_documents
from app.settings import Settings
from db.engine import create_session_factory
from db.migrate import BASE, HEAD, migrate_to, migration_scripts
from db.models import (
    Base,
    Issue,
    IssueInsight,
    IssueLabel,
    IssuePriority,
    IssueStatus,
    Label,
    Role,
)
from services import auth
from services.comments import CommentService
from services.imports import start_import
from services.insights import start_triage
from services.issues import IssueService
from services.job_kind import JobStart
from services.jobs import JobLimits
from services.labels import LabelService
from services.projects import ProjectService
from services.viewer import Viewer
from services.workspaces import WorkspaceService
from tests.support.processes import cli_env, run_cli
from tests.support.servers import scratch_database

# What each migration adds. A new migration must be added here, with data for its tables in
# `write_data` (the round trip checks that every table has rows before it goes down).
TABLES_ADDED = {
    "0001": {
        "users",
        "workspaces",
        "api_tokens",
        "memberships",
        "projects",
        "labels",
        "issues",
        "issue_labels",
        "comments",
    },
    "0002": {"jobs", "job_files", "job_file_chunks", "issue_insights"},
    "0003": {"trusted_documents"},
    "0004": set(),  # a column: jobs.trace_context
}
ENUMS_ADDED = {
    "0001": {"role", "issue_status", "issue_priority"},
    "0002": {"job_kind", "job_status"},
    "0003": set(),
    "0004": set(),
}

# Everything of ours in the database, as text that names it and says what it is. Alembic's own
# table (alembic_version) is left out: Alembic keeps it, emptied, when it downgrades to base.
CATALOG = {
    "relations (tables, indexes, sequences, views)": """
        SELECT c.relkind::text || ' ' || c.relname
        FROM pg_class c
        WHERE c.relnamespace = 'public'::regnamespace AND c.relname NOT LIKE 'alembic_version%'
    """,
    "columns": """
        SELECT c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
            || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END
            || coalesce(' DEFAULT ' || pg_get_expr(d.adbin, d.adrelid), '')
            || CASE WHEN a.attgenerated = 's' THEN ' GENERATED' ELSE '' END
        FROM pg_attribute a
        JOIN pg_class c ON c.oid = a.attrelid
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE c.relnamespace = 'public'::regnamespace AND c.relname NOT LIKE 'alembic_version%'
            AND c.relkind IN ('r', 'v', 'm', 'p') AND a.attnum > 0 AND NOT a.attisdropped
    """,
    "indexes": """
        SELECT pg_get_indexdef(i.indexrelid)
        FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
        WHERE c.relnamespace = 'public'::regnamespace AND c.relname NOT LIKE 'alembic_version%'
    """,
    "constraints": """
        SELECT c.relname || ' ' || k.conname || ' ' || pg_get_constraintdef(k.oid)
        FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
        WHERE k.connamespace = 'public'::regnamespace AND c.relname NOT LIKE 'alembic_version%'
    """,
    "types (enums, domains)": """
        SELECT t.typname || ' ' || t.typtype::text || coalesce(' ' || (
            SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder)
            FROM pg_enum e WHERE e.enumtypid = t.oid), '')
        FROM pg_type t
        WHERE t.typnamespace = 'public'::regnamespace AND t.typrelid = 0
            AND t.typcategory <> 'A'
    """,
    "functions": "SELECT p.proname FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace",
    "triggers": """
        SELECT c.relname || ' ' || t.tgname
        FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
        WHERE c.relnamespace = 'public'::regnamespace AND NOT t.tgisinternal
    """,
}
NOTHING: dict[str, list[str]] = {kind: [] for kind in CATALOG}


async def catalog(engine: AsyncEngine) -> dict[str, list[str]]:
    async with engine.connect() as connection:
        return {
            kind: sorted((await connection.scalars(text(sql))).all())
            for kind, sql in CATALOG.items()
        }


async def tables(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as connection:
        names = await connection.scalars(
            text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        )
        return set(names) - {"alembic_version"}


async def enums(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as connection:
        names = await connection.scalars(
            text(
                "SELECT typname FROM pg_type"
                " WHERE typtype = 'e' AND typnamespace = 'public'::regnamespace"
            )
        )
        return set(names)


async def rows(engine: AsyncEngine) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table of ours, as JSON objects (column name → value)."""
    found: dict[str, list[dict[str, Any]]] = {}
    async with engine.connect() as connection:
        for table in sorted(await tables(engine)):
            query = f'SELECT to_jsonb(t)::text FROM "{table}" t'  # noqa: S608 (from pg_tables)
            found[table] = [json.loads(row) for row in await connection.scalars(text(query))]
    return found


def assert_same_schema(now: dict[str, list[str]], expected: dict[str, list[str]], at: str) -> None:
    for kind, objects in expected.items():
        assert now[kind] == objects, f"{at}: {kind}"


def same_rows(rows_now: list[dict[str, Any]], rows_before: list[dict[str, Any]]) -> bool:
    """The rows are the same in the columns the table still has."""
    columns = set(rows_now[0]) if rows_now else set()

    def key(row: dict[str, Any]) -> str:
        return json.dumps({c: v for c, v in row.items() if c in columns}, sort_keys=True)

    return sorted(map(key, rows_now)) == sorted(map(key, rows_before))


@pytest.fixture
async def scratch_database_url(servers: Any) -> AsyncIterator[str]:
    """A fresh, empty database of this test's own (asyncpg URL), dropped afterwards."""
    async with scratch_database(servers.database_url, "issuegraph_migrations") as url:
        yield url


@pytest.fixture
async def scratch_engine(scratch_database_url: str) -> AsyncIterator[AsyncEngine]:
    # A new connection for every use: a pooled one would keep asyncpg's caches of statements
    # and type ids (enums are dropped and made anew here) across the schema changes.
    engine = create_async_engine(scratch_database_url, poolclass=NullPool)
    yield engine
    await engine.dispose()


async def write_data(engine: AsyncEngine) -> None:
    """Some of everything, written by the application's own services where it has them."""
    async with create_session_factory(engine)() as session:
        owner = await auth.create_user(session, email="owner@example.com", name="Owner")
        member = await auth.create_user(session, email="member@example.com", name="Member")
        await auth.create_token(session, email=owner.email, label="round trip")
        viewer = Viewer(user_id=owner.id, name=owner.name, email=owner.email)
        workspace = await WorkspaceService(session, viewer).create(slug="trip", name="Trip")
        viewer = Viewer(
            user_id=owner.id, name=owner.name, email=owner.email, roles={workspace.id: Role.OWNER}
        )
        await WorkspaceService(session, viewer).add_member(
            workspace_id=workspace.id, email=member.email, role=Role.MEMBER
        )
        project = await ProjectService(session, viewer).create(
            workspace_id=workspace.id, key="TRIP", name="Round trip", description="Up and down."
        )
        labels = LabelService(session, viewer)
        bug = await labels.create(workspace_id=workspace.id, name="bug", color="#d73a4a")
        slow = await labels.create(workspace_id=workspace.id, name="slow", color="#fbca04")
        issues = IssueService(session, viewer)
        crash = await issues.create(
            project_id=project.id,
            title="Crashes on downgrade",
            body="The schema went down and took the data with it.",
            status=IssueStatus.IN_PROGRESS,
            priority=IssuePriority.URGENT,
            assignee_id=member.id,
            label_ids=[bug.id, slow.id],
        )
        imported = await issues.create(
            project_id=project.id, title="Imported from CSV", label_ids=[slow.id]
        )
        comments = CommentService(session, viewer)
        await comments.add(issue_id=crash.id, body="Reproduced.")
        await comments.add(issue_id=imported.id, body="Came in with the import.")
        # 0002: an import job with its input file (job, file, chunk rows) ...
        import_job, _ = await start_import(
            JobStart(
                session,
                viewer,
                JobLimits(),
                idempotency_key="round-trip",
                request_id="round-trip-request",
            ),
            project_id=project.id,
            csv_text="title\nImported from CSV\n",
        )
        # ... and the (job, line) key the import leaves on the issues it creates,
        await session.execute(
            update(Issue)
            .where(Issue.id == imported.id)
            .values(import_job_id=import_job.id, import_line=1)
        )
        # a triage job and the insight it stores (services.insights.run_triage's row).
        triage_job, _ = await start_triage(
            JobStart(
                session,
                viewer,
                JobLimits(),
                # 0004: the trace it continues.
                trace_context={
                    "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
                },
            ),
            issue_id=crash.id,
        )
        session.add(
            IssueInsight(
                issue_id=crash.id,
                workspace_id=workspace.id,
                job_id=triage_job.id,
                summary="It crashes.",
                suggested_label_ids=[bug.id],
                suggested_priority=IssuePriority.HIGH,
                model="local-heuristic",
            )
        )
        # 0003: a trusted document.
        document = "query Viewer {\n  viewer {\n    name\n  }\n}"
        await register_documents(
            session,
            [
                Operation(
                    name="Viewer",
                    document=document,
                    sha256=hashlib.sha256(document.encode()).hexdigest(),
                    source="viewer.graphql",
                )
            ],
        )
        await session.commit()


async def revisions_oldest_first() -> list[str]:
    script = await asyncio.to_thread(migration_scripts)
    return [revision.revision for revision in reversed(list(script.walk_revisions()))]


async def test_every_migration_goes_down_and_up_again_keeping_the_data(
    scratch_engine: AsyncEngine,
) -> None:
    engine = scratch_engine
    revisions = await revisions_oldest_first()
    assert revisions == list(TABLES_ADDED), "a new migration: add it to TABLES_ADDED/ENUMS_ADDED"
    assert set().union(*TABLES_ADDED.values()) == set(Base.metadata.tables)

    # The schema each revision makes on its own, built up one step at a time.
    made = {BASE: await catalog(engine)}
    assert made[BASE] == NOTHING
    expected_tables: dict[str, set[str]] = {BASE: set()}
    expected_enums: dict[str, set[str]] = {BASE: set()}
    below = BASE
    for revision in revisions:
        migration = await migrate_to(engine, revision)
        assert (migration.direction, migration.after) == ("upgrade", (revision,))
        expected_tables[revision] = expected_tables[below] | TABLES_ADDED[revision]
        expected_enums[revision] = expected_enums[below] | ENUMS_ADDED[revision]
        assert await tables(engine) == expected_tables[revision]
        assert await enums(engine) == expected_enums[revision]
        made[revision] = await catalog(engine)
        below = revision

    await write_data(engine)
    at_head = await rows(engine)
    empty = sorted(table for table, table_rows in at_head.items() if not table_rows)
    assert not empty, f"write_data left tables without rows: {empty}"

    # Down one step at a time: each step leaves exactly the schema of the revision below, and
    # the rows of every table that stays (in the columns that stay).
    for upper, lower in zip(reversed(revisions), reversed([BASE, *revisions[:-1]]), strict=True):
        migration = await migrate_to(engine, lower)
        assert (migration.before, migration.direction) == ((upper,), "downgrade")
        assert migration.after == (() if lower == BASE else (lower,))
        assert await tables(engine) == expected_tables[lower], f"{upper} -> {lower}"
        assert await enums(engine) == expected_enums[lower], f"{upper} -> {lower}"
        assert_same_schema(await catalog(engine), made[lower], f"{upper} -> {lower}")
        remaining = await rows(engine)
        for table, table_rows in remaining.items():
            assert same_rows(table_rows, at_head[table]), f"{upper} -> {lower}: {table}"

    # At base nothing of ours is left (no table, index, sequence, enum ...); Alembic keeps its
    # own alembic_version table, empty.
    assert_same_schema(await catalog(engine), NOTHING, "at base")
    async with engine.connect() as connection:
        assert (
            await connection.scalars(text("SELECT version_num FROM alembic_version"))
        ).all() == []

    # Up again: the same schema as the first time, and it works.
    migration = await migrate_to(engine, HEAD)
    assert (migration.before, migration.after) == ((), (revisions[-1],))
    assert_same_schema(await catalog(engine), made[revisions[-1]], "up again")
    assert await rows(engine) == {table: [] for table in expected_tables[revisions[-1]]}
    await write_data(engine)
    async with create_session_factory(engine)() as session:
        issue = await session.scalar(select(Issue).where(Issue.title == "Crashes on downgrade"))
        assert issue is not None
        assert (issue.number, issue.status, issue.priority) == (
            1,
            IssueStatus.IN_PROGRESS,
            IssuePriority.URGENT,
        )
        label_names = await session.scalars(
            select(Label.name)
            .join(IssueLabel, IssueLabel.label_id == Label.id)
            .where(IssueLabel.issue_id == issue.id)
            .order_by(Label.name)
        )
        assert label_names.all() == ["bug", "slow"]
        found = await session.scalar(
            select(Issue.id).where(
                Issue.search_vector.op("@@")(func.to_tsquery("english", "downgrade"))
            )
        )
        assert found == issue.id


# -- `issuegraph migrate --to` -------------------------------------------------------------------


async def issuegraph_migrate(
    settings: Settings, database_url: str, *args: str
) -> tuple[int, str, str]:
    env = cli_env(settings, ISSUEGRAPH_DATABASE_URL=database_url)
    return await run_cli(settings, "migrate", *args, env=env, within=30)


async def revision_of(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as connection:
        return list(await connection.scalars(text("SELECT version_num FROM alembic_version")))


async def test_migrate_to_a_revision_from_the_command_line(
    settings: Settings, scratch_database_url: str, scratch_engine: AsyncEngine
) -> None:
    first, *_, head = await revisions_oldest_first()

    async def migrate(*args: str) -> str:
        code, out, err = await issuegraph_migrate(settings, scratch_database_url, *args)
        assert code == 0, err
        return out.strip()

    # Two processes at once: one migrates, the other waits for the lock, then has nothing to do.
    outputs = await asyncio.gather(migrate(), migrate())
    assert sorted(outputs) == [
        f"the database is already at {head} (head)",
        f"upgraded the database from base to {head} (head)",
    ]
    assert await migrate("--to", first) == (
        f"downgraded the database from {head} (head) to {first}"
    )
    assert await revision_of(scratch_engine) == [first]
    assert await tables(scratch_engine) == TABLES_ADDED[first]
    assert await migrate("--to", "base") == f"downgraded the database from {first} to base"
    assert await tables(scratch_engine) == set()
    assert await migrate("--to", "head") == f"upgraded the database from base to {head} (head)"
    assert await revision_of(scratch_engine) == [head]

    # A revision this code does not have: one line, no traceback, nothing changed.
    code, out, err = await issuegraph_migrate(settings, scratch_database_url, "--to", "0bad")
    assert code == 2, (out, err)
    assert err.splitlines() == [err.strip()], err
    assert err.startswith("error: unknown revision '0bad': this code knows base, "), err
    assert await revision_of(scratch_engine) == [head]

    # A database a newer release migrated: the same, for plain `migrate` too.
    async with scratch_engine.begin() as connection:
        await connection.execute(text("UPDATE alembic_version SET version_num = 'f00dfeed'"))
    for code, out, err in await asyncio.gather(
        issuegraph_migrate(settings, scratch_database_url),
        issuegraph_migrate(settings, scratch_database_url, "--to", first),
    ):
        assert code == 1, (out, err)
        assert err.splitlines() == [err.strip()], err
        assert err.startswith("error: the database is at f00dfeed, a revision this code does not")
    assert await revision_of(scratch_engine) == ["f00dfeed"]
