"""Per-token rate limits (issue #4, part 3): a points budget per clock hour in Redis.

A request costs ``1 + nodes // 100`` points. Responses carry X-RateLimit-Limit/-Remaining/
-Reset, ``Query.rateLimit`` agrees with them, a spent budget gets HTTP 429 with
RATE_LIMITED, and every token has its own budget.

Counters are keyed by (a prefix of) the token's hash, so the fresh tokens of each test never
share a counter with another test, run or session on the same Redis.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.main import create_app
from app.policy.rate_limit import WINDOW_SECONDS, RateLimiter
from app.settings import Settings
from app.state import AppState
from services import auth

RATE_LIMIT = "rateLimit { limit remaining resetAt cost }"
CHEAP = f"{{ viewer {{ id }} {RATE_LIMIT} }}"  # 0 nodes: 1 point
TWO_POINTS = f"{{ workspaces(first: 100) {{ edges {{ node {{ id }} }} }} {RATE_LIMIT} }}"  # 100
THREE_POINTS = (  # 200 nodes: 1 + 200 // 100
    "{ a: workspaces(first: 100) { edges { node { id } } } "
    "b: workspaces(first: 100) { edges { node { id } } } }"
)


@asynccontextmanager
async def serving(
    settings: Settings, **update: Any
) -> AsyncIterator[tuple[AppState, httpx.AsyncClient]]:
    """A separate app with ``update`` applied to the session's settings."""
    app: FastAPI = create_app(settings.model_copy(update=update))
    async with app.router.lifespan_context(app):
        state: AppState = app.state.issuegraph
        if state.rate_limiter is not None:
            assert state.rate_limiter.limit == update.get("rate_limit_points_per_hour", 5_000)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield state, client


@pytest.fixture
async def limited(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with serving(settings, rate_limit_points_per_hour=5) as (_, client):
        yield client


async def post(
    client: httpx.AsyncClient, query: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    return await client.post("/graphql", json={"query": query}, headers=headers or {})


def next_hour_boundaries() -> set[int]:
    """The next clock hour, or the one just passed if the request straddled it."""
    hour = int(time.time()) // WINDOW_SECONDS
    return {hour * WINDOW_SECONDS, (hour + 1) * WINDOW_SECONDS}


def check_headers(response: httpx.Response, remaining: int, limit: int = 5) -> int:
    assert response.headers["X-RateLimit-Limit"] == str(limit), response.headers
    assert response.headers["X-RateLimit-Remaining"] == str(remaining), response.headers
    reset = int(response.headers["X-RateLimit-Reset"])
    assert reset % WINDOW_SECONDS == 0
    assert reset in next_hour_boundaries()
    return reset


def check_field(body: dict[str, Any], remaining: int, cost: int, reset: int) -> None:
    state = body["data"]["rateLimit"]
    assert state["limit"] == 5
    assert state["remaining"] == remaining
    assert state["cost"] == cost
    assert int(datetime.fromisoformat(state["resetAt"]).timestamp()) == reset


def check_rate_limited(response: httpx.Response, cost: int, remaining: int) -> None:
    assert response.status_code == 429, response.text
    body = response.json()
    assert body.get("data") is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == "RATE_LIMITED"
    assert error["extensions"]["cost"] == cost
    assert error["extensions"]["remaining"] == remaining
    check_headers(response, remaining)
    retry_after = int(response.headers["Retry-After"])
    assert 1 <= retry_after <= WINDOW_SECONDS


async def test_the_budget_counts_down_and_runs_out(
    limited: httpx.AsyncClient, make_person: Any
) -> None:
    alice = await make_person()

    first = await post(limited, CHEAP, alice.headers)
    assert first.status_code == 200, first.text
    reset = check_headers(first, remaining=4)
    check_field(first.json(), remaining=4, cost=1, reset=reset)

    second = await post(limited, TWO_POINTS, alice.headers)
    assert second.status_code == 200, second.text
    check_headers(second, remaining=2)
    check_field(second.json(), remaining=2, cost=2, reset=reset)

    # Three points with two left: refused, and not charged.
    check_rate_limited(await post(limited, THREE_POINTS, alice.headers), cost=3, remaining=2)

    third = await post(limited, TWO_POINTS, alice.headers)
    assert third.status_code == 200, third.text
    check_field(third.json(), remaining=0, cost=2, reset=reset)
    check_headers(third, remaining=0)

    check_rate_limited(await post(limited, CHEAP, alice.headers), cost=1, remaining=0)
    # Mutations spend the same budget.
    mutation = (
        'mutation { createWorkspace(input: {slug: "late", name: "Late"}) { workspace { id } } }'
    )
    check_rate_limited(await post(limited, mutation, alice.headers), cost=1, remaining=0)


async def test_budgets_are_per_token(
    limited: httpx.AsyncClient,
    make_person: Any,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    alice, bob = await make_person(), await make_person()
    for _ in range(5):
        assert (await post(limited, CHEAP, alice.headers)).status_code == 200
    check_rate_limited(await post(limited, CHEAP, alice.headers), cost=1, remaining=0)

    # Another user's token is unaffected...
    response = await post(limited, CHEAP, bob.headers)
    assert response.status_code == 200
    check_headers(response, remaining=4)
    # ...and so is another token of the same user.
    async with session_factory() as session:
        second_token = await auth.create_token(session, email=alice.email, label="second")
        await session.commit()
    response = await post(limited, CHEAP, {"Authorization": f"Bearer {second_token}"})
    assert response.status_code == 200, response.text
    reset = check_headers(response, remaining=4)
    check_field(response.json(), remaining=4, cost=1, reset=reset)


async def test_a_mutation_is_charged_and_counted(
    limited: httpx.AsyncClient, make_person: Any
) -> None:
    alice = await make_person()
    response = await post(
        limited,
        'mutation { createWorkspace(input: {slug: "rl", name: "Rl"}) { workspace { id } } }',
        alice.headers,
    )
    assert response.status_code == 200, response.text
    assert "errors" not in response.json()
    check_headers(response, remaining=4)


async def test_batched_operations_are_each_charged(
    limited: httpx.AsyncClient, make_person: Any
) -> None:
    alice = await make_person()
    response = await limited.post(
        "/graphql",
        json=[{"query": CHEAP}, {"query": CHEAP}, {"query": CHEAP}],
        headers=alice.headers,
    )
    assert response.status_code == 200, response.text
    check_headers(response, remaining=2)
    response = await post(limited, CHEAP, alice.headers)
    check_headers(response, remaining=1)


async def test_requests_without_a_token_carry_no_rate_limit_headers(
    limited: httpx.AsyncClient,
) -> None:
    for response in (
        await post(limited, CHEAP),
        await post(limited, CHEAP, {"Authorization": "Bearer igt_nope"}),
        await post(limited, "{ __typename }"),
    ):
        assert "X-RateLimit-Limit" not in response.headers
        assert "X-RateLimit-Remaining" not in response.headers


@pytest.mark.parametrize(
    "query",
    [
        "{ viewer { nope } }",  # a validation error
        "{ viewer { id }",  # a syntax error
        # too costly: refused before execution
        "{ workspaces(first: 100) { edges { node { projects(first: 100) { edges { node "
        "{ issues(first: 100) { totalCount } } } } } } } }",
    ],
    ids=["invalid", "syntax", "too-costly"],
)
async def test_refused_authenticated_requests_still_carry_the_headers(
    limited: httpx.AsyncClient, make_person: Any, query: str
) -> None:
    """The issue: the headers are on *every* authenticated response, refusals included."""
    alice = await make_person()
    assert (await post(limited, CHEAP, alice.headers)).status_code == 200
    response = await post(limited, query, alice.headers)
    assert "errors" in response.json()
    assert response.headers.get("X-RateLimit-Limit") == "5", dict(response.headers)
    assert int(response.headers["X-RateLimit-Remaining"]) <= 4


async def test_rate_limiting_switched_off(settings: Settings, make_person: Any) -> None:
    alice = await make_person()
    async with serving(settings, rate_limit_enabled=False, rate_limit_points_per_hour=1) as (
        state,
        client,
    ):
        assert state.rate_limiter is None
        for _ in range(3):
            response = await post(client, TWO_POINTS, alice.headers)
            assert response.status_code == 200, response.text
            assert response.json()["data"]["rateLimit"] is None
            assert not any(h.lower().startswith("x-ratelimit") for h in response.headers)


async def test_a_redis_outage_fails_open(settings: Settings, make_person: Any) -> None:
    """The limiter being down must not take the API down: the request runs, unlimited."""
    alice = await make_person()
    dead = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
    try:
        async with serving(settings, rate_limit_points_per_hour=5) as (state, client):
            state.rate_limiter = RateLimiter(dead, 5)
            for _ in range(7):
                response = await post(client, CHEAP, alice.headers)
                assert response.status_code == 200, response.text
                assert response.json()["data"]["rateLimit"]["remaining"] == 5
    finally:
        await dead.aclose()
