"""The embedded servers behind ``issuegraph dev``: start, answer on the URL forms the app uses,
keep data across a restart, and stop cleanly (docs/operations.md)."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from arq.connections import RedisSettings, create_pool
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from app.devtools.embedded import (
    EmbeddedServerError,
    ServerUrls,
    _SocketDirs,
    clear_recorded_urls,
    read_recorded_urls,
    record_urls,
    start_embedded,
)
from app.settings import to_async_database_url


async def _execute(database_url: str, sql: str) -> object:
    """Run one statement on a fresh engine; the scalar result, if it returns rows."""
    engine = create_async_engine(to_async_database_url(database_url))
    try:
        async with engine.begin() as conn:
            result = await conn.execute(text(sql))
            return result.scalar_one() if result.returns_rows else None
    finally:
        await engine.dispose()


def _redis(url: str) -> aioredis.Redis:
    return aioredis.Redis.from_url(url)  # type: ignore[no-any-return]


# The servers are started and stopped in a worker thread: both are blocking calls, and the test
# runs inside the event loop.
async def test_embedded_servers_answer_restart_and_stop(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    servers = await asyncio.to_thread(start_embedded, data_dir)
    try:
        urls = servers.urls
        assert urls.database_url.startswith("postgresql://postgres@/postgres?host=/")
        assert urls.redis_url.startswith("unix:///")

        assert await _execute(urls.database_url, "SELECT 1") == 1
        await _execute(urls.database_url, "CREATE TABLE kept (id int)")

        client = _redis(urls.redis_url)
        try:
            assert await client.ping()
            await client.set("kept", "yes")
        finally:
            await client.aclose()

        pool = await create_pool(RedisSettings.from_dsn(urls.redis_url))
        try:
            assert await pool.ping()
        finally:
            await pool.aclose()

        await asyncio.to_thread(record_urls, data_dir, urls)
        assert await asyncio.to_thread(read_recorded_urls, data_dir) == urls

        # A second owner would stop the first one's servers.
        with pytest.raises(EmbeddedServerError, match="already runs"):
            await asyncio.to_thread(start_embedded, data_dir)
    finally:
        await asyncio.to_thread(servers.stop)

    assert not servers.running
    # The record outlives the servers, but nobody answers on it any more.
    assert await asyncio.to_thread(read_recorded_urls, data_dir) is None
    await asyncio.to_thread(servers.stop)  # idempotent

    # Data survives a clean stop and restart.
    again = await asyncio.to_thread(start_embedded, data_dir)
    try:
        assert await _execute(again.urls.database_url, "SELECT count(*) FROM kept") == 0
        client = _redis(again.urls.redis_url)
        try:
            assert await client.get("kept") == b"yes"
        finally:
            await client.aclose()
    finally:
        await asyncio.to_thread(again.stop)


def test_read_recorded_urls_without_live_servers(tmp_path: Path) -> None:
    assert read_recorded_urls(tmp_path) is None

    gone = ServerUrls(
        database_url=f"postgresql://postgres@/postgres?host={tmp_path}",
        redis_url=f"unix://{tmp_path}/redis.sock",
    )
    record_urls(tmp_path, gone)
    assert json.loads((tmp_path / "servers.json").read_text())["redis_url"] == gone.redis_url
    assert read_recorded_urls(tmp_path) is None

    (tmp_path / "servers.json").write_text("{not json")
    assert read_recorded_urls(tmp_path) is None

    clear_recorded_urls(tmp_path)
    clear_recorded_urls(tmp_path)
    assert not (tmp_path / "servers.json").exists()


@pytest.mark.parametrize("name", ["d" * 120, "with space"])
def test_sockets_move_to_a_short_private_dir(tmp_path: Path, name: str) -> None:
    data_dir = tmp_path / name / "data"
    redis_socket = _SocketDirs(data_dir).for_redis()
    try:
        assert redis_socket.parent != data_dir
        assert str(redis_socket).startswith("/tmp/issuegraph-")  # noqa: S108
        assert len(str(redis_socket)) < 100
        assert redis_socket.parent.stat().st_mode & 0o022 == 0
    finally:
        shutil.rmtree(redis_socket.parent, ignore_errors=True)


def test_short_data_dir_keeps_its_sockets(tmp_path: Path) -> None:
    data_dir = Path("/tmp") / tmp_path.name  # noqa: S108 - only a path, never created
    assert _SocketDirs(data_dir).for_redis() == data_dir / "redis.sock"
