"""`issuegraph` commands as child processes, the way an operator runs them: `serve` and
`worker` kept running with their output kept for diagnosis, and one-off commands."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.settings import Settings
from tests.support.jobs import wait_until
from tests.support.servers import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
# An import that takes a worker a few seconds: long enough to stop it half-way.
BIG_IMPORT_ROWS = 20_000
CLI = [sys.executable, "-m", "app.cli"]


def cli_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment of an `issuegraph` child process: this session's database and queue."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("ISSUEGRAPH_") and k != "PROMETHEUS_MULTIPROC_DIR"
    }
    assert settings.database_url
    assert settings.redis_url
    env.update(
        ISSUEGRAPH_DATABASE_URL=settings.database_url,
        ISSUEGRAPH_REDIS_URL=settings.redis_url,
        ISSUEGRAPH_QUEUE_NAME=settings.queue_name,
        ISSUEGRAPH_LOG_FORMAT="json",
    )
    env.update(extra)
    return env


async def run_cli(
    settings: Settings, *args: str, env: dict[str, str] | None = None, within: float = 60
) -> tuple[int, str, str]:
    """One `issuegraph` command, run to its end: its exit code, stdout and stderr. ``env``:
    the whole environment (default: this process's, with this session's database and Redis)."""
    if env is None:
        env = {
            **os.environ,
            "ISSUEGRAPH_DATABASE_URL": settings.database_url or "",
            "ISSUEGRAPH_REDIS_URL": settings.redis_url or "",
        }
    process = await asyncio.create_subprocess_exec(
        *CLI,
        *args,
        env=env,
        cwd=REPO_ROOT,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(within):
        stdout, stderr = await process.communicate()
    return process.returncode or 0, stdout.decode(errors="replace"), stderr.decode(errors="replace")


class ChildProcess:
    """A long-running `issuegraph <command>` child process, its output (stdout and stderr)
    kept for diagnosis."""

    def __init__(self, env: dict[str, str], *args: str, keep_lines: int = 200) -> None:
        self.args = args
        self.env = env
        self.process: asyncio.subprocess.Process | None = None
        self.output: collections.deque[str] = collections.deque(maxlen=keep_lines)
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            *CLI,
            *self.args,
            cwd=REPO_ROOT,
            env=self.env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        self._reader = asyncio.create_task(self._drain())

    async def _drain(self) -> None:
        assert self.process is not None
        assert self.process.stdout is not None
        async for line in self.process.stdout:
            self.output.append(line.decode(errors="replace").rstrip())

    def tail(self, lines: int = 40) -> str:
        return "\n".join(list(self.output)[-lines:])

    def terminate(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)

    async def wait(self, within: float) -> int:
        assert self.process is not None
        async with asyncio.timeout(within):
            return await self.process.wait()

    async def kill(self) -> None:
        """SIGKILL: no shutdown handler runs, exactly like a crashed machine."""
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(self._reader, 5)


class WorkerProcess(ChildProcess):
    """`issuegraph worker` as a child process."""

    def __init__(self, settings: Settings, **env: str) -> None:
        super().__init__(cli_env(settings, **env), "worker")


class ServeProcess(ChildProcess):
    """`issuegraph serve` as a child process on a free port; started once /healthz answers."""

    def __init__(self, settings: Settings, *, workers: int = 1, **env: str) -> None:
        self.port = free_port()
        self.workers = workers
        super().__init__(
            cli_env(settings, **env),
            "serve",
            "--port",
            str(self.port),
            "--workers",
            str(workers),
            keep_lines=300,
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        await super().start()
        try:
            await self._wait_ready()
        except BaseException:
            await self.kill()
            raise

    async def _wait_ready(self, within: float = 20) -> None:
        assert self.process is not None
        async with asyncio.timeout(within), httpx.AsyncClient(base_url=self.url) as http:
            while True:
                if self.process.returncode is not None:
                    pytest.fail(f"`serve` exited early:\n{self.tail()}")
                with contextlib.suppress(httpx.TransportError):
                    if (await http.get("/healthz", timeout=2)).status_code == 200:
                        return
                await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def serving(
    settings: Settings, *, workers: int = 1, **env: str
) -> AsyncIterator[ServeProcess]:
    server = ServeProcess(settings, workers=workers, **env)
    await server.start()
    try:
        yield server
    finally:
        await server.kill()


def exited_cleanly(returncode: int) -> bool:
    """0, or death by the SIGTERM uvicorn re-raises after a completed graceful shutdown."""
    return returncode in (0, -signal.SIGTERM)


async def running_in(worker: WorkerProcess, gql: Any, person: Any, job_id: str) -> dict[str, Any]:
    """Start ``worker`` and wait until it runs the job (RUNNING, with some progress): the job
    as ``person`` reads it then. Fails with the worker's output if it never gets there."""
    await worker.start()
    try:
        return await wait_until(
            gql,
            person,
            job_id,
            lambda job: job["status"] == "RUNNING" and job["progress"] > 0,
            within=30,
            every=0.02,
        )
    except TimeoutError:
        pytest.fail(f"the import never ran; worker output:\n{worker.tail()}")
