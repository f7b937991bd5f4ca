"""Graceful shutdown (#6): SIGTERM to a real `issuegraph serve` and `issuegraph worker` mid-work
loses nothing.

The API: requests in flight when the signal arrives are finished (and answered), new connections
are refused, and the process exits within its grace period. The worker: a running import is
handed back (QUEUED again) within the worker's grace period, and another worker finishes it
without losing or duplicating a row.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.settings import Settings
from db.models import Issue, JobStatus, Project
from tests.support.jobs import (
    count_issues,
    issues_csv,
    job_of,
    job_row,
    make_project,
    make_space,
    start_import,
    wait_for_job,
)
from tests.support.processes import (
    BIG_IMPORT_ROWS,
    WorkerProcess,
    exited_cleanly,
    running_in,
    serving,
)
from tests.support.servers import waiting_on_locks
from tests.support.world import pk

SessionFactory = async_sessionmaker[AsyncSession]

CREATE_ISSUE = (
    "mutation($input: CreateIssueInput!) { createIssue(input: $input) "
    "{ issue { id title } userErrors { field message code } } }"
)


# -- the API -------------------------------------------------------------------------------------


async def connection_refused(port: int, within: float = 5) -> bool:
    """True once a new TCP connection to ``port`` is refused (polls for ``within`` seconds).

    A connect that was still in the listen backlog when the server closed its socket is reset
    rather than refused: the kernel answers both with RST, so both count.
    """
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(within):
            while True:
                try:
                    _, writer = await asyncio.open_connection("127.0.0.1", port)
                except (ConnectionRefusedError, ConnectionResetError):
                    return True
                writer.close()
                with contextlib.suppress(OSError):
                    await writer.wait_closed()
                await asyncio.sleep(0.02)
    return False


async def test_sigterm_finishes_in_flight_requests_and_refuses_new_ones(
    gql: Any,
    make_person: Any,
    settings: Settings,
    engine: AsyncEngine,
    session_factory: SessionFactory,
) -> None:
    owner = await make_person("Owner")
    space = await make_space(gql, owner, "shutdown")
    project_pk = pk(space.project, "Project")
    in_flight = 20

    async with serving(
        settings,
        ISSUEGRAPH_API_SHUTDOWN_GRACE_SECONDS="10",
        ISSUEGRAPH_DB_POOL_SIZE="30",
        # All of them in flight at once (admission control would keep 12 waiting).
        ISSUEGRAPH_MAX_REQUESTS_IN_FLIGHT=str(in_flight),
        ISSUEGRAPH_SLOW_REQUEST_MS="60000",
    ) as server:
        http = httpx.AsyncClient(
            base_url=server.url, headers=owner.headers, timeout=30, limits=httpx.Limits()
        )

        async def create(n: int) -> httpx.Response:
            variables = {"input": {"projectId": space.project, "title": f"Shutdown issue {n}"}}
            return await http.post("/graphql", json={"query": CREATE_ISSUE, "variables": variables})

        async with http, engine.connect() as lock:
            # Hold the project's row lock: every createIssue blocks at its issue-number UPDATE,
            # so all of them are provably in flight (mid-transaction) when SIGTERM arrives.
            transaction = await lock.begin()
            await lock.execute(select(Project.id).where(Project.id == project_pk).with_for_update())
            requests = [asyncio.create_task(create(n)) for n in range(in_flight)]
            try:
                async with asyncio.timeout(15):
                    while True:
                        if await waiting_on_locks(engine) >= in_flight:
                            break
                        await asyncio.sleep(0.02)
            except TimeoutError:
                pytest.fail(f"the requests never reached the database:\n{server.tail()}")

            server.terminate()
            signalled = time.monotonic()
            refused = await connection_refused(server.port)
            assert not any(r.done() for r in requests), "a request ended before the lock let go"
            await transaction.commit()
            results = await asyncio.gather(*requests, return_exceptions=True)

        returncode = await server.wait(within=15)
        elapsed = time.monotonic() - signalled

    assert refused, f"new connections were still accepted after SIGTERM:\n{server.tail()}"
    failures = [r for r in results if not isinstance(r, httpx.Response)]
    assert failures == [], f"{failures}\n{server.tail()}"
    responses = [r for r in results if isinstance(r, httpx.Response)]
    assert [r.status_code for r in responses] == [200] * in_flight, [r.text for r in responses]
    created = []
    for response in responses:
        payload = response.json()["data"]["createIssue"]
        assert payload["userErrors"] == [], payload
        created.append(payload["issue"]["title"])
    assert sorted(created) == sorted(f"Shutdown issue {n}" for n in range(in_flight))

    async with session_factory() as session:
        titles = list(
            await session.scalars(
                select(Issue.title).where(
                    Issue.project_id == project_pk, Issue.title.like("Shutdown issue %")
                )
            )
        )
    assert sorted(titles) == sorted(created)  # nothing half-written, nothing lost
    assert exited_cleanly(returncode), (returncode, server.tail())
    assert elapsed < 10, f"shutdown took {elapsed:.1f} s, past the 10 s grace period"


# -- the worker ----------------------------------------------------------------------------------

WORKER_ENV = {
    "ISSUEGRAPH_IMPORT_BATCH_SIZE": "50",
    "ISSUEGRAPH_WORKER_SHUTDOWN_GRACE_SECONDS": "1",
    "ISSUEGRAPH_JOB_HEARTBEAT_SECONDS": "0.2",
    "ISSUEGRAPH_JOB_STALE_AFTER_SECONDS": "2",
    "ISSUEGRAPH_JOB_SWEEP_INTERVAL_SECONDS": "1",
    "ISSUEGRAPH_JOB_TIMEOUT_SECONDS": "30",
    "ISSUEGRAPH_WORKER_POLL_DELAY_SECONDS": "0.05",
}


async def test_sigterm_hands_a_running_import_back_and_another_worker_finishes_it(
    gql: Any, make_person: Any, settings: Settings, session_factory: SessionFactory
) -> None:
    owner = await make_person("Owner")
    space = await make_space(gql, owner, "drain")
    project = await make_project(gql, owner, space, "IMP")
    job = job_of(await start_import(gql, owner, project, issues_csv(BIG_IMPORT_ROWS)))

    first, second = WorkerProcess(settings, **WORKER_ENV), WorkerProcess(settings, **WORKER_ENV)
    try:
        running = await running_in(first, gql, owner, job["id"])
        assert running["progress"] < 1
        assert first.process is not None
        first.process.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        try:
            async with asyncio.timeout(10):
                returncode = await first.process.wait()
        except TimeoutError:
            pytest.fail(f"the worker did not exit after SIGTERM:\n{first.tail()}")
        elapsed = time.monotonic() - signalled
        await first.kill()  # collects its output

        assert elapsed < 5, f"the worker took {elapsed:.1f} s to stop (grace 1 s)"
        handed_back = await job_row(session_factory, job["id"])
        committed = await count_issues(session_factory, project)
        assert 0 < committed < BIG_IMPORT_ROWS, committed
        # Handed back at once, not left RUNNING for the sweeper to notice 2 s later.
        assert handed_back.status is JobStatus.QUEUED, (handed_back.status, first.tail())
        assert returncode == 0, (returncode, first.tail())

        await second.start()
        done = await wait_for_job(gql, owner, job["id"], within=60)
    finally:
        await first.kill()
        await second.kill()

    assert done["status"] == "SUCCEEDED", (done, second.tail())
    assert done["result"] == {"created": BIG_IMPORT_ROWS, "failed": 0, "errors": []}
    async with session_factory() as session:
        rows = (
            await session.execute(
                select(func.count(), func.count(func.distinct(Issue.title))).where(
                    Issue.project_id == pk(project, "Project")
                )
            )
        ).one()
    assert tuple(rows) == (BIG_IMPORT_ROWS, BIG_IMPORT_ROWS)  # every row once, none twice
