"""Persisted queries and trusted documents (issue #8, parts 2 and 3), over ASGI against the
real Redis and PostgreSQL: Apollo's APQ protocol (miss, register, hit, hash checks, GET
caching, metrics, shared by two app instances), the trusted-documents mode and the
`issuegraph documents register` command.

The live clients (Apollo Client, gql, the GraphQL-over-HTTP audits) are in test_clients.py.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from websockets.asyncio.client import connect as ws_connect
from websockets.typing import Subprotocol

from app import metrics
from app.graphql.persisted import operations_in, register_documents
from app.graphql.schema import schema
from app.settings import Settings
from tests.fakes import app_client, live_server
from tests.test_cli import run_cli

GRAPHQL_RESPONSE = "application/graphql-response+json"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def unique_query() -> str:
    """A document no earlier test registered (APQ keys are content-addressed)."""
    return f"query Q{secrets.token_hex(4)} {{ viewer {{ name }} }}"


def persisted(sha: str, version: int = 1) -> dict[str, Any]:
    return {"persistedQuery": {"version": version, "sha256Hash": sha}}


def get_params(sha: str, **more: Any) -> dict[str, str]:
    return {"extensions": json.dumps(persisted(sha)), **more}


def counted(outcome: str) -> float:
    """This process's count (the whole registry would read /proc: a blocking call)."""
    return sum(
        sample.value
        for family in metrics.PERSISTED_QUERIES.collect()
        for sample in family.samples
        if sample.name.endswith("_total") and sample.labels == {"outcome": outcome}
    )


def codes(body: dict[str, Any]) -> list[str]:
    return [e.get("extensions", {}).get("code") for e in body.get("errors", [])]


# -- automatic persisted queries ---------------------------------------------------------------


async def test_apq_miss_register_hit(client: httpx.AsyncClient, make_person: Any) -> None:
    alice = await make_person("Alice")
    query = unique_query()
    sha = sha256(query)
    before = {o: counted(o) for o in ("hit", "miss", "registered")}

    miss = await client.get("/graphql", params=get_params(sha), headers=alice.headers)
    assert miss.status_code == 200, miss.text
    assert miss.json()["errors"] == [
        {"message": "PersistedQueryNotFound", "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"}}
    ]
    assert miss.headers["cache-control"] == "no-store"

    registered = await client.post(
        "/graphql", json={"query": query, "extensions": persisted(sha)}, headers=alice.headers
    )
    assert registered.json() == {"data": {"viewer": {"name": "Alice"}}}

    hit = await client.get("/graphql", params=get_params(sha), headers=alice.headers)
    assert hit.status_code == 200, hit.text
    assert hit.json() == {"data": {"viewer": {"name": "Alice"}}}
    # A viewer's answer: a browser may keep it, a shared cache never.
    assert hit.headers["cache-control"].startswith("private")
    assert "public" not in hit.headers["cache-control"]
    assert set(hit.headers["vary"].replace(" ", "").split(",")) >= {"Accept", "Authorization"}

    # The same hash over POST, with variables beside it.
    hit = await client.post("/graphql", json={"extensions": persisted(sha)}, headers=alice.headers)
    assert hit.json() == {"data": {"viewer": {"name": "Alice"}}}

    assert counted("miss") == before["miss"] + 1
    assert counted("registered") == before["registered"] + 1
    assert counted("hit") == before["hit"] + 2


async def test_apq_store_is_shared_by_replicas(settings: Settings, make_person: Any) -> None:
    """Two app instances (two API processes) share the store in Redis."""
    alice = await make_person("Alice")
    query = unique_query()
    sha = sha256(query)
    async with app_client(settings) as one, app_client(settings) as two:
        response = await one.post(
            "/graphql", json={"query": query, "extensions": persisted(sha)}, headers=alice.headers
        )
        assert response.json() == {"data": {"viewer": {"name": "Alice"}}}
        hit = await two.get("/graphql", params=get_params(sha), headers=alice.headers)
        assert hit.json() == {"data": {"viewer": {"name": "Alice"}}}


async def test_apq_variables_and_operation_name(
    client: httpx.AsyncClient, make_person: Any
) -> None:
    alice = await make_person()
    query = (
        f"query A{secrets.token_hex(3)} {{ __typename }} "
        "query Workspaces($n: Int) { workspaces(first: $n) { totalCount } }"
    )
    sha = sha256(query)
    body = {
        "query": query,
        "operationName": "Workspaces",
        "variables": {"n": 5},
        "extensions": persisted(sha),
    }
    first = await client.post("/graphql", json=body, headers=alice.headers)
    assert first.json() == {"data": {"workspaces": {"totalCount": 0}}}
    params = get_params(sha, operationName="Workspaces", variables=json.dumps({"n": 2}))
    hit = await client.get("/graphql", params=params, headers=alice.headers)
    assert hit.json() == {"data": {"workspaces": {"totalCount": 0}}}


async def test_apq_refuses_a_wrong_hash_or_version(
    client: httpx.AsyncClient, make_person: Any
) -> None:
    alice = await make_person()
    query = unique_query()
    wrong = await client.post(
        "/graphql",
        json={"query": query, "extensions": persisted(sha256(query + " "))},
        headers=alice.headers,
    )
    assert wrong.status_code == 400, wrong.text
    assert codes(wrong.json()) == ["PERSISTED_QUERY_HASH_MISMATCH"]
    # Nothing was stored under either hash.
    miss = await client.get("/graphql", params=get_params(sha256(query + " ")))
    assert codes(miss.json()) == ["PERSISTED_QUERY_NOT_FOUND"]

    for extensions in (
        persisted(sha256(query), version=2),
        persisted("not-a-hash"),
        {"persistedQuery": "abc"},
    ):
        response = await client.post(
            "/graphql", json={"query": query, "extensions": extensions}, headers=alice.headers
        )
        assert response.status_code == 400, response.text
        assert codes(response.json()) == ["PERSISTED_QUERY_INVALID"], response.text


async def test_apq_stores_only_valid_documents_from_authenticated_clients(
    client: httpx.AsyncClient, make_person: Any
) -> None:
    alice = await make_person()
    invalid = f"query I{secrets.token_hex(3)} {{ nope }}"
    response = await client.post(
        "/graphql",
        json={"query": invalid, "extensions": persisted(sha256(invalid))},
        headers=alice.headers,
    )
    assert response.json()["errors"][0]["message"].startswith("Cannot query field 'nope'")
    anonymous = f"query T{secrets.token_hex(3)} {{ __typename }}"
    response = await client.post(
        "/graphql", json={"query": anonymous, "extensions": persisted(sha256(anonymous))}
    )
    assert response.json() == {"data": {"__typename": "Query"}}

    for document in (invalid, anonymous):
        miss = await client.get("/graphql", params=get_params(sha256(document)))
        assert codes(miss.json()) == ["PERSISTED_QUERY_NOT_FOUND"], document


async def test_apq_can_be_switched_off(settings: Settings, make_person: Any) -> None:
    alice = await make_person("Alice")
    query = unique_query()
    async with app_client(settings, apq_enabled=False) as client:
        response = await client.get("/graphql", params=get_params(sha256(query)))
        assert response.status_code == 200
        assert codes(response.json()) == ["PERSISTED_QUERY_NOT_SUPPORTED"]
        # Apollo's link then sends the document without the hash; with it, it runs too.
        response = await client.post(
            "/graphql",
            json={"query": query, "extensions": persisted(sha256(query))},
            headers=alice.headers,
        )
        assert response.json() == {"data": {"viewer": {"name": "Alice"}}}


# -- GraphQL over HTTP details not covered by the audits ---------------------------------------


async def test_media_types_and_status_codes(client: httpx.AsyncClient, make_person: Any) -> None:
    alice = await make_person()
    accept = {"Accept": GRAPHQL_RESPONSE, **alice.headers}

    ok = await client.post("/graphql", json={"query": "{ viewer { id } }"}, headers=accept)
    assert ok.status_code == 200
    assert ok.headers["content-type"].startswith(GRAPHQL_RESPONSE)

    for query in ("{", "{ nope }"):
        bad = await client.post("/graphql", json={"query": query}, headers=accept)
        assert bad.status_code == 400, bad.text
        assert "data" not in bad.json()
        legacy = await client.post("/graphql", json={"query": query}, headers=alice.headers)
        assert legacy.status_code == 200
        assert legacy.headers["content-type"].startswith("application/json")
        assert legacy.json()["data"] is None

    # Without a token the 401 stays a 401 whatever the media type.
    response = await client.post(
        "/graphql", json={"query": "{ viewer { id } }"}, headers={"Accept": GRAPHQL_RESPONSE}
    )
    assert response.status_code == 401
    assert codes(response.json()) == ["UNAUTHENTICATED"]

    refused = await client.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"Accept": "text/plain"}
    )
    assert refused.status_code == 406

    weighted = await client.post(
        "/graphql",
        json={"query": "{ __typename }"},
        headers={"Accept": f"application/json;q=0.5, {GRAPHQL_RESPONSE};q=0.9"},
    )
    assert weighted.headers["content-type"].startswith(GRAPHQL_RESPONSE)


async def test_mutation_over_get_is_405_with_allow_post(
    client: httpx.AsyncClient, make_person: Any
) -> None:
    alice = await make_person()
    response = await client.get(
        "/graphql",
        params={
            "query": 'mutation { createWorkspace(input: {slug: "g", name: "G"}) { __typename } }'
        },
        headers=alice.headers,
    )
    assert response.status_code == 405, response.text
    assert response.headers["allow"] == "POST"
    assert codes(response.json()) == ["METHOD_NOT_ALLOWED"]


async def test_get_caching_by_viewer(client: httpx.AsyncClient, make_person: Any) -> None:
    alice = await make_person()
    public = await client.get("/graphql", params={"query": "{ __typename }"})
    assert public.headers["cache-control"].startswith("public, max-age=")
    private = await client.get(
        "/graphql", params={"query": "{ __typename }"}, headers=alice.headers
    )
    assert private.headers["cache-control"].startswith("private")
    refused = await client.get("/graphql", params={"query": "{ viewer { id } }"})
    assert refused.status_code == 401
    assert refused.headers["cache-control"] == "no-store"
    posted = await client.post("/graphql", json={"query": "{ __typename }"})
    assert "cache-control" not in posted.headers


# -- trusted documents -------------------------------------------------------------------------


def write_documents(folder: Path, tag: str) -> None:
    (folder / "nested").mkdir(parents=True)
    (folder / "viewer.graphql").write_text(
        f"query Viewer{tag} {{ viewer {{ ...Me{tag} }} }}\n"
        f"query Workspaces{tag}($n: Int) {{ workspaces(first: $n) {{ totalCount }} }}\n"
    )
    (folder / "nested" / "fragments.graphql").write_text(
        f"fragment Me{tag} on User {{ name }}\n"
        f"mutation Create{tag}($input: CreateWorkspaceInput!) {{\n"
        "  createWorkspace(input: $input) { workspace { slug } userErrors { code } }\n}\n"
    )


async def test_documents_register_command(
    settings: Settings, tmp_path: Path, make_person: Any
) -> None:
    tag = secrets.token_hex(3)
    await asyncio.to_thread(write_documents, tmp_path, tag)
    code, out, err = await run_cli(settings, "documents", "register", str(tmp_path))
    assert code == 0, err
    lines = [line.split("  ") for line in out.strip().splitlines()]
    names = {name: (sha, source) for sha, name, source in lines}
    assert set(names) == {f"Viewer{tag}", f"Workspaces{tag}", f"Create{tag}"}
    assert names[f"Create{tag}"][1] == "nested/fragments.graphql"
    assert "3 new" in err
    code, _, err = await run_cli(settings, "documents", "register", str(tmp_path))
    assert code == 0, err
    assert "0 new, 3 already registered" in err

    # A registered hash runs without ever being sent in full, in the default mode too.
    alice = await make_person("Alice")
    async with app_client(settings) as client:
        sha = names[f"Viewer{tag}"][0]
        response = await client.get("/graphql", params=get_params(sha), headers=alice.headers)
        assert response.json() == {"data": {"viewer": {"name": "Alice"}}}

    await asyncio.to_thread((tmp_path / "broken.graphql").write_text, "query { nope }")
    code, _, err = await run_cli(settings, "documents", "register", str(tmp_path))
    assert code == 1
    assert "broken.graphql" in err
    assert "Cannot query field 'nope'" in err


async def test_trusted_documents_only(
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    tmp_path: Path,
    make_person: Any,
) -> None:
    tag = secrets.token_hex(3)
    await asyncio.to_thread(write_documents, tmp_path, tag)
    found = await asyncio.to_thread(operations_in, tmp_path, schema._schema)
    operations = {op.name: op for op in found}
    async with session_factory() as session:
        assert await register_documents(session, list(operations.values())) == 3
        await session.commit()
    viewer = operations[f"Viewer{tag}"]
    create = operations[f"Create{tag}"]
    alice = await make_person("Alice")
    before = counted("refused")

    async with app_client(settings, trusted_documents_only=True) as client:
        # By hash (GET and POST), and in full (the same text, so the same hash).
        response = await client.get(
            "/graphql", params=get_params(viewer.sha256), headers=alice.headers
        )
        assert response.json() == {"data": {"viewer": {"name": "Alice"}}}
        response = await client.post(
            "/graphql",
            json={
                "extensions": persisted(create.sha256),
                "variables": {"input": {"slug": f"t-{tag}", "name": "Trusted"}},
            },
            headers=alice.headers,
        )
        assert response.json()["data"]["createWorkspace"] == {
            "workspace": {"slug": f"t-{tag}"},
            "userErrors": [],
        }
        response = await client.post(
            "/graphql", json={"query": viewer.document}, headers=alice.headers
        )
        assert response.json() == {"data": {"viewer": {"name": "Alice"}}}

        # Anything else is refused, even with the right hash beside it, and is not registered.
        other = unique_query()
        for body in (
            {"query": other},
            {"query": "{ __typename }"},
            {"extensions": persisted(sha256(other))},
            {"query": other, "extensions": persisted(sha256(other))},
        ):
            response = await client.post("/graphql", json=body, headers=alice.headers)
            assert response.status_code == 400, (body, response.text)
            assert codes(response.json()) == ["DOCUMENT_NOT_TRUSTED"], body
            assert response.json()["errors"][0]["message"].startswith("This server runs only")
        response = await client.get("/graphql", params=get_params(sha256(other)))
        assert codes(response.json()) == ["DOCUMENT_NOT_TRUSTED"]
        assert counted("refused") == before + 5

        # A mutation stays POST-only even when it is trusted.
        response = await client.get(
            "/graphql", params=get_params(create.sha256), headers=alice.headers
        )
        assert response.status_code == 405


@pytest.mark.parametrize(
    ("files", "error"),
    [
        ({"a.graphql": "query { viewer { ...Missing } }"}, "fragment Missing is not defined"),
        (
            {"a.graphql": "fragment F on User { id }", "b.graphql": "fragment F on User { id }"},
            "fragment F is defined twice",
        ),
        ({"a.graphql": "query {"}, "a.graphql: Syntax Error"),
        ({}, "no .graphql files"),
    ],
    ids=["missing-fragment", "duplicate-fragment", "syntax", "empty"],
)
def test_documents_register_refuses_a_bad_folder(
    tmp_path: Path, files: dict[str, str], error: str
) -> None:
    from app.graphql.persisted import DocumentError

    for name, text in files.items():
        (tmp_path / name).write_text(text)
    with pytest.raises(DocumentError, match=error):
        operations_in(tmp_path, schema._schema)


async def test_trusted_documents_only_over_websocket(
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    tmp_path: Path,
    make_person: Any,
) -> None:
    """Subscriptions obey the same rule: a registered document (here by hash) runs, another
    is refused on the socket with DOCUMENT_NOT_TRUSTED."""
    tag = secrets.token_hex(3)
    await asyncio.to_thread(
        (tmp_path / "jobs.graphql").write_text,
        f"subscription Updates{tag}($id: ID!) {{ jobUpdates(id: $id) {{ status }} }}",
    )
    [operation] = await asyncio.to_thread(operations_in, tmp_path, schema._schema)
    async with session_factory() as session:
        await register_documents(session, [operation])
        await session.commit()
    alice = await make_person()
    missing_job = "Sm9iOjk5OTk5OTk5"  # Job:99999999
    async with (
        live_server(settings.model_copy(update={"trusted_documents_only": True})) as base,
        ws_connect(
            base.replace("http://", "ws://") + "/graphql",
            subprotocols=[Subprotocol("graphql-transport-ws")],
        ) as ws,
    ):

        async def receive() -> dict[str, Any]:
            async with asyncio.timeout(10):
                message: dict[str, Any] = json.loads(await ws.recv())
            return message

        init = {"Authorization": f"Bearer {alice.token}"}
        await ws.send(json.dumps({"type": "connection_init", "payload": init}))
        assert await receive() == {"type": "connection_ack"}
        untrusted = "subscription($id: ID!) { jobUpdates(id: $id) { status progress } }"
        for op, payload in (
            ("1", {"query": untrusted, "variables": {"id": missing_job}}),
            ("2", {"extensions": persisted(operation.sha256), "variables": {"id": missing_job}}),
        ):
            await ws.send(json.dumps({"id": op, "type": "subscribe", "payload": payload}))
        answers = {m["id"]: m for m in [await receive(), await receive()]}
    assert answers["1"]["type"] == "error"
    assert codes({"errors": answers["1"]["payload"]}) == ["DOCUMENT_NOT_TRUSTED"]
    # The trusted document ran: the job does not exist.
    assert answers["2"]["type"] == "error"
    assert codes({"errors": answers["2"]["payload"]}) == ["NOT_FOUND"]
