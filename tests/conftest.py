"""Shared fixtures: a migrated throw-away database, the app over ASGI, users and tokens.

Tests run against real PostgreSQL and Redis: the URLs in ISSUEGRAPH_TEST_DATABASE_URL /
ISSUEGRAPH_TEST_REDIS_URL when set (CI), else embedded servers started for the session.
Each test session migrates a fresh database (the migrations, not ``create_all``); each test
starts from empty tables (truncation, since the app commits through its own connections).
"""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
from blockbuster import BlockBuster, blockbuster_ctx
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.compiled import differential
from app.main import create_app
from app.settings import Settings, to_async_database_url
from db.engine import create_engine, create_session_factory
from db.migrate import upgrade_to_head
from db.models import Base
from services import auth


@dataclass(frozen=True)
class TestServers:
    database_url: str  # plain postgresql:// URL of a database we may create databases from
    redis_url: str


@pytest.fixture(scope="session")
def servers() -> Iterator[TestServers]:
    database_url = os.environ.get("ISSUEGRAPH_TEST_DATABASE_URL")
    redis_url = os.environ.get("ISSUEGRAPH_TEST_REDIS_URL")
    if database_url and redis_url:
        yield TestServers(database_url, redis_url)
        return
    from app.devtools.embedded import start_embedded

    with (
        tempfile.TemporaryDirectory(prefix="issuegraph-test-") as data_dir,
        start_embedded(Path(data_dir)) as embedded,
    ):
        yield TestServers(
            database_url or embedded.urls.database_url, redis_url or embedded.urls.redis_url
        )


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


@pytest.fixture(scope="session")
async def database_url(servers: TestServers) -> AsyncIterator[str]:
    """A fresh database for this test session, migrated to head, dropped afterwards."""
    name = f"issuegraph_test_{secrets.token_hex(4)}"
    admin = create_engine(to_async_database_url(servers.database_url))
    async with admin.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = to_async_database_url(_with_database(servers.database_url, name))
    engine = create_engine(url)
    await upgrade_to_head(engine)
    await engine.dispose()
    yield url
    async with admin.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await admin.dispose()


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_session_factory(engine)


@pytest.fixture(scope="session")
def settings(database_url: str, servers: TestServers) -> Settings:
    """The app's and the workers' settings: a queue of this session's own, fast timings."""
    return Settings(
        database_url=database_url,
        redis_url=servers.redis_url,
        log_format="json",
        queue_name=f"issuegraph-test:{secrets.token_hex(4)}",
        job_sweep_interval_seconds=1,
        job_heartbeat_seconds=0.2,
        job_stale_after_seconds=2.0,
        job_retry_backoff_seconds=0.1,
        worker_poll_delay_seconds=0.05,
        # Every operation of every test runs on the compiled plans and on graphql-core, and
        # the answers must match (`_no_executor_differences`, docs/performance.md).
        execution_engine="differential",
        # Every app of the session would freeze the test process's objects (and the garbage
        # of earlier tests) out of collection for good.
        gc_freeze=False,
    )


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture(scope="session")
def app_engine(app: FastAPI) -> AsyncEngine:
    """The engine the app itself uses, for counting its SQL statements."""
    engine: AsyncEngine = app.state.issuegraph.engine
    return engine


@pytest.fixture(autouse=True)
async def _clean_tables(engine: AsyncEngine) -> AsyncIterator[None]:
    yield
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    async with engine.begin() as conn:
        # Ids keep growing across tests, as in production: ids (and the arq task ids made
        # from them) are never reused.
        await conn.execute(text(f"TRUNCATE {tables} CASCADE"))


@pytest.fixture(autouse=True)
def _no_executor_differences() -> Iterator[None]:
    """Fail a test whose operations answered differently on the two executors."""
    differential.RECORD.reset()
    yield
    differences = list(differential.RECORD.differences)
    differential.RECORD.reset()
    assert not differences, f"compiled and graphql-core executors differ: {differences}"


@pytest.fixture(autouse=True)
def _blockbuster() -> Iterator[BlockBuster]:
    """Fail any test whose code makes a blocking call on the event loop.

    docs/architecture.md, rule 6.
    """
    with blockbuster_ctx() as bb:
        # asyncpg reads ~/.pgpass (and SSL defaults) synchronously while opening a pool
        # connection: a one-off at connect time, not per query, so it is allowed there alone.
        for function in bb.functions.values():
            function.can_block_in("asyncpg/connect_utils.py", "_parse_connect_dsn_and_args")
        yield bb


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


@dataclass
class Person:
    email: str
    name: str
    token: str
    user_id: int

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
def make_person(
    session_factory: async_sessionmaker[AsyncSession],
) -> Any:
    counter = iter(range(1, 10_000))

    async def make(name: str | None = None) -> Person:
        n = next(counter)
        name = name or f"Person {n}"
        email = f"{name.lower().replace(' ', '.')}.{n}@example.com"
        async with session_factory() as session:
            user = await auth.create_user(session, email=email, name=name)
            token = await auth.create_token(session, email=email)
            await session.commit()
        return Person(email=email, name=name, token=token, user_id=user.id)

    return make


class GraphQLClient:
    """Posts GraphQL operations the way a client would; returns the decoded body."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def __call__(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        as_: Person | None = None,
        expect_status: int = 200,
    ) -> dict[str, Any]:
        response = await self.http.post(
            "/graphql",
            json={"query": query, "variables": variables or {}},
            headers=as_.headers if as_ else {},
        )
        assert response.status_code == expect_status, response.text
        body: dict[str, Any] = response.json()
        return body


@pytest.fixture
def gql(client: httpx.AsyncClient) -> GraphQLClient:
    return GraphQLClient(client)
