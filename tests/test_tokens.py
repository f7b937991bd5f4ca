"""API tokens (issue #4, part 6): revocation, optional expiry, and ``last_used_at`` written at
most once a minute. Only a SHA-256 hash of a token is stored."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import ApiToken
from services import auth

VIEWER = "{ viewer { name } }"

Sessions = async_sessionmaker[AsyncSession]


async def status_of(client: httpx.AsyncClient, token: str) -> int:
    response = await client.post(
        "/graphql", json={"query": VIEWER}, headers={"Authorization": f"Bearer {token}"}
    )
    if response.status_code == 401:
        assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        assert response.headers["www-authenticate"].lower().startswith("bearer")
    else:
        assert response.json()["data"]["viewer"]["name"], response.text
    return response.status_code


async def row_of(session_factory: Sessions, token: str) -> ApiToken:
    async with session_factory() as session:
        row = await session.scalar(
            select(ApiToken).where(ApiToken.token_hash == auth.hash_token(token))
        )
    assert row is not None
    return row


async def new_token(session_factory: Sessions, email: str, **kwargs: Any) -> str:
    async with session_factory() as session:
        token = await auth.create_token(session, email=email, **kwargs)
        await session.commit()
    return token


async def db_now(session_factory: Sessions) -> datetime:
    async with session_factory() as session:
        now: datetime = await session.scalar(text("SELECT now()"))
    return now


async def test_only_a_hash_of_the_token_is_stored(
    make_person: Any, session_factory: Sessions
) -> None:
    alice = await make_person()
    assert alice.token.startswith("igt_")
    row = await row_of(session_factory, alice.token)
    assert row.token_hash == hashlib.sha256(alice.token.encode()).hexdigest()
    async with session_factory() as session:
        dump = (await session.execute(text("SELECT api_tokens::text FROM api_tokens"))).scalars()
        assert not any(alice.token in line for line in dump)


async def test_a_revoked_token_is_refused(
    client: httpx.AsyncClient, make_person: Any, session_factory: Sessions
) -> None:
    alice = await make_person()
    other = await new_token(session_factory, alice.email, label="laptop")
    assert await status_of(client, alice.token) == 200
    async with session_factory() as session:
        assert await auth.revoke_token(session, alice.token)
        await session.commit()
    assert await status_of(client, alice.token) == 401
    # Revoking twice reports nothing to revoke; the user's other token still works.
    async with session_factory() as session:
        assert not await auth.revoke_token(session, alice.token)
    assert await status_of(client, other) == 200
    assert (await row_of(session_factory, alice.token)).revoked_at is not None


async def test_expiry_is_optional_and_an_expired_token_is_refused(
    client: httpx.AsyncClient, make_person: Any, session_factory: Sessions
) -> None:
    alice = await make_person()
    assert (await row_of(session_factory, alice.token)).expires_at is None

    token = await new_token(session_factory, alice.email, expires_in_days=7)
    expires_at = (await row_of(session_factory, token)).expires_at
    assert expires_at is not None
    assert abs(expires_at - (datetime.now(UTC) + timedelta(days=7))) < timedelta(minutes=1)
    assert await status_of(client, token) == 200

    # A minute past its expiry.
    async with session_factory() as session:
        await session.execute(
            update(ApiToken)
            .where(ApiToken.token_hash == auth.hash_token(token))
            .values(expires_at=text("now() - interval '1 minute'"))
        )
        await session.commit()
    assert await status_of(client, token) == 401
    assert await status_of(client, alice.token) == 200


async def test_last_used_at_is_written_at_most_once_a_minute(
    client: httpx.AsyncClient, make_person: Any, session_factory: Sessions
) -> None:
    alice = await make_person()
    assert (await row_of(session_factory, alice.token)).last_used_at is None

    before = await db_now(session_factory)
    assert await status_of(client, alice.token) == 200
    first = (await row_of(session_factory, alice.token)).last_used_at
    assert first is not None
    assert before <= first <= await db_now(session_factory)

    # Within the minute: not rewritten, to the microsecond.
    for _ in range(3):
        assert await status_of(client, alice.token) == 200
    assert (await row_of(session_factory, alice.token)).last_used_at == first

    # Older than a minute: the next request refreshes it.
    async with session_factory() as session:
        await session.execute(
            update(ApiToken)
            .where(ApiToken.token_hash == auth.hash_token(alice.token))
            .values(last_used_at=text("now() - interval '61 seconds'"))
        )
        await session.commit()
    stale = (await row_of(session_factory, alice.token)).last_used_at
    assert stale is not None
    before = await db_now(session_factory)
    assert await status_of(client, alice.token) == 200
    refreshed = (await row_of(session_factory, alice.token)).last_used_at
    assert refreshed is not None
    assert refreshed >= before > stale


async def test_last_used_at_is_not_touched_for_a_refused_token(
    client: httpx.AsyncClient, make_person: Any, session_factory: Sessions
) -> None:
    alice = await make_person()
    async with session_factory() as session:
        assert await auth.revoke_token(session, alice.token)
        await session.commit()
    assert await status_of(client, alice.token) == 401
    assert (await row_of(session_factory, alice.token)).last_used_at is None
