"""Transport hardening (issue #4, part 5): HTTP methods, CORS, introspection, GraphiQL and the
subscription cap per WebSocket connection.

Tenant isolation through jobs, downloads and subscriptions, the WebSocket handshake's
authentication and the legacy ``graphql-ws`` refusal are covered in their own suites.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

from app.main import create_app
from app.settings import Settings
from tests.fakes import app_client

ORIGIN = "https://app.example.com"
CREATE = 'mutation { createWorkspace(input: {slug: "over-get", name: "G"}) { workspace { id } } }'


async def workspace_count(client: httpx.AsyncClient, person: Any) -> int:
    response = await client.post(
        "/graphql", json={"query": "{ workspaces { totalCount } }"}, headers=person.headers
    )
    count: int = response.json()["data"]["workspaces"]["totalCount"]
    return count


# -- HTTP methods ----------------------------------------------------------------------------


async def test_queries_work_over_get(client: httpx.AsyncClient, make_person: Any) -> None:
    alice = await make_person("Getter")
    response = await client.get(
        "/graphql",
        params={
            "query": "query($n: Int) { viewer { name } workspaces(first: $n) { totalCount } }",
            "variables": json.dumps({"n": 1}),
        },
        headers=alice.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"] == {
        "viewer": {"name": "Getter"},
        "workspaces": {"totalCount": 0},
    }


@pytest.mark.parametrize(
    "params",
    [
        {"query": CREATE},
        # A query and a mutation in one document, the mutation chosen by name.
        {
            "query": "query Q { __typename } " + CREATE.replace("mutation", "mutation M"),
            "operationName": "M",
        },
    ],
    ids=["mutation", "named-mutation-beside-a-query"],
)
async def test_mutations_over_get_are_refused(
    client: httpx.AsyncClient, make_person: Any, params: dict[str, str]
) -> None:
    alice = await make_person()
    response = await client.get("/graphql", params=params, headers=alice.headers)
    assert response.status_code in (400, 405), response.text
    assert "mutations are not allowed when using GET" in response.text
    assert await workspace_count(client, alice) == 0


async def test_other_methods_are_refused(client: httpx.AsyncClient) -> None:
    for method in ("PUT", "PATCH", "DELETE"):
        response = await client.request(method, "/graphql", json={"query": "{ __typename }"})
        assert response.status_code == 405, (method, response.text)


@pytest.mark.parametrize(
    "body",
    [b'"a string"', b"7", b"null", b"true", b"[1, 2]", b'{"query": 1}', b"{not json"],
    ids=[
        "string",
        "number",
        "null",
        "boolean",
        "batch-of-non-objects",
        "query-not-a-string",
        "malformed",
    ],
)
async def test_a_json_body_that_is_not_a_request_is_a_400(app: FastAPI, body: bytes) -> None:
    """Whatever JSON arrives, a body that is not a GraphQL request is the client's error."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as raw:
        response = await raw.post(
            "/graphql", content=body, headers={"Content-Type": "application/json"}
        )
    assert response.status_code == 400, (response.status_code, response.text[:200])


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_subscriptions_are_refused_over_http(
    client: httpx.AsyncClient, make_person: Any, method: str
) -> None:
    """Subscriptions only over graphql-transport-ws: over HTTP a clear refusal, not a crash."""
    alice = await make_person()
    query = 'subscription { jobUpdates(id: "Sm9iOjE=") { status } }'
    if method == "GET":
        response = await client.get("/graphql", params={"query": query}, headers=alice.headers)
    else:
        response = await client.post("/graphql", json={"query": query}, headers=alice.headers)
    assert response.status_code in (400, 405), response.text
    assert "Unexpected error." not in response.text, response.text
    body = response.json()
    assert body.get("data") is None, body
    assert "WebSocket" in body["errors"][0]["message"], body


# -- CORS ------------------------------------------------------------------------------------


def preflight(origin: str) -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
    }


async def test_no_cors_by_default(client: httpx.AsyncClient, make_person: Any) -> None:
    assert Settings().cors_origins == []
    alice = await make_person()
    response = await client.options("/graphql", headers=preflight(ORIGIN))
    assert "access-control-allow-origin" not in response.headers
    response = await client.post(
        "/graphql",
        json={"query": "{ viewer { id } }"},
        headers={**alice.headers, "Origin": ORIGIN},
    )
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers


async def test_the_configured_origin_gets_cors_others_do_not(
    settings: Settings, make_person: Any
) -> None:
    alice = await make_person()
    async with app_client(settings, cors_origins=[ORIGIN]) as client:
        response = await client.options("/graphql", headers=preflight(ORIGIN))
        assert response.status_code == 200, response.text
        assert response.headers["access-control-allow-origin"] == ORIGIN
        assert "authorization" in response.headers["access-control-allow-headers"].lower()

        response = await client.post(
            "/graphql",
            json={"query": "{ viewer { id } }"},
            headers={**alice.headers, "Origin": ORIGIN},
        )
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == ORIGIN
        exposed = response.headers["access-control-expose-headers"].lower()
        assert "x-ratelimit-remaining" in exposed
        assert "x-request-id" in exposed

        other = "https://evil.example"
        response = await client.options("/graphql", headers=preflight(other))
        assert response.headers.get("access-control-allow-origin") != other
        assert "access-control-allow-origin" not in response.headers
        response = await client.post(
            "/graphql",
            json={"query": "{ viewer { id } }"},
            headers={**alice.headers, "Origin": other},
        )
        assert "access-control-allow-origin" not in response.headers


# -- introspection and GraphiQL --------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "{ __schema { queryType { name } } }",
        '{ __type(name: "Issue") { fields { name } } }',
        "query { ...F } fragment F on Query { __schema { types { name } } }",
    ],
    ids=["schema", "type", "through-a-fragment"],
)
async def test_introspection_can_be_switched_off(
    settings: Settings, client: httpx.AsyncClient, make_person: Any, query: str
) -> None:
    alice = await make_person()
    on = await client.post("/graphql", json={"query": query}, headers=alice.headers)
    assert "errors" not in on.json(), on.text

    async with app_client(settings, introspection=False) as off:
        no_token: dict[str, str] = {}
        for headers in (no_token, alice.headers):
            response = await off.post("/graphql", json={"query": query}, headers=headers)
            body = response.json()
            assert body.get("data") is None, body
            assert "introspection has been disabled" in body["errors"][0]["message"], body
        # __typename is not introspection of the schema; ordinary queries still work.
        body = (
            await off.post(
                "/graphql", json={"query": "{ __typename viewer { id } }"}, headers=alice.headers
            )
        ).json()
        assert body["data"]["__typename"] == "Query", body


async def test_graphiql_is_served_when_enabled(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "graphiql" in response.text.lower()


async def test_graphiql_of_a_server_that_is_not_dev_carries_no_token(
    client: httpx.AsyncClient, make_person: Any
) -> None:
    """Only `issuegraph dev` hands the app a token for its page (app.devtools.graphiql.Prefill): the
    page of any other server opens with an empty ``Bearer`` header, whoever asks."""
    person = await make_person("Page Reader")
    for headers in ({}, person.headers):
        response = await client.get("/graphql", headers={"Accept": "text/html", **headers})
        assert response.status_code == 200
        assert "var prefill = null;" in response.text
        assert "Bearer igt_" not in response.text
        assert person.token not in response.text


async def test_graphiql_can_be_switched_off(settings: Settings) -> None:
    async with app_client(settings, graphiql=False) as client:
        response = await client.get("/graphql", headers={"Accept": "text/html"})
        assert response.status_code == 404, response.text
        assert not response.headers.get("content-type", "").startswith("text/html")
        assert "graphiql" not in response.text.lower()


# -- the subscription cap per WebSocket connection -------------------------------------------

PROTOCOL = Subprotocol("graphql-transport-ws")
SUBSCRIBE = "subscription($id: ID!) { jobUpdates(id: $id) { status } }"


@asynccontextmanager
async def uvicorn_serving(settings: Settings, **update: Any) -> AsyncIterator[str]:
    """The app behind a real uvicorn on an ephemeral port: its http:// base URL."""
    app = create_app(settings.model_copy(update=update))
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(10):
            while not server.started:
                if task.done():
                    task.result()
                await asyncio.sleep(0.02)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"127.0.0.1:{port}"
    finally:
        server.should_exit = True
        async with asyncio.timeout(10):
            await task


async def receive(ws: ClientConnection) -> dict[str, Any]:
    async with asyncio.timeout(10):
        message: dict[str, Any] = json.loads(await ws.recv())
    return message


async def queued_export(base: str, person: Any) -> str:
    """A job that stays QUEUED (no worker serves this app's queue), so a subscription stays open."""

    async def run(query: str, variables: dict[str, Any]) -> Any:
        async with httpx.AsyncClient(base_url=f"http://{base}") as http:
            response = await http.post(
                "/graphql", json={"query": query, "variables": variables}, headers=person.headers
            )
        body = response.json()
        assert "errors" not in body, body
        [payload] = body["data"].values()
        assert payload["userErrors"] == [], payload
        return payload

    errors = "userErrors { field message code }"
    workspace = await run(
        "mutation($i: CreateWorkspaceInput!) { createWorkspace(input: $i) "
        f"{{ workspace {{ id }} {errors} }} }}",
        {"i": {"slug": "subs", "name": "Subs"}},
    )
    project = await run(
        "mutation($i: CreateProjectInput!) { createProject(input: $i) "
        f"{{ project {{ id }} {errors} }} }}",
        {"i": {"workspaceId": workspace["workspace"]["id"], "key": "SUB", "name": "Subs"}},
    )
    job = await run(
        "mutation($i: ExportProjectInput!) { exportProject(input: $i) "
        f"{{ job {{ id status }} {errors} }} }}",
        {"i": {"projectId": project["project"]["id"], "format": "CSV"}},
    )
    assert job["job"]["status"] == "QUEUED"
    job_id: str = job["job"]["id"]
    return job_id


async def test_subscriptions_per_connection_are_capped(
    settings: Settings, make_person: Any
) -> None:
    assert Settings().max_subscriptions_per_connection == 10
    owner = await make_person()
    queue = f"issuegraph-test-transport:{secrets.token_hex(4)}"
    async with uvicorn_serving(
        settings, max_subscriptions_per_connection=2, queue_name=queue
    ) as base:
        job_id = await queued_export(base, owner)
        async with connect(f"ws://{base}/graphql", subprotocols=[PROTOCOL], open_timeout=10) as ws:
            await ws.send(
                json.dumps(
                    {
                        "type": "connection_init",
                        "payload": {"Authorization": f"Bearer {owner.token}"},
                    }
                )
            )
            assert await receive(ws) == {"type": "connection_ack"}

            async def subscribe(op: str) -> dict[str, Any]:
                await ws.send(
                    json.dumps(
                        {
                            "id": op,
                            "type": "subscribe",
                            "payload": {"query": SUBSCRIBE, "variables": {"id": job_id}},
                        }
                    )
                )
                return await receive(ws)

            for op in ("1", "2"):
                message = await subscribe(op)
                assert message["type"] == "next", message
                assert message["payload"]["data"]["jobUpdates"]["status"] == "QUEUED"

            refused = await subscribe("3")
            assert refused["type"] == "error", refused
            assert refused["id"] == "3"
            assert "Subscription limit reached" in refused["payload"][0]["message"]

            # Ending one frees its slot.
            await ws.send(json.dumps({"id": "1", "type": "complete"}))
            message = await subscribe("4")
            assert message["type"] == "next", message
            assert message["id"] == "4"
