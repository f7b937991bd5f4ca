"""Real GraphQL clients against a live server process (issue #8, parts 1 and 4).

- the GraphQL-over-HTTP specification's server audits (npm ``graphql-http``), with a valid
  token and without one: every MUST and SHOULD audit must pass;
- Apollo Client with its persisted-queries link (Node): a query through APQ (a miss, then the
  document, then a hit from another client), and a mutation;
- the Python ``gql`` client over HTTP (queries and a mutation with variables) and over
  graphql-transport-ws (``jobUpdates`` of a job run by a real worker).

The Node clients live in tests/clients (``make clients`` runs ``npm ci`` there). Without node
or those packages the Node tests skip; with ``ISSUEGRAPH_REQUIRE_CLIENT_TESTS=1`` (CI) they
fail instead.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from gql import Client, GraphQLRequest
from gql.transport.httpx import HTTPXAsyncTransport
from gql.transport.websockets import WebsocketsTransport

from app.settings import Settings
from tests.support.observe import counted
from tests.support.servers import live_server
from tests.support.workers import running_worker

CLIENTS = Path(__file__).parent / "clients"
REQUIRE = os.environ.get("ISSUEGRAPH_REQUIRE_CLIENT_TESTS") == "1"
# Looked up once, at import (no file system calls on the event loop later).
NODE = shutil.which("node")
INSTALLED = all(
    (CLIENTS / "node_modules" / package / "package.json").is_file()
    for package in ("graphql-http", "@apollo/client", "graphql")
)
GRAPHQL_RESPONSE = "application/graphql-response+json"


def need_node() -> str:
    reason = None
    if NODE is None:
        reason = "node is not installed"
    elif not INSTALLED:
        reason = "tests/clients/node_modules is missing (run `make clients`)"
    if reason is not None:
        if REQUIRE:
            pytest.fail(f"{reason}, and ISSUEGRAPH_REQUIRE_CLIENT_TESTS=1")
        pytest.skip(reason)
    assert NODE is not None
    return NODE


async def run_node(script: str, *args: str) -> str:
    node = need_node()
    process = await asyncio.create_subprocess_exec(
        node,
        script,
        *args,
        cwd=CLIENTS,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(60):
            stdout, stderr = await process.communicate()
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode == 0, stderr.decode()[-3000:]
    return stdout.decode()


# -- the GraphQL-over-HTTP audits --------------------------------------------------------------


def audit_summary(results: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """{"MUST": {"passed": n, "failed": m}, ...}; a MAY audit that is not ok counts as failed."""
    counts = Counter((r["level"], r["status"] == "ok") for r in results)
    return {
        level: {"passed": counts[(level, True)], "failed": counts[(level, False)]}
        for level in ("MUST", "SHOULD", "MAY")
    }


async def test_graphql_over_http_audits(settings: Settings, make_person: Any) -> None:
    need_node()
    alice = await make_person()
    summaries = {}
    async with live_server(settings) as base:
        for label, args in (("with token", [alice.token]), ("without token", [])):
            out = await run_node("audit.mjs", f"{base}/graphql", *args)
            results = [json.loads(line) for line in out.splitlines() if line.strip()]
            assert len(results) >= 60, out  # graphql-http 1.23 has 61 server audits
            failed = [
                r for r in results if r["level"] in ("MUST", "SHOULD") and r["status"] != "ok"
            ]
            assert failed == [], (label, failed)
            summaries[label] = audit_summary(results)
    # Printed for the record (pytest -s): e.g. {'MUST': {'passed': 13, 'failed': 0}, ...}.
    print("graphql-http server audits:", json.dumps(summaries))
    assert summaries["with token"] == summaries["without token"]


# -- Apollo Client with automatic persisted queries --------------------------------------------


def exchanges(step: dict[str, Any]) -> list[tuple[str, bool, list[str]]]:
    return [(e["method"], e["sentQuery"], e["errorCodes"]) for e in step["exchanges"]]


async def test_apollo_client_with_persisted_queries(settings: Settings, make_person: Any) -> None:
    need_node()
    alice = await make_person("Apollo User")
    before = {o: counted(o) for o in ("hit", "miss", "registered")}
    async with live_server(settings) as base:
        out = json.loads(await run_node("apollo.mjs", f"{base}/graphql", alice.token))

    first, second, mutation = out["firstQuery"], out["secondQuery"], out["mutation"]
    # The link sends only the hash (GET), is told PersistedQueryNotFound, sends the document.
    assert exchanges(first) == [
        ("GET", False, ["PERSISTED_QUERY_NOT_FOUND"]),
        ("POST", True, []),
    ], first
    assert first["data"]["viewer"]["name"] == "Apollo User"
    # Another client: the hash alone is enough now.
    assert exchanges(second) == [("GET", False, [])], second
    assert second["data"] == first["data"]
    assert second["exchanges"][0]["sentHash"] == first["exchanges"][0]["sentHash"]
    assert second["exchanges"][0]["cacheControl"].startswith("private")
    # Apollo asks for application/graphql-response+json and gets it.
    assert {e["contentType"] for step in out.values() for e in step["exchanges"]} == {
        f"{GRAPHQL_RESPONSE}; charset=utf-8"
    }
    # Mutations go by POST, hash first as well.
    assert exchanges(mutation) == [
        ("POST", False, ["PERSISTED_QUERY_NOT_FOUND"]),
        ("POST", True, []),
    ], mutation
    payload = mutation["data"]["createWorkspace"]
    assert payload["userErrors"] == []
    assert payload["workspace"]["slug"] == "apollo-ws"
    assert payload["workspace"]["name"] == "Made by Apollo"

    assert counted("miss") == before["miss"] + 2
    assert counted("registered") == before["registered"] + 2
    assert counted("hit") == before["hit"] + 1


# -- the Python gql client ---------------------------------------------------------------------


async def test_gql_client_over_http(settings: Settings, make_person: Any) -> None:
    alice = await make_person("Gql User")
    async with live_server(settings) as base:
        transport = HTTPXAsyncTransport(url=f"{base}/graphql", headers=alice.headers, timeout=10)
        # fetch_schema_from_transport: gql introspects the server and validates locally.
        async with Client(transport=transport, fetch_schema_from_transport=True) as session:
            viewer = await session.execute(GraphQLRequest("query { viewer { name } }"))
            assert viewer == {"viewer": {"name": "Gql User"}}

            created = await session.execute(
                GraphQLRequest(
                    """mutation Create($input: CreateWorkspaceInput!) {
                        createWorkspace(input: $input) {
                            workspace { id slug name viewerRole }
                            userErrors { field message code }
                        }
                    }""",
                    variable_values={"input": {"slug": "gql-ws", "name": "From gql"}},
                )
            )
            payload = created["createWorkspace"]
            assert payload["userErrors"] == []
            assert payload["workspace"]["slug"] == "gql-ws"
            assert payload["workspace"]["viewerRole"] == "OWNER"

            found = await session.execute(
                GraphQLRequest(
                    "query W($slug: String!) { workspace(slug: $slug) { id name } }",
                    variable_values={"slug": "gql-ws"},
                )
            )
            assert found == {"workspace": {"id": payload["workspace"]["id"], "name": "From gql"}}


async def test_gql_client_subscribes_to_job_updates(settings: Settings, make_person: Any) -> None:
    owner = await make_person("Subscriber")
    errors = "userErrors { field message code }"
    async with live_server(settings) as base, running_worker(settings):
        http = HTTPXAsyncTransport(url=f"{base}/graphql", headers=owner.headers, timeout=10)
        async with Client(transport=http) as session:

            async def run(query: str, variables: dict[str, Any]) -> dict[str, Any]:
                result = await session.execute(GraphQLRequest(query, variable_values=variables))
                [payload] = result.values()
                assert payload["userErrors"] == [], payload
                return dict(payload)

            workspace = await run(
                "mutation($i: CreateWorkspaceInput!) { createWorkspace(input: $i) "
                f"{{ workspace {{ id }} {errors} }} }}",
                {"i": {"slug": "gql-subs", "name": "Subs"}},
            )
            project = await run(
                "mutation($i: CreateProjectInput!) { createProject(input: $i) "
                f"{{ project {{ id }} {errors} }} }}",
                {"i": {"workspaceId": workspace["workspace"]["id"], "key": "GQL", "name": "G"}},
            )
            job = await run(
                "mutation($i: ExportProjectInput!) { exportProject(input: $i) "
                f"{{ job {{ id }} {errors} }} }}",
                {"i": {"projectId": project["project"]["id"], "format": "CSV"}},
            )

        ws = WebsocketsTransport(
            url=base.replace("http://", "ws://") + "/graphql",
            init_payload={"Authorization": f"Bearer {owner.token}"},
            subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
        )
        updates = []
        async with asyncio.timeout(30), Client(transport=ws) as session:
            subscription = GraphQLRequest(
                "subscription($id: ID!) { jobUpdates(id: $id) { id status progress result } }",
                variable_values={"id": job["job"]["id"]},
            )
            async for update in session.subscribe(subscription):
                updates.append(update["jobUpdates"])
    # The stream completes by itself after the terminal status.
    assert updates, updates
    assert {u["id"] for u in updates} == {job["job"]["id"]}
    assert updates[-1]["status"] == "SUCCEEDED", updates
    assert updates[-1]["progress"] == 1.0
    assert updates[-1]["result"]["format"] == "CSV"
