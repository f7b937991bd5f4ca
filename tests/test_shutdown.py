"""Graceful shutdown (#6): SIGTERM to a real `issuegraph serve` and `issuegraph worker` mid-work
loses nothing.

The API: requests in flight when the signal arrives are finished (and answered), new connections
are refused, and the process exits within its grace period. The worker: a running import is
handed back (QUEUED again) within the worker's grace period, and another worker finishes it
without losing or duplicating a row.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.settings import Settings
from db.models import Issue, JobStatus, Project
from tests.fakes import free_port
from tests.jobs_helpers import (
    REPO_ROOT,
    WorkerProcess,
    count_issues,
    issues_csv,
    job_of,
    job_row,
    make_project,
    make_space,
    pk,
    start_import,
    wait_until,
)
from tests.jobs_support import wait_for_job

SessionFactory = async_sessionmaker[AsyncSession]

CREATE_ISSUE = (
    "mutation($input: CreateIssueInput!) { createIssue(input: $input) "
    "{ issue { id title } userErrors { field message code } } }"
)


def cli_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment of an `issuegraph` child process: this session's database and queue."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("ISSUEGRAPH_") and k != "PROMETHEUS_MULTIPROC_DIR"
    }
    assert settings.database_url
    assert settings.redis_url
    env.update(
        ISSUEGRAPH_DATABASE_URL=settings.database_url,
        ISSUEGRAPH_REDIS_URL=settings.redis_url,
        ISSUEGRAPH_QUEUE_NAME=settings.queue_name,
        ISSUEGRAPH_LOG_FORMAT="json",
    )
    env.update(extra)
    return env


class ServeProcess:
    """`python -m app.cli serve` as a child process on a free port, its output kept."""

    def __init__(self, settings: Settings, *, workers: int = 1, **env: str) -> None:
        self.port = free_port()
        self.workers = workers
        self.env = cli_env(settings, **env)
        self.process: asyncio.subprocess.Process | None = None
        self.output: collections.deque[str] = collections.deque(maxlen=300)
        self._reader: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "app.cli",
            "serve",
            "--port",
            str(self.port),
            "--workers",
            str(self.workers),
            cwd=REPO_ROOT,
            env=self.env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        self._reader = asyncio.create_task(self._drain())
        try:
            await self._wait_ready()
        except BaseException:
            await self.kill()
            raise

    async def _drain(self) -> None:
        assert self.process is not None
        assert self.process.stdout is not None
        async for line in self.process.stdout:
            self.output.append(line.decode(errors="replace").rstrip())

    async def _wait_ready(self, within: float = 20) -> None:
        assert self.process is not None
        async with asyncio.timeout(within), httpx.AsyncClient(base_url=self.url) as http:
            while True:
                if self.process.returncode is not None:
                    pytest.fail(f"`serve` exited early:\n{self.tail()}")
                with contextlib.suppress(httpx.TransportError):
                    if (await http.get("/healthz", timeout=2)).status_code == 200:
                        return
                await asyncio.sleep(0.05)

    def tail(self, lines: int = 40) -> str:
        return "\n".join(list(self.output)[-lines:])

    def terminate(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)

    async def wait(self, within: float) -> int:
        assert self.process is not None
        async with asyncio.timeout(within):
            return await self.process.wait()

    async def kill(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(self._reader, 5)


@contextlib.asynccontextmanager
async def serving(
    settings: Settings, *, workers: int = 1, **env: str
) -> AsyncIterator[ServeProcess]:
    server = ServeProcess(settings, workers=workers, **env)
    await server.start()
    try:
        yield server
    finally:
        await server.kill()


def exited_cleanly(returncode: int) -> bool:
    """0, or death by the SIGTERM uvicorn re-raises after a completed graceful shutdown."""
    return returncode in (0, -signal.SIGTERM)


# -- the API -------------------------------------------------------------------------------------


async def waiting_on_locks(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        count = await conn.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        )
    return int(count or 0)


async def connection_refused(port: int, within: float = 5) -> bool:
    """True once a new TCP connection to ``port`` is refused (polls for ``within`` seconds)."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(within):
            while True:
                try:
                    _, writer = await asyncio.open_connection("127.0.0.1", port)
                except ConnectionRefusedError:
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

BIG_IMPORT_ROWS = 20_000
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
        await first.start()
        try:
            running = await wait_until(
                gql,
                owner,
                job["id"],
                lambda j: j["status"] == "RUNNING" and j["progress"] > 0,
                within=30,
                every=0.02,
            )
        except TimeoutError:
            pytest.fail(f"the import never ran; worker output:\n{first.tail()}")
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
