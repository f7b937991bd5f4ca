"""Jobs survive what goes wrong around them: a flaky or refusing provider, a worker killed mid-job,
Redis down when the job is started, a cancel while running, a run lost for good."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.main import create_app
from app.settings import Settings
from db.models import Issue, IssueInsight, Job, JobStatus, Project
from tests.support.fakes import FakeOpenAI, Reply, completion
from tests.support.jobs import (
    cancel,
    count_issues,
    count_jobs,
    issues_csv,
    job_of,
    job_row,
    make_project,
    make_space,
    read_job,
    start_import,
    start_triage,
    wait_for_job,
    wait_until,
)
from tests.support.processes import BIG_IMPORT_ROWS, WorkerProcess, running_in
from tests.support.servers import RedisServer
from tests.support.workers import wait_for_arq_task, worker
from tests.support.world import create_label, pk

SessionFactory = async_sessionmaker[AsyncSession]


@pytest.fixture
async def fake_openai() -> AsyncIterator[FakeOpenAI]:
    server = FakeOpenAI()
    await server.start()
    yield server
    await server.close()


def openai_worker(settings: Settings, server: FakeOpenAI) -> Any:
    """A worker whose triage asks the fake server, without the provider's own retries."""
    return worker(
        settings,
        triage_provider="openai",
        openai_base_url=server.base_url,
        openai_max_retries=0,
        openai_api_key="test",
    )


# -- transient and permanent failures ------------------------------------------------------------


async def test_a_transient_provider_failure_is_retried_then_succeeds(
    gql: Any,
    make_person: Any,
    settings: Settings,
    session_factory: SessionFactory,
    fake_openai: FakeOpenAI,
) -> None:
    owner = await make_person("Owner")
    space = await make_space(gql, owner, "flaky")
    label = await create_label(gql, owner, space.workspace, "bug", "#d73a4a")
    fake_openai.replies = [
        Reply(503, "Service Unavailable"),
        Reply(
            200, completion({"summary": "Start-up crash.", "labels": ["bug"], "priority": "HIGH"})
        ),
    ]
    job = job_of(await start_triage(gql, owner, space.issue))
    async with openai_worker(settings, fake_openai):
        done = await wait_for_job(gql, owner, job["id"])

    assert done["status"] == "SUCCEEDED", done
    assert done["attempts"] == 2
    assert done["error"] is None
    assert done["result"] == {
        "summary": "Start-up crash.",
        "suggestedLabelIds": [label],
        "suggestedPriority": "HIGH",
        "model": "openai:gpt-4o-mini",
    }
    assert fake_openai.paths == ["/v1/chat/completions"] * 2

    body = await gql(
        "query($i: ID!) { node(id: $i) { ... on Issue { insight { summary suggestedPriority "
        "model suggestedLabels { name } } } } }",
        {"i": space.issue},
        as_=owner,
    )
    assert body["data"]["node"]["insight"] == {
        "summary": "Start-up crash.",
        "suggestedPriority": "HIGH",
        "model": "openai:gpt-4o-mini",
        "suggestedLabels": [{"name": "bug"}],
    }
    async with session_factory() as session:
        insights = await session.scalar(select(func.count()).select_from(IssueInsight))
    assert insights == 1


async def test_a_provider_rejection_fails_the_job_at_once(
    gql: Any,
    make_person: Any,
    settings: Settings,
    session_factory: SessionFactory,
    fake_openai: FakeOpenAI,
) -> None:
    owner = await make_person("Owner")
    space = await make_space(gql, owner, "rejected")
    fake_openai.replies = [
        Reply(400, {"error": {"message": "The model `gpt-4o-mini` does not exist"}}),
        Reply(200, completion({"summary": "Never asked.", "labels": [], "priority": "LOW"})),
    ]
    job = job_of(await start_triage(gql, owner, space.issue))
    async with openai_worker(settings, fake_openai):
        done = await wait_for_job(gql, owner, job["id"])
        # arq has finished the task without scheduling a retry: nothing will ask again.
        await wait_for_arq_task(settings, job["id"])

    assert done["status"] == "FAILED", done
    assert done["attempts"] == 1
    assert "rejected the request (HTTP 400)" in done["error"], done
    assert "does not exist" in done["error"]
    assert done["result"] is None
    assert fake_openai.paths == ["/v1/chat/completions"]
    assert (await read_job(gql, owner, job["id"]) or {})["status"] == "FAILED"
    async with session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(IssueInsight)) == 0


# -- a worker killed mid-import ------------------------------------------------------------------


async def test_an_import_survives_its_worker_being_killed(
    gql: Any, make_person: Any, settings: Settings, session_factory: SessionFactory
) -> None:
    owner = await make_person("Owner")
    space = await make_space(gql, owner, "crash")
    project = await make_project(gql, owner, space, "IMP")
    job = job_of(await start_import(gql, owner, project, issues_csv(BIG_IMPORT_ROWS)))

    env = {
        "ISSUEGRAPH_IMPORT_BATCH_SIZE": "50",
        "ISSUEGRAPH_JOB_HEARTBEAT_SECONDS": "0.2",
        "ISSUEGRAPH_JOB_STALE_AFTER_SECONDS": "2",
        "ISSUEGRAPH_JOB_SWEEP_INTERVAL_SECONDS": "1",
        "ISSUEGRAPH_JOB_TIMEOUT_SECONDS": "20",
        "ISSUEGRAPH_WORKER_POLL_DELAY_SECONDS": "0.05",
    }
    first, second = WorkerProcess(settings, **env), WorkerProcess(settings, **env)
    try:
        running = await running_in(first, gql, owner, job["id"])
        await first.kill()
        assert running["progress"] < 1
        committed = await count_issues(session_factory, project)
        assert 0 < committed < BIG_IMPORT_ROWS, committed
        assert (await job_row(session_factory, job["id"])).status is JobStatus.RUNNING

        await second.start()
        done = await wait_for_job(gql, owner, job["id"], within=60)
    finally:
        await first.kill()
        await second.kill()

    assert done["status"] == "SUCCEEDED", (done, second.tail())
    assert done["attempts"] >= 2
    assert done["result"] == {"created": BIG_IMPORT_ROWS, "failed": 0, "errors": []}
    project_pk = pk(project, "Project")
    async with session_factory() as session:
        issues, lines, numbers, counter = (
            await session.execute(
                select(
                    func.count(),
                    func.count(Issue.import_line.distinct()),
                    func.array_agg(Issue.number),
                    select(Project.issue_counter).where(Project.id == project_pk).scalar_subquery(),
                ).where(Issue.project_id == project_pk)
            )
        ).one()
    assert issues == BIG_IMPORT_ROWS
    assert lines == BIG_IMPORT_ROWS  # no row imported twice
    assert sorted(numbers) == list(range(1, BIG_IMPORT_ROWS + 1))
    assert counter == BIG_IMPORT_ROWS


# -- Redis down when the job is started ----------------------------------------------------------


async def test_a_job_started_while_redis_is_down_runs_once_it_is_back(
    gql: Any, make_person: Any, settings: Settings, session_factory: SessionFactory
) -> None:
    owner = await make_person("Owner")
    space = await make_space(gql, owner, "outage")
    redis = RedisServer()
    await redis.start()
    private = settings.model_copy(update={"redis_url": redis.url})
    try:
        app = create_app(private)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://test"
            ) as http,
        ):
            api = type(gql)(http)
            await redis.stop()

            loop = asyncio.get_running_loop()
            started = loop.time()
            payload = await start_import(api, owner, space.project, issues_csv(3))
            elapsed = loop.time() - started
            job = job_of(payload)  # no user errors: the row is the outbox
            assert job["status"] == "QUEUED"
            assert elapsed < 5, elapsed

            await redis.start()  # same port
            async with worker(private):
                done = await wait_for_job(api, owner, job["id"], within=20)
    finally:
        await redis.stop()

    assert done["status"] == "SUCCEEDED", done
    assert done["result"]["created"] == 3
    assert await count_jobs(session_factory, JobStatus.QUEUED) == 0
    assert await count_issues(session_factory, space.project) == 1 + 3


# -- cancel while running ------------------------------------------------------------------------


async def test_canceling_a_running_import_stops_it(
    gql: Any, make_person: Any, settings: Settings, session_factory: SessionFactory
) -> None:
    owner = await make_person("Owner")
    space = await make_space(gql, owner, "stop")
    project = await make_project(gql, owner, space, "IMP")
    job = job_of(await start_import(gql, owner, project, issues_csv(BIG_IMPORT_ROWS)))

    async with worker(settings, import_batch_size=50):
        await wait_until(
            gql,
            owner,
            job["id"],
            lambda j: j["status"] == "RUNNING" and j["progress"] > 0,
            within=30,
            every=0.02,
        )
        canceled = job_of(await cancel(gql, owner, job["id"]))
        assert canceled["status"] == "CANCELED"
        at_cancel = await count_issues(session_factory, project)
        # The worker has seen the abort and ended the task (no retry pending).
        await wait_for_arq_task(settings, job["id"])
        later = await read_job(gql, owner, job["id"])
        after_a_second = await count_issues(session_factory, project)

    assert later is not None
    assert later["status"] == "CANCELED", later  # not overwritten by the worker
    assert later["attempts"] == 1
    assert later["progress"] < 1
    assert 0 < at_cancel < BIG_IMPORT_ROWS
    # A batch in flight when the cancel committed is rolled back with its checkpoint.
    assert after_a_second == at_cancel
    row = await job_row(session_factory, job["id"])
    assert row.status is JobStatus.CANCELED  # the worker's shutdown did not requeue it either
    assert row.finished_at is not None


# -- a lost run ----------------------------------------------------------------------------------


async def test_the_sweeper_retries_or_fails_runs_whose_worker_vanished(
    gql: Any, make_person: Any, settings: Settings, session_factory: SessionFactory
) -> None:
    owner = await make_person("Owner")
    space = await make_space(gql, owner, "lost")
    exhausted = job_of(await start_triage(gql, owner, space.issue))
    retried = job_of(await start_triage(gql, owner, space.issue))
    # Both look like runs of a worker that died an hour ago. Their enqueue_seq moves past the
    # arq tasks the mutations enqueued, so only the sweeper can act on them.
    async with session_factory() as session:
        for job_id, attempts in ((exhausted["id"], 3), (retried["id"], 1)):
            await session.execute(
                update(Job)
                .where(Job.id == pk(job_id))
                .values(
                    status=JobStatus.RUNNING,
                    attempts=attempts,
                    max_attempts=3,
                    enqueue_seq=Job.enqueue_seq + 10,
                    message="Running.",
                    started_at=func.now() - func.make_interval(0, 0, 0, 0, 1),
                    heartbeat_at=func.now() - func.make_interval(0, 0, 0, 0, 1),
                    updated_at=func.now() - func.make_interval(0, 0, 0, 0, 1),
                )
            )
        await session.commit()

    async with worker(settings):
        failed = await wait_for_job(gql, owner, exhausted["id"], within=15)
        succeeded = await wait_for_job(gql, owner, retried["id"], within=15)

    assert failed["status"] == "FAILED", failed
    assert "stopped responding" in failed["error"], failed
    assert failed["attempts"] == 3
    assert failed["result"] is None
    assert (await job_row(session_factory, exhausted["id"])).finished_at is not None

    assert succeeded["status"] == "SUCCEEDED", succeeded
    assert succeeded["attempts"] == 2
    assert succeeded["result"]["model"] == "local-heuristic"
