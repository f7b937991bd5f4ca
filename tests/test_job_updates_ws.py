"""`Subscription.jobUpdates` over a real WebSocket (the `websockets` client) against a real
uvicorn server running the app, with a real arq worker publishing the changes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.typing import Subprotocol

from app.settings import Settings
from tests.support.jobs import (
    issues_csv,
    job_of,
    make_project,
    make_space,
    start_import,
    start_triage,
    wait_for_job,
)
from tests.support.servers import live_server
from tests.support.subscriptions import (
    PROTOCOL,
    receive,
    session,
    subscribe,
    updates_until_complete,
)
from tests.support.workers import worker

LEGACY_PROTOCOL = Subprotocol("graphql-ws")


@pytest.fixture
async def server_url(settings: Settings) -> AsyncIterator[str]:
    """A fresh app served by uvicorn on a free local port: its ws:// GraphQL URL."""
    async with live_server(settings) as base_url:
        yield base_url.replace("http://", "ws://", 1) + "/graphql"


async def test_job_updates_stream_a_running_import(
    gql: Any, make_person: Any, settings: Settings, server_url: str
) -> None:
    owner = await make_person("Owner")
    space = await make_space(gql, owner, "stream")
    project = await make_project(gql, owner, space, "IMP")
    job = job_of(await start_import(gql, owner, project, issues_csv(500)))

    async with session(server_url, owner) as ws:
        await subscribe(ws, job["id"])
        first = await receive(ws)
        assert first["type"] == "next", first
        assert first["payload"]["data"]["jobUpdates"]["status"] == "QUEUED"
        # The worker starts only once the subscriber has the current state.
        async with worker(settings, import_batch_size=50):
            updates = await updates_until_complete(ws)

    assert updates, "no update after the first message"
    statuses = [u["status"] for u in updates]
    assert statuses[-1] == "SUCCEEDED", updates
    assert updates[-1]["progress"] == 1.0
    assert "RUNNING" in statuses
    assert "SUCCEEDED" not in statuses[:-1]
    running = [u["progress"] for u in updates if u["status"] == "RUNNING"]
    assert any(0 < p < 1 for p in running), updates
    assert running == sorted(running)  # progress never goes back
    assert all(u["message"] for u in updates)


async def test_job_updates_of_a_finished_job_is_one_message(
    gql: Any, make_person: Any, settings: Settings, server_url: str
) -> None:
    owner = await make_person("Owner")
    space = await make_space(gql, owner, "finished")
    job = job_of(await start_triage(gql, owner, space.issue))
    async with worker(settings):
        assert (await wait_for_job(gql, owner, job["id"]))["status"] == "SUCCEEDED"

    async with session(server_url, owner) as ws:
        await subscribe(ws, job["id"])
        updates = await updates_until_complete(ws, within=5)
    assert len(updates) == 1, updates
    assert updates[0]["status"] == "SUCCEEDED"
    assert updates[0]["progress"] == 1.0


async def test_job_updates_of_another_workspace_is_not_found(
    gql: Any, make_person: Any, server_url: str
) -> None:
    alice, bob = await asyncio.gather(make_person("Alice"), make_person("Bob"))
    alpha = await make_space(gql, alice, "alpha")
    await make_space(gql, bob, "beta", key="BE")
    job = job_of(await start_triage(gql, alice, alpha.issue))

    async with session(server_url, bob) as ws:
        await subscribe(ws, job["id"], op="x")
        message = await receive(ws, 5)
        assert message["id"] == "x", message
        if message["type"] == "next":  # the error as a result, then "complete"
            assert message["payload"]["data"] is None, message
            errors = message["payload"]["errors"]
            assert await receive(ws, 5) == {"id": "x", "type": "complete"}
        else:
            errors = message["payload"]
        [error] = errors
        assert error["extensions"]["code"] == "NOT_FOUND", error
        # The socket stays usable, and Alice's job is still there for Alice.
        await subscribe(ws, "not-a-job-id", op="y")
        assert (await receive(ws, 5))["id"] == "y"
    async with session(server_url, alice) as ws:
        await subscribe(ws, job["id"])
        first = await receive(ws, 5)
        assert first["type"] == "next", first
        assert first["payload"]["data"]["jobUpdates"]["status"] == "QUEUED"

    # graphql-transport-ws has an "error" message for an operation that cannot start.
    assert message["type"] == "error", message


async def close_code(ws: ClientConnection, message: dict[str, Any]) -> int | None:
    """Send ``message`` and return the code the server then closes with (None: it did not)."""
    try:
        await ws.send(json.dumps(message))
        answer = await receive(ws, 5)
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd is not None else None
    pytest.fail(f"the server answered instead of closing: {answer}")


async def test_a_bad_token_is_refused_with_4403(server_url: str) -> None:
    for payload in ({"Authorization": "Bearer not-a-token"}, {"token": "nope"}, {}):
        async with connect(server_url, subprotocols=[PROTOCOL], open_timeout=10) as ws:
            assert ws.subprotocol == PROTOCOL
            code = await close_code(ws, {"type": "connection_init", "payload": payload})
        assert code == 4403, payload


async def test_the_legacy_graphql_ws_protocol_is_refused(make_person: Any, server_url: str) -> None:
    person = await make_person("Legacy")
    init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {person.token}"}}
    try:
        async with connect(server_url, subprotocols=[LEGACY_PROTOCOL], open_timeout=10) as ws:
            assert ws.subprotocol != LEGACY_PROTOCOL
            code = await close_code(ws, init)
    except InvalidHandshake:
        return  # refused during the handshake: just as good
    assert code == 4406
