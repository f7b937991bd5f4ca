"""The token commands work against configured URLs, as an operator runs them."""

from __future__ import annotations

from typing import Any

import httpx

from app.cli import _dev_app, _graphiql_hint
from app.settings import Settings
from tests.support.processes import run_cli


async def test_create_user_token_use_and_revoke(settings: Settings, gql: Any) -> None:
    code, out, err = await run_cli(
        settings, "create-user", "--email", "ops@example.com", "--name", "Ops"
    )
    assert code == 0, err
    user_id = out.strip().splitlines()[-1]

    code, out, err = await run_cli(settings, "create-token", "--email", "ops@example.com")
    assert code == 0, err
    token = out.strip().splitlines()[-1]

    response = await gql.http.post(
        "/graphql",
        json={"query": "{ viewer { id name } }"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.json()["data"]["viewer"] == {"id": user_id, "name": "Ops"}

    code, _, err = await run_cli(settings, "revoke-token", token)
    assert code == 0, err
    response = await gql.http.post(
        "/graphql",
        json={"query": "{ viewer { id } }"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 401


async def test_duplicate_user_and_unknown_email_fail_cleanly(settings: Settings) -> None:
    assert (await run_cli(settings, "create-user", "--email", "a@example.com", "--name", "A"))[
        0
    ] == 0
    code, _, err = await run_cli(settings, "create-user", "--email", "A@example.com", "--name", "A")
    assert code == 1
    assert "already exists" in err
    assert "Traceback" not in err
    code, _, err = await run_cli(settings, "create-token", "--email", "nobody@example.com")
    assert code == 1
    assert "No user" in err
    assert "Traceback" not in err


async def test_dev_opens_graphiql_with_its_token_on_loopback_only(settings: Settings) -> None:
    """`issuegraph dev` serves the app `_dev_app` builds: its page carries the demo token when
    it listens on loopback, and not otherwise (it says so when it starts)."""
    token = "igt_printed-by-dev"
    hosts = {"127.0.0.1": True, "localhost": True, "0.0.0.0": False}  # noqa: S104 (not bound)
    for host, prefilled in hosts.items():
        app = _dev_app(settings.model_copy(update={"host": host}), token)
        transport = httpx.ASGITransport(app=app)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as client,
        ):
            page = await client.get("/graphql", headers={"Accept": "text/html"})
        assert (f"Bearer {token}" in page.text) is prefilled, host
        hint = _graphiql_hint(host)
        assert ("opens with this token" in hint) is prefilled, hint
