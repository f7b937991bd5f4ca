"""Traces (issue 15 §5): one trace from the HTTP request down to SQL and on into the worker.

Tracing is set up through ``app.observability.tracing``, as the app does, with the SDK's
in-memory exporter instead of ``OTEL_TRACES_EXPORTER``. Instrumentations patch libraries
process-wide, so each test that starts tracing shuts it down again: the rest of the suite runs
untraced (and the last test checks that an app built with tracing off has nothing of it).
"""

from __future__ import annotations

import asyncio
import inspect
import secrets
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest
import redis.asyncio
import structlog
import wrapt
from fastapi import FastAPI
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from sqlalchemy import func, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.graphql.graphql_post import GraphQLPost
from app.main import create_app
from app.observability import tracing
from app.observability.logging import configure_logging
from app.settings import Settings
from db.models import Job
from schema.ids import pk_of
from tests.conftest import GraphQLClient
from tests.fakes import live_server
from tests.jobs_support import eventually, running_worker, wait_for_job
from tests.test_job_updates_ws import session as ws_session
from tests.test_job_updates_ws import subscribe, updates_until_complete

TRIAGE = """mutation TriageIssue($i: ID!) {
  triageIssue(input: {issueId: $i}) { job { id status createdBy { name } } userErrors { message } }
}"""

# What the instrumentors wrap (wrapt), among others.
PATCHED_BY_TRACING = (
    (asyncpg.connection.Connection, "fetch"),
    (asyncpg.prepared_stmt.PreparedStatement, "fetch"),
    (redis.asyncio.Redis, "execute_command"),
    (redis.asyncio.client.Pipeline, "execute"),
)


@dataclass
class Traced:
    exporter: InMemorySpanExporter
    client: httpx.AsyncClient
    gql: GraphQLClient
    settings: Settings

    @property
    def spans(self) -> tuple[ReadableSpan, ...]:
        return self.exporter.get_finished_spans()


@pytest.fixture
async def traced(settings: Settings) -> AsyncIterator[Traced]:
    """An app of its own, built while tracing is on (the compiled executor alone, as served)."""
    exporter = InMemorySpanExporter()
    # (In a thread: the SDK's resource detection waits on threads of its own.)
    handle = await asyncio.to_thread(tracing.start, "issuegraph-test", exporter=exporter)
    settings = settings.model_copy(update={"execution_engine": "compiled"})
    try:
        app = create_app(settings)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://test"
            ) as client,
        ):
            yield Traced(exporter, client, GraphQLClient(client), settings)
    finally:
        handle.shutdown()
        configure_logging(settings.log_level, settings.log_format)  # no trace ids any more


def _statement(span: ReadableSpan) -> str:
    attributes = span.attributes or {}
    return str(attributes.get("db.statement") or attributes.get("db.query.text") or "")


def _children(spans: Iterable[ReadableSpan], parent: ReadableSpan) -> list[ReadableSpan]:
    return [s for s in spans if s.parent is not None and s.parent.span_id == parent.context.span_id]


def _descendants(spans: tuple[ReadableSpan, ...], root: ReadableSpan) -> list[ReadableSpan]:
    found = []
    todo = [root]
    while todo:
        for child in _children(spans, todo.pop()):
            found.append(child)
            todo.append(child)
    return found


def _one(spans: Iterable[ReadableSpan], name: str) -> ReadableSpan:
    matching = [s for s in spans if s.name == name]
    assert len(matching) == 1, (name, [s.name for s in spans])
    return matching[0]


async def _issue(gql: GraphQLClient, owner: Any) -> str:
    body = await gql(
        'mutation { createWorkspace(input: {slug: "acme", name: "Acme"}) { workspace { id } } }',
        as_=owner,
    )
    ws = body["data"]["createWorkspace"]["workspace"]["id"]
    body = await gql(
        'mutation($ws: ID!) { createProject(input: {workspaceId: $ws, key: "ENG", name: "Eng"}) '
        "{ project { id } } }",
        {"ws": ws},
        as_=owner,
    )
    project = body["data"]["createProject"]["project"]["id"]
    body = await gql(
        'mutation($p: ID!) { createIssue(input: {projectId: $p, title: "App crashes on start",'
        ' body: "It crashes with an exception."}) { issue { id } } }',
        {"p": project},
        as_=owner,
    )
    issue: str = body["data"]["createIssue"]["issue"]["id"]
    return issue


async def test_one_trace_from_the_request_down_to_sql_and_into_the_worker(
    traced: Traced, make_person: Any
) -> None:
    for patched, name in PATCHED_BY_TRACING:
        assert isinstance(inspect.getattr_static(patched, name), wrapt.FunctionWrapper), name
    owner = await make_person("Owner")
    issue_id = await _issue(traced.gql, owner)
    traced.exporter.clear()
    trace_id, caller_span_id = secrets.token_hex(16), secrets.token_hex(8)

    response = await traced.client.post(
        "/graphql",
        json={"query": TRIAGE, "variables": {"i": issue_id}, "operationName": "TriageIssue"},
        headers={**owner.headers, "traceparent": f"00-{trace_id}-{caller_span_id}-01"},
    )
    assert response.status_code == 200, response.text
    payload = response.json()["data"]["triageIssue"]
    assert payload["userErrors"] == []
    assert payload["job"]["createdBy"] == {"name": "Owner"}

    # The server span continues the caller's trace.
    spans = traced.spans
    server = _one(spans, "POST /graphql")
    assert server.kind is SpanKind.SERVER
    assert format(server.context.trace_id, "032x") == trace_id
    assert server.parent is not None
    assert format(server.parent.span_id, "016x") == caller_span_id

    # The operation, named by its type and name, under the server span.
    operation = _one(_children(spans, server), "mutation TriageIssue")
    attributes = operation.attributes or {}
    assert attributes["graphql.operation.type"] == "mutation"
    assert attributes["graphql.operation.name"] == "TriageIssue"

    # Under it: the unit of work's SQL (SQLAlchemy), the enqueue (Redis), the payload's
    # loader batch and its prepared SELECT (db.statements).
    below = _descendants(spans, operation)
    assert any(_statement(s).startswith("INSERT INTO jobs") for s in below), [
        _statement(s) for s in below
    ]
    assert all(s.context.trace_id == server.context.trace_id for s in below)
    loader = _one(below, "dataloader user")
    assert (loader.attributes or {})["dataloader.batch_size"] == 1
    selects = [s for s in _children(spans, loader) if "FROM users" in _statement(s)]
    assert selects
    assert all(s.kind is SpanKind.CLIENT for s in selects)
    assert any((s.attributes or {}).get("db.system") == "redis" for s in below)

    # The worker's run of the job continues the same trace, under the operation.
    async with running_worker(traced.settings):
        job = await wait_for_job(traced.gql, owner, payload["job"]["id"])
        assert job["status"] == "SUCCEEDED", job

        async def job_span_ended() -> bool:
            return any(s.name == "issues.triage" for s in traced.spans)

        await eventually(job_span_ended, what="the job's span ended")
    spans = traced.spans
    run = _one(spans, "issues.triage")
    assert run.kind is SpanKind.CONSUMER
    assert run.context.trace_id == server.context.trace_id
    assert run.parent is not None
    assert run.parent.span_id == operation.context.span_id
    in_run = _descendants(spans, run)
    statements = [_statement(s) for s in in_run]
    assert any(s.startswith("INSERT INTO issue_insights") for s in statements), statements
    assert any(s.startswith("UPDATE jobs") for s in statements), statements
    # jobUpdates: every change of the job is published on Redis, inside the run.
    publishes = [s for s in in_run if s.name == "PUBLISH"]
    assert len(publishes) >= 2, [s.name for s in in_run]  # RUNNING, then SUCCEEDED
    # A worker polling its queue outside any job starts no trace of its own.
    assert all(s.parent is not None or s.kind is not SpanKind.CLIENT for s in spans)


async def test_a_job_the_sweeper_enqueues_again_continues_the_trace(
    traced: Traced, make_person: Any, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    """The trace context is in the job row, not only in the arq task: a job whose task was
    lost (Redis flushed, the enqueue failed) and that the sweeper enqueues again still runs
    in the trace of the request that started it."""
    owner = await make_person("Owner")
    issue_id = await _issue(traced.gql, owner)
    trace_id = secrets.token_hex(16)
    response = await traced.client.post(
        "/graphql",
        json={"query": TRIAGE, "variables": {"i": issue_id}},
        headers={**owner.headers, "traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01"},
    )
    job_id = response.json()["data"]["triageIssue"]["job"]["id"]
    # Its arq task is no longer the job's current one (as after a lost enqueue): only the
    # sweeper can run it, with a new enqueue_seq and a new arq task.
    async with session_factory() as session:
        await session.execute(
            update(Job)
            .where(Job.id == pk_of(job_id, "Job"))
            .values(
                enqueue_seq=Job.enqueue_seq + 10,
                updated_at=func.now() - func.make_interval(0, 0, 0, 0, 1),
            )
        )
        await session.commit()
    async with running_worker(traced.settings):
        job = await wait_for_job(traced.gql, owner, job_id)
        assert job["status"] == "SUCCEEDED", job

        async def job_span_ended() -> bool:
            return any(s.name == "issues.triage" for s in traced.spans)

        await eventually(job_span_ended, what="the job's span ended")
    run = _one(traced.spans, "issues.triage")
    assert format(run.context.trace_id, "032x") == trace_id
    assert (run.attributes or {})["issuegraph.job.attempt"] == 1


async def test_a_subscription_over_websocket_is_traced(
    traced: Traced, make_person: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """A subscription's operation span lives as long as the subscription, under the socket's
    server span; its context is left cleanly (OpenTelemetry logs a failed detach)."""
    owner = await make_person("Owner")
    issue_id = await _issue(traced.gql, owner)
    body = await traced.gql(TRIAGE, {"i": issue_id}, as_=owner)
    job_id = body["data"]["triageIssue"]["job"]["id"]
    async with live_server(traced.settings) as base_url:
        url = base_url.replace("http://", "ws://", 1) + "/graphql"
        async with ws_session(url, owner) as ws, running_worker(traced.settings):
            await subscribe(ws, job_id)
            updates = await updates_until_complete(ws)
    assert updates[-1]["status"] == "SUCCEEDED"

    async def subscription_span_ended() -> bool:
        return any(s.name == "subscription" for s in traced.spans)

    await eventually(subscription_span_ended, what="the subscription's span ended")
    spans = traced.spans
    operation = _one(spans, "subscription")
    socket = _one(spans, "/graphql")
    assert socket.kind is SpanKind.SERVER
    assert operation.parent is not None
    assert operation.parent.span_id == socket.context.span_id
    assert not [r for r in caplog.records if r.name.startswith("opentelemetry")]


async def test_log_lines_carry_the_trace_and_span_ids(traced: Traced) -> None:
    processors = structlog.get_config()["processors"]
    assert tracing.add_trace_ids in processors  # create_app configured logging with them
    capture = structlog.testing.LogCapture()
    structlog.configure(processors=[*processors[:-1], capture])  # the chain, minus rendering
    try:
        logger = structlog.get_logger("tests.tracing")
        logger.info("outside")
        with tracing.active().tracer.start_as_current_span("work") as span:  # type: ignore[union-attr]
            logger.info("inside")
    finally:
        structlog.configure(processors=processors)
    outside, inside = capture.entries
    assert "trace_id" not in outside
    assert "span_id" not in outside
    assert inside["trace_id"] == format(span.get_span_context().trace_id, "032x")
    assert inside["span_id"] == format(span.get_span_context().span_id, "016x")


async def test_sampler_and_untraced_paths(traced: Traced) -> None:
    """A probe starts no trace; a caller's unsampled trace stays unsampled (parent-based)."""
    assert (await traced.client.get("/healthz")).status_code == 200
    response = await traced.client.post(
        "/graphql",
        json={"query": "{ __typename }"},
        headers={"traceparent": f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-00"},
    )
    assert response.status_code == 200
    assert traced.spans == ()


def test_with_tracing_off_nothing_is_instrumented(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(tracing.EXPORTER_VARIABLE, raising=False)
    assert tracing.active() is None
    assert not tracing.requested()
    app: FastAPI = create_app(Settings(execution_engine="compiled"))
    assert all("OpenTelemetry" not in repr(m.cls) for m in app.user_middleware)
    router = next(m.kwargs["router"] for m in app.user_middleware if m.cls is GraphQLPost)
    extensions = [e() for e in router.schema.extensions]  # classes and factories alike
    assert not any(isinstance(e, tracing.OperationSpan) for e in extensions)
    # No library is patched: asyncpg, Redis as they ship.
    for owner, name in PATCHED_BY_TRACING:
        assert not isinstance(inspect.getattr_static(owner, name), wrapt.FunctionWrapper), name
    assert tracing.add_trace_ids not in structlog.get_config()["processors"]
    monkeypatch.setenv(tracing.EXPORTER_VARIABLE, "none")
    assert not tracing.requested()
