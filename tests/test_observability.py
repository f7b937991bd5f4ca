"""Observability (#6): request ids, structured log lines of requests and jobs, /metrics,
health and readiness, the worker's health check, and metrics across `serve --workers 2`."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.mmap_dict import MmapedDict
from prometheus_client.parser import text_string_to_metric_families
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.settings import Settings
from db import statements
from db.engine import create_engine
from db.migrate import HEAD, migrate_to, migration_scripts
from services.workspaces import WorkspaceReads
from tests.support.jobs import TRIAGE, job_of, make_space, start_triage, wait_for_job
from tests.support.observe import LogLine, captured_logs, lines_of
from tests.support.processes import (
    WorkerProcess,
    cli_env,
    exited_cleanly,
    run_cli,
    serving,
)
from tests.support.servers import app_client, database_named, scratch_database
from tests.support.workers import eventually, running_worker, wait_for_arq_task
from tests.support.world import pk

HEX32 = re.compile(r"[0-9a-f]{32}")
VIEWER = "query Viewer { viewer { name } }"
SPACES = "query Spaces { workspaces { edges { node { projects { edges { node { key } } } } } } }"


# -- capturing log lines -------------------------------------------------------------------------


# -- request ids ---------------------------------------------------------------------------------


@pytest.mark.parametrize("request_id", ["abc-123", "Client.id_7", "x" * 128])
async def test_a_valid_request_id_is_echoed(client: httpx.AsyncClient, request_id: str) -> None:
    response = await client.get("/healthz", headers={"X-Request-ID": request_id})
    assert response.status_code == 200
    assert response.headers["x-request-id"] == request_id


@pytest.mark.parametrize(
    "request_id",
    [
        None,
        "",
        "x" * 129,
        "x" * 500,
        "has space",
        "bad\nid",
        # A trailing newline must not pass: it would end up in the header and the log line.
        "forged\n",
        'quote"',
        "semi;colon",
    ],
)
async def test_a_missing_or_malformed_request_id_is_replaced(
    client: httpx.AsyncClient, request_id: str | None
) -> None:
    headers = {} if request_id is None else {"X-Request-ID": request_id}
    response = await client.post("/graphql", json={"query": "{ __typename }"}, headers=headers)
    assert response.status_code == 200
    assert HEX32.fullmatch(response.headers["x-request-id"]), response.headers["x-request-id"]


async def test_generated_request_ids_differ(client: httpx.AsyncClient) -> None:
    ids = {(await client.get("/healthz")).headers["x-request-id"] for _ in range(3)}
    assert len(ids) == 3


# -- log lines of requests -----------------------------------------------------------------------


async def test_one_access_line_per_request_with_operation_viewer_and_sql_count(
    client: httpx.AsyncClient, make_person: Any, app_engine: AsyncEngine
) -> None:
    alice = await make_person("Alice")
    sent: list[str] = []

    statements.listen(app_engine, sent.append)
    try:
        with captured_logs() as logs:
            response = await client.post(
                "/graphql",
                json={"query": VIEWER},
                headers={**alice.headers, "X-Request-ID": "obs-access-1"},
            )
    finally:
        statements.remove(app_engine, sent.append)

    assert response.status_code == 200, response.text
    assert response.json() == {"data": {"viewer": {"name": "Alice"}}}
    [line] = lines_of(logs, "obs-access-1", "http.request")
    assert [x["event"] for x in logs if x["event"].startswith("http.")] == ["http.request"]
    assert line["log_level"] == "info"
    assert line["status"] == 200
    assert line["method"] == "POST"
    assert line["path"] == "/graphql"
    assert isinstance(line["duration_ms"], float)
    assert 0 < line["duration_ms"] < 500
    assert line["operation"] == "Viewer"
    assert line["viewer_id"] == alice.user_id
    assert line["sql_statements"] == len(sent) > 0
    # Every line of the request carries its id, viewer and operation.
    for logged in lines_of(logs, "obs-access-1"):
        assert logged["viewer_id"] == alice.user_id, logged
        assert logged["operation"] == "Viewer", logged


async def test_an_anonymous_operation_and_an_unauthenticated_request_are_named(
    client: httpx.AsyncClient, make_person: Any
) -> None:
    alice = await make_person("Alice")
    with captured_logs() as logs:
        await client.post(
            "/graphql",
            json={"query": "{ viewer { name } }"},
            headers={**alice.headers, "X-Request-ID": "obs-anon"},
        )
        await client.post(
            "/graphql",
            json={
                "query": 'mutation Nope { createWorkspace(input: {slug: "n", name: "N"}) '
                "{ workspace { id } } }"
            },
            headers={"X-Request-ID": "obs-401"},
        )
        await client.get("/healthz", headers={"X-Request-ID": "obs-health"})

    [anonymous] = lines_of(logs, "obs-anon", "http.request")
    assert anonymous["operation"] == "anonymous query"
    assert anonymous["viewer_id"] == alice.user_id
    [refused] = lines_of(logs, "obs-401", "http.request")
    assert refused["status"] == 401
    assert refused["operation"] == "Nope"
    assert refused["viewer_id"] is None
    [health] = lines_of(logs, "obs-health", "http.request")
    assert health["status"] == 200
    assert health["path"] == "/healthz"
    assert health["operation"] is None
    assert health["sql_statements"] == 0


@pytest.mark.parametrize(
    ("document", "operation"),
    [
        ('query Boom { workspace(slug: "x") { id } }', "Boom"),
        ('{ workspace(slug: "x") { id } }', "anonymous query"),
    ],
)
async def test_an_unexpected_error_line_carries_the_request_context(
    client: httpx.AsyncClient,
    make_person: Any,
    monkeypatch: pytest.MonkeyPatch,
    document: str,
    operation: str,
) -> None:
    alice = await make_person("Alice")

    async def explode(self: WorkspaceReads, slug: str) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(WorkspaceReads, "get_by_slug", explode)
    with captured_logs() as logs:
        response = await client.post(
            "/graphql",
            json={"query": document},
            headers={**alice.headers, "X-Request-ID": "obs-boom"},
        )
    assert response.json()["errors"][0]["extensions"]["requestId"] == "obs-boom"
    [error] = lines_of(logs, "obs-boom", "graphql.unexpected_error")
    assert error["log_level"] == "error"
    assert error["viewer_id"] == alice.user_id
    [access] = lines_of(logs, "obs-boom", "http.request")
    assert access["operation"] == operation
    # The same operation name on every line of the request.
    assert error["operation"] == operation, error


async def test_a_slow_request_is_a_warning(settings: Settings, make_person: Any) -> None:
    alice = await make_person("Alice")
    async with app_client(settings, slow_request_ms=0) as http:
        with captured_logs() as logs:
            response = await http.post(
                "/graphql",
                json={"query": VIEWER},
                headers={**alice.headers, "X-Request-ID": "obs-slow"},
            )
    assert response.status_code == 200
    [line] = lines_of(logs, "obs-slow")  # the warning replaces the access line
    assert line["event"] == "http.slow_request"
    assert line["log_level"] == "warning"
    assert line["operation"] == "Viewer"
    assert line["status"] == 200
    assert line["viewer_id"] == alice.user_id
    assert line["sql_statements"] > 0
    assert line["duration_ms"] >= 0


# -- log lines of jobs ---------------------------------------------------------------------------


async def test_job_lines_carry_the_job_and_the_request_that_enqueued_it(
    client: httpx.AsyncClient, gql: Any, make_person: Any, settings: Settings
) -> None:
    owner = await make_person("Owner")
    space = await make_space(gql, owner, "joblogs")
    response = await client.post(
        "/graphql",
        json={"query": TRIAGE, "variables": {"i": space.issue}},
        headers={**owner.headers, "X-Request-ID": "obs-enqueue-1"},
    )
    job = job_of(response.json()["data"]["triageIssue"])
    with captured_logs() as logs:
        async with running_worker(settings):
            done = await wait_for_job(gql, owner, job["id"])
            # The worker logs job.succeeded after the row says so: wait for the line itself.
            await eventually(
                lambda: _logged(logs, "job.succeeded", pk(job["id"])), what="job.succeeded"
            )
    assert done["status"] == "SUCCEEDED", done

    job_lines = [line for line in logs if line.get("job_id") == pk(job["id"])]
    events = [line["event"] for line in job_lines]
    assert "job.started" in events, logs
    assert "job.succeeded" in events, logs
    for line in job_lines:
        if line["event"] in ("job.started", "job.succeeded"):
            assert line["job_kind"] == "TRIAGE_ISSUE", line
            assert line["request_id"] == "obs-enqueue-1", line
            assert line["attempt"] == 1, line


async def _logged(logs: list[LogLine], event: str, job_id: int) -> bool:
    return any(line["event"] == event and line.get("job_id") == job_id for line in logs)


# -- /metrics ------------------------------------------------------------------------------------


def sample(exposition: str, name: str, **labels: str) -> float:
    """The sum of the samples called ``name`` whose labels include ``labels``."""
    total = 0.0
    for family in text_string_to_metric_families(exposition):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                total += s.value
    return total


def has_sample(exposition: str, name: str, **labels: str) -> bool:
    return any(
        s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
        for family in text_string_to_metric_families(exposition)
        for s in family.samples
    )


async def scrape(http: httpx.AsyncClient) -> str:
    response = await http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


async def test_metrics_cover_requests_errors_sql_loaders_jobs_queue_and_pool(
    client: httpx.AsyncClient,
    gql: Any,
    make_person: Any,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    owner = await make_person("Owner")
    space = await make_space(gql, owner, "metrics")
    before = await scrape(client)

    for _ in range(2):
        await gql(VIEWER, as_=owner)
    await gql(VIEWER, expect_status=401)
    await gql(SPACES, as_=owner)
    job = job_of(await start_triage(gql, owner, space.issue))
    queued = await scrape(client)
    async with running_worker(settings):
        assert (await wait_for_job(gql, owner, job["id"]))["status"] == "SUCCEEDED"
        # The worker records its metrics after the row says SUCCEEDED, and arq takes the task
        # off the queue after that: wait for both before the final scrape.
        await wait_for_arq_task(settings, job["id"])
        await eventually(
            lambda: _job_metrics_recorded(client, before),
            what="jobs_finished_total recorded",
        )
    after = await scrape(client)

    def delta(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    duration = "issuegraph_request_duration_seconds"
    # (the client library puts `le` first among the labels)
    assert re.search(rf'{duration}_bucket{{le="[^"]+",operation="Viewer",outcome="ok"}}', after)
    assert delta(f"{duration}_count", operation="Viewer", outcome="ok") == 2
    assert delta(f"{duration}_count", operation="Viewer", outcome="unauthenticated") == 1
    assert delta(f"{duration}_count", operation="Spaces", outcome="ok") == 1
    assert delta(f"{duration}_sum", operation="Viewer", outcome="ok") > 0
    assert 'issuegraph_graphql_errors_total{code="UNAUTHENTICATED"}' in after
    assert delta("issuegraph_graphql_errors_total", code="UNAUTHENTICATED") == 1
    assert "issuegraph_sql_statements_per_request" in after
    assert delta("issuegraph_sql_statements_per_request_count") >= 5
    assert delta("issuegraph_sql_statements_per_request_sum") > 0
    assert "issuegraph_dataloader_batch_size" in after
    assert delta("issuegraph_dataloader_batch_size_count", loader="workspace_projects") >= 1

    assert sample(queued, "issuegraph_job_queue_depth") == 1
    assert has_sample(after, "issuegraph_job_queue_depth")
    assert sample(after, "issuegraph_job_queue_depth") == 0
    assert has_sample(after, "issuegraph_db_pool_connections_in_use")
    assert sample(after, "issuegraph_db_pool_connections_in_use") >= 0

    assert 'issuegraph_jobs_started_total{kind="TRIAGE_ISSUE"}' in after
    assert delta("issuegraph_jobs_started_total", kind="TRIAGE_ISSUE") == 1
    assert delta("issuegraph_jobs_finished_total", kind="TRIAGE_ISSUE", status="succeeded") == 1
    assert delta("issuegraph_job_duration_seconds_count", kind="TRIAGE_ISSUE") == 1


async def _job_metrics_recorded(client: httpx.AsyncClient, before: str) -> bool:
    name, labels = "issuegraph_jobs_finished_total", {"kind": "TRIAGE_ISSUE"}
    return sample(await scrape(client), name, **labels) > sample(before, name, **labels)


# -- health and readiness ------------------------------------------------------------------------


async def test_healthz_and_readyz(client: httpx.AsyncClient) -> None:
    health = await client.get("/healthz")
    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    ready = await client.get("/readyz")
    assert (ready.status_code, ready.json()) == (200, {"status": "ready"}), ready.text


async def test_readyz_is_503_with_redis_down(settings: Settings) -> None:
    async with app_client(settings, redis_url="redis://127.0.0.1:1/0") as http:
        health = await http.get("/healthz")
        ready = await http.get("/readyz")
    assert health.status_code == 200  # alive, just not ready
    assert ready.status_code == 503, ready.text
    body = ready.json()
    assert body["status"] == "unavailable"
    assert set(body["problems"]) == {"redis"}, body
    assert body["problems"]["redis"].startswith("unreachable")


async def test_readyz_is_503_with_the_database_missing(settings: Settings) -> None:
    assert settings.database_url
    missing = database_named(settings.database_url, f"issuegraph_missing_{secrets.token_hex(4)}")
    async with app_client(settings, database_url=missing) as http:
        ready = await http.get("/readyz")
    assert ready.status_code == 503, ready.text
    problems = ready.json()["problems"]
    assert set(problems) == {"postgres"}, problems
    assert problems["postgres"].startswith("unreachable")


@pytest.fixture
async def unmigrated_database_url(servers: Any) -> AsyncIterator[str]:
    async with scratch_database(servers.database_url, "issuegraph_unmigrated") as url:
        yield url


async def test_readyz_is_503_before_the_migrations(
    settings: Settings, unmigrated_database_url: str
) -> None:
    async with app_client(settings, database_url=unmigrated_database_url) as http:
        ready = await http.get("/readyz")
    assert ready.status_code == 503, ready.text
    assert set(ready.json()["problems"]) == {"migrations"}, ready.text
    assert ready.json()["problems"]["migrations"].startswith(
        "behind: the database is at base, older than this code's "
    ), ready.text


async def readyz_problems(settings: Settings, database_url: str) -> dict[str, str]:
    async with app_client(settings, database_url=database_url) as http:
        ready = await http.get("/readyz")
    assert ready.status_code == 503, ready.text
    body = ready.json()
    assert body["status"] == "unavailable", body
    assert set(body["problems"]) == {"migrations"}, body
    problems: dict[str, str] = body["problems"]
    return problems


async def test_readyz_tells_a_database_behind_this_code(
    settings: Settings, unmigrated_database_url: str
) -> None:
    script = await asyncio.to_thread(migration_scripts)
    head = script.get_current_head()
    assert head is not None
    previous = script.get_revision(head).down_revision
    assert isinstance(previous, str)
    engine = create_engine(unmigrated_database_url)
    try:
        await migrate_to(engine, HEAD)
        assert (await migrate_to(engine, previous)).direction == "downgrade"  # one step back
    finally:
        await engine.dispose()
    problems = await readyz_problems(settings, unmigrated_database_url)
    assert problems["migrations"] == (
        f"behind: the database is at {previous}, older than this code's {head}; "
        "run `issuegraph migrate`"
    )


async def test_readyz_tells_a_database_ahead_of_this_code(
    settings: Settings, unmigrated_database_url: str
) -> None:
    engine = create_engine(unmigrated_database_url)
    try:
        await migrate_to(engine, HEAD)
        # What a newer release's migration leaves: a revision this code has never heard of.
        async with engine.begin() as connection:
            await connection.execute(text("UPDATE alembic_version SET version_num = 'f00dfeed'"))
    finally:
        await engine.dispose()
    problems = await readyz_problems(settings, unmigrated_database_url)
    assert problems["migrations"].startswith(
        "ahead: the database is at f00dfeed, a revision this code "
    ), problems
    assert "roll forward, or downgrade with the newer release" in problems["migrations"]


# -- `issuegraph worker --check` -----------------------------------------------------------------


async def worker_check(settings: Settings, **env: str) -> tuple[int, str]:
    """`issuegraph worker --check`: its exit code and output (stdout, then stderr)."""
    code, out, err = await run_cli(
        settings, "worker", "--check", env=cli_env(settings, **env), within=20
    )
    return code, out + err


async def test_worker_check_reports_a_running_worker(settings: Settings) -> None:
    assert settings.redis_url
    worker = WorkerProcess(settings)
    redis = Redis.from_url(settings.redis_url)
    try:
        await worker.start()
        try:
            async with asyncio.timeout(20):
                while True:
                    if await redis.exists(f"{settings.queue_name}:health-check"):
                        break
                    await asyncio.sleep(0.05)
        except TimeoutError:
            pytest.fail(f"the worker never recorded its health:\n{worker.tail()}")
        (alive, alive_out), (absent, absent_out) = await asyncio.gather(
            worker_check(settings),
            worker_check(
                settings, ISSUEGRAPH_QUEUE_NAME=f"issuegraph-test:none-{secrets.token_hex(4)}"
            ),
        )
    finally:
        await worker.kill()
        await redis.aclose()
    assert alive == 0, alive_out
    assert absent != 0, absent_out


# -- metrics across `serve --workers 2` ----------------------------------------------------------


def requests_per_process(metrics_dir: Path) -> dict[str, float]:
    """GraphQL requests each server process recorded (from its multi-process metrics file)."""
    served: dict[str, float] = {}
    for path in metrics_dir.glob("histogram_*.db"):
        total = 0.0
        values = MmapedDict.read_all_values_from_file(str(path))  # type: ignore[no-untyped-call]
        for key, value, *_ in values:
            metric, name, *_ = json.loads(key)
            if metric == "issuegraph_request_duration_seconds" and name.endswith("_bucket"):
                total += value
        if total:
            served[path.stem.removeprefix("histogram_")] = total
    return served


async def test_metrics_add_up_across_server_processes(
    settings: Settings, make_person: Any, tmp_path: Path
) -> None:
    alice = await make_person("Alice")
    sent = 0
    async with serving(
        settings,
        workers=2,
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path),
        ISSUEGRAPH_LOG_FORMAT="auto",  # not a terminal: JSON lines
    ) as server:

        async def one(n: int) -> None:
            # A connection of its own each time, so the kernel may hand it to either process.
            async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
                response = await http.post(
                    "/graphql",
                    json={"query": VIEWER},
                    headers={**alice.headers, "X-Request-ID": f"multi-{n}"},
                )
            assert response.status_code == 200, response.text

        served: dict[str, float] = {}
        for _ in range(10):
            await asyncio.gather(*(one(sent + n) for n in range(10)))
            sent += 10
            served = await asyncio.to_thread(requests_per_process, tmp_path)
            if sent >= 20 and len(served) >= 2:
                break
        assert len(served) == 2, f"one process served everything: {served}"
        assert sum(served.values()) == sent

        totals = []
        for _ in range(6):
            async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
                totals.append(
                    sample(await scrape(http), "issuegraph_request_duration_seconds_count")
                )
        server.terminate()
        returncode = await server.wait(within=15)
        await server.kill()  # collects the rest of its output

    assert totals == [sent] * len(totals), (totals, served)
    assert exited_cleanly(returncode), (returncode, server.tail())
    access = []
    for raw in server.output:
        with contextlib.suppress(ValueError):
            line = json.loads(raw)
            if isinstance(line, dict) and line.get("event") == "http.request":
                access.append(line)
    mine = [line for line in access if str(line.get("request_id", "")).startswith("multi-")]
    assert len(mine) >= min(sent, 40), server.tail()  # the deque keeps the last 300 lines
    assert {line["operation"] for line in mine} == {"Viewer"}
    assert {line["viewer_id"] for line in mine} == {alice.user_id}


def test_a_forked_child_reports_its_own_pid_to_the_metrics() -> None:
    """The metrics keep the pid instead of asking for it at every observation
    (``app/metrics.py``); a forked child must still write to files of its own."""
    from app import metrics

    assert metrics._process_identifier() == os.getpid()
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through the pipe
        os.write(write_end, str(metrics._process_identifier() == os.getpid()).encode())
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as answer:
        assert answer.read() == "True"
    os.waitpid(child, 0)
    assert metrics._process_identifier() == os.getpid()
