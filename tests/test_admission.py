"""Admission control: a bounded number of GraphQL requests in flight, a bounded wait, a 503.

A request holds its slot while it waits on a project row lock held by the test, so the slots
are provably taken; the test waits for each state it asserts (never for time to pass).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.main import create_app
from app.policy.admission import Admission
from app.settings import Settings
from db.models import Project
from tests.jobs_helpers import make_space, pk
from tests.jobs_support import eventually
from tests.test_shutdown import waiting_on_locks

CREATE_ISSUE = (
    "mutation($input: CreateIssueInput!) { createIssue(input: $input) "
    "{ issue { id } userErrors { code } } }"
)
VIEWER = "{ viewer { name } }"


@pytest.fixture
async def limited(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """One slot, one waiter, a short wait."""
    app = create_app(
        settings.model_copy(
            update={
                "max_requests_in_flight": 1,
                "max_requests_waiting": 1,
                "admission_wait_seconds": 0.5,
            }
        )
    )
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c,
    ):
        yield app, c


def shed(text: str, reason: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if line.startswith(f'issuegraph_requests_shed_total{{reason="{reason}"}}'):
            total += float(line.split()[-1])
    return total


def assert_overloaded(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "1"
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-request-id"]
    assert response.json() == {
        "errors": [
            {
                "message": "The server is overloaded; try again in a second.",
                "extensions": {"code": "OVERLOADED"},
            }
        ]
    }


async def test_past_the_slots_requests_wait_then_are_refused(
    limited: tuple[FastAPI, httpx.AsyncClient],
    gql: Any,
    make_person: Any,
    engine: AsyncEngine,
) -> None:
    app, http = limited
    admission: Admission = app.state.admission
    owner = await make_person("Owner")
    space = await make_space(gql, owner, "admission")
    before = (await http.get("/metrics")).text

    async def post(query: str, variables: dict[str, Any] | None = None) -> httpx.Response:
        return await http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=owner.headers
        )

    async with engine.connect() as lock:
        transaction = await lock.begin()
        project = pk(space.project, "Project")
        await lock.execute(select(Project.id).where(Project.id == project).with_for_update())
        # The one slot: a createIssue blocked on the project's row lock.
        holder = asyncio.create_task(
            post(CREATE_ISSUE, {"input": {"projectId": space.project, "title": "Held"}})
        )
        await eventually(lambda: _locked(engine), what="the slot holder waits on the lock")
        # The one waiter.
        waiter = asyncio.create_task(post(VIEWER))
        await eventually(lambda: _waiting(admission, 1), what="a request waits for a slot")
        # No room left to wait: refused at once.
        assert_overloaded(await post(VIEWER))
        # Health checks and metrics never wait for a slot.
        assert (await http.get("/healthz")).status_code == 200
        # The waiter gives up after ADMISSION_WAIT_SECONDS.
        assert_overloaded(await waiter)
        await transaction.commit()
    held = await holder
    assert held.status_code == 200, held.text
    assert held.json()["data"]["createIssue"]["userErrors"] == []
    # A slot is free again.
    assert (await post(VIEWER)).json() == {"data": {"viewer": {"name": "Owner"}}}
    after = (await http.get("/metrics")).text
    assert shed(after, "queue_full") - shed(before, "queue_full") == 1
    assert shed(after, "wait_timeout") - shed(before, "wait_timeout") == 1


async def _locked(engine: AsyncEngine) -> bool:
    return await waiting_on_locks(engine) >= 1


async def _waiting(admission: Admission, count: int) -> bool:
    return admission.waiting == count


async def test_a_waiting_request_runs_when_a_slot_frees(
    limited: tuple[FastAPI, httpx.AsyncClient], make_person: Any
) -> None:
    _, http = limited
    owner = await make_person("Owner")
    # Sequential requests and a pair at once: the second waits for the first, then runs.
    results = await asyncio.gather(
        *(http.post("/graphql", json={"query": VIEWER}, headers=owner.headers) for _ in range(2))
    )
    assert [r.status_code for r in results] == [200, 200]
