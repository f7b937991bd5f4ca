"""Error hygiene: expected errors are readable and coded; unexpected ones are masked."""

from __future__ import annotations

from typing import Any

import pytest
import structlog

from services.workspaces import WorkspaceReads


async def test_unexpected_error_is_masked_with_request_id(
    client: Any, make_person: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = await make_person()

    async def explode(self: WorkspaceReads, slug: str) -> None:
        raise RuntimeError("connection to 10.0.0.5 failed: SELECT secret FROM internal")

    monkeypatch.setattr(WorkspaceReads, "get_by_slug", explode)
    with structlog.testing.capture_logs() as logs:
        response = await client.post(
            "/graphql",
            json={"query": '{ workspace(slug: "x") { id } }'},
            headers={**alice.headers, "X-Request-ID": "req-123"},
        )
    assert response.status_code == 200
    body = response.json()
    assert response.headers["x-request-id"] == "req-123"
    [error] = body["errors"]
    assert error["message"] == "Unexpected error."
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "requestId": "req-123"}
    assert "SELECT" not in response.text
    assert "Traceback" not in response.text
    [logged] = [e for e in logs if e["event"] == "graphql.unexpected_error"]
    assert isinstance(logged["exc_info"], RuntimeError)
    assert logged["path"] == ["workspace"]


async def test_parse_and_validation_errors_come_before_auth(gql: Any) -> None:
    body = await gql("{ viewer { ", expect_status=200)
    assert "Syntax Error" in body["errors"][0]["message"]
    body = await gql("{ viewer { nope } }", expect_status=200)
    assert "Cannot query field 'nope'" in body["errors"][0]["message"]


@pytest.mark.parametrize("header", ["Bearer nope", "Basic abc", "Bearer", ""])
async def test_bad_or_missing_token_is_401(client: Any, header: str) -> None:
    response = await client.post(
        "/graphql",
        json={"query": "{ viewer { id } }"},
        headers={"Authorization": header} if header else {},
    )
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_introspection_needs_no_token(gql: Any) -> None:
    body = await gql("query { __schema { queryType { name } } ... on Query { __typename } }")
    assert body["data"]["__schema"]["queryType"]["name"] == "Query"


async def test_revoked_token_stops_working_on_next_request(
    gql: Any, make_person: Any, session_factory: Any
) -> None:
    from services import auth

    alice = await make_person()
    assert (await gql("{ viewer { name } }", as_=alice))["data"]["viewer"]["name"] == alice.name
    async with session_factory() as session:
        assert await auth.revoke_token(session, alice.token)
        await session.commit()
    await gql("{ viewer { name } }", as_=alice, expect_status=401)


@pytest.mark.parametrize("first", [101, -1])
async def test_page_size_out_of_range_is_a_clear_error(
    gql: Any, make_person: Any, first: int
) -> None:
    alice = await make_person()
    body = await gql(
        "query($n: Int) { workspaces(first: $n) { totalCount } }", {"n": first}, as_=alice
    )
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "between 0 and 100" in error["message"]
