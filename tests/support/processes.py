"""`issuegraph` commands as child processes, the way an operator runs them: `serve` and
`worker` kept running with their output kept for diagnosis, and one-off commands."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator, Sequence
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
    """A long-running child process (``argv``, run in the repository), its output (stdout and
    stderr) kept for diagnosis. ``own_group``: in a process group of its own, so that what it
    forks can be killed with it."""

    def __init__(
        self,
        argv: Sequence[str],
        env: dict[str, str],
        *,
        keep_lines: int = 200,
        own_group: bool = False,
    ) -> None:
        self.argv = list(argv)
        self.env = env
        self.own_group = own_group
        self.process: asyncio.subprocess.Process | None = None
        self.output: collections.deque[str] = collections.deque(maxlen=keep_lines)
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            *self.argv,
            cwd=REPO_ROOT,
            env=self.env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=self.own_group,
        )
        self._reader = asyncio.create_task(self._drain())

    async def _drain(self) -> None:
        assert self.process is not None
        assert self.process.stdout is not None
        async for line in self.process.stdout:
            self.output.append(line.decode(errors="replace").rstrip())

    async def wait_healthy(self, url: str, within: float, what: str) -> None:
        """Until GET ``url`` answers 200; fails the test with the output if the process exits
        first or ``within`` seconds pass."""
        assert self.process is not None
        try:
            async with asyncio.timeout(within), httpx.AsyncClient() as http:
                while True:
                    if self.process.returncode is not None:
                        pytest.fail(
                            f"{what} exited with {self.process.returncode} while starting:\n"
                            f"{self.tail()}"
                        )
                    with contextlib.suppress(httpx.TransportError):
                        if (await http.get(url, timeout=2)).status_code == 200:
                            return
                    await asyncio.sleep(0.05)
        except TimeoutError:
            pytest.fail(f"{what} not ready within {within:.0f} s:\n{self.tail()}")

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
        """SIGKILL: no shutdown handler runs, exactly like a crashed machine. A process in a
        group of its own takes the group with it: `serve --workers N`'s workers would outlive
        their parent otherwise (orphans holding the test database after a timed-out test)."""
        if self.process is not None:
            if self.own_group:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
            elif self.process.returncode is None:
                self.process.kill()
            await self.process.wait()
        await self.collect_output()

    async def collect_output(self) -> None:
        """The rest of the output of a process that has exited."""
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(self._reader, 5)


class WorkerProcess(ChildProcess):
    """`issuegraph worker` as a child process."""

    def __init__(self, settings: Settings, **env: str) -> None:
        super().__init__([*CLI, "worker"], cli_env(settings, **env))


class ServeProcess(ChildProcess):
    """`issuegraph serve` as a child process on a free port; started once /healthz answers."""

    def __init__(self, settings: Settings, *, workers: int = 1, **env: str) -> None:
        self.port = free_port()
        self.workers = workers
        argv = [*CLI, "serve", "--port", str(self.port), "--workers", str(workers)]
        super().__init__(argv, cli_env(settings, **env), keep_lines=300, own_group=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        await super().start()
        try:
            await self.wait_healthy(f"{self.url}/healthz", 20, "`serve`")
        except BaseException:
            await self.kill()
            raise


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
