"""Jobs through the GraphQL API (a workspace to run them in, starting, cancelling, reading and
waiting for them) and direct reads of the jobs and issues tables."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import Issue, Job, JobStatus
from tests.support.client import ok
from tests.support.world import create_project, create_workspace, pk

TERMINAL = {"SUCCEEDED", "FAILED", "CANCELED"}
JOB_FIELDS = "id kind status progress message result error attempts downloadUrl"
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


async def make_space(gql: Any, owner: Any, slug: str, key: str = "ENG") -> Space:
    """A workspace owned by ``owner``, with one project and one issue in it."""
    workspace_id = await create_workspace(gql, owner, slug, slug.title())
    project_id = await create_project(gql, owner, workspace_id, key, key.title())
    issue = await ok(
        gql,
        owner,
        "createIssue",
        {
            "projectId": project_id,
            "title": "App crashes on start",
            "body": "Production is down: the app crashes with an exception.",
        },
    )
    return Space(slug, workspace_id, project_id, issue["id"])


async def make_project(gql: Any, owner: Any, space: Space, key: str) -> str:
    """Another (empty) project in ``space``: its global id."""
    return await create_project(gql, owner, space.workspace, key, key.title())


async def job_mutation(gql: Any, person: Any, document: str, **variables: Any) -> dict[str, Any]:
    """A job mutation's payload (``job`` and ``userErrors``); GraphQL errors fail the test."""
    body = await gql(document, variables, as_=person)
    assert "errors" not in body, body
    [payload] = body["data"].values()
    assert isinstance(payload, dict)
    return payload


async def start_import(
    gql: Any, person: Any, project: str, csv_text: str, key: str | None = None
) -> dict[str, Any]:
    return await job_mutation(gql, person, IMPORT, p=project, csv=csv_text, key=key)


async def start_triage(gql: Any, person: Any, issue: str, key: str | None = None) -> dict[str, Any]:
    return await job_mutation(gql, person, TRIAGE, i=issue, key=key)


async def start_export(
    gql: Any, person: Any, project: str, fmt: str = "CSV", key: str | None = None
) -> dict[str, Any]:
    return await job_mutation(gql, person, EXPORT, p=project, f=fmt, key=key)


async def cancel(gql: Any, person: Any, job_id: str) -> dict[str, Any]:
    return await job_mutation(gql, person, CANCEL, id=job_id)


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


async def wait_for_job(
    gql: Any, person: Any, job_id: str, *, statuses: set[str] = TERMINAL, within: float = 30
) -> dict[str, Any]:
    """Poll ``Query.job`` the way a client would, until the job reaches one of ``statuses``."""
    return await wait_until(
        gql, person, job_id, lambda job: job["status"] in statuses, within=within
    )


def issues_csv(rows: int, *, start: int = 1) -> str:
    """A valid import file of ``rows`` issues titled "Imported issue <n>"."""
    lines = ["title,body,status,priority"]
    lines += [f"Imported issue {n},Body of issue {n},TODO,LOW" for n in range(start, start + rows)]
    return "\n".join(lines) + "\n"


# -- the database --------------------------------------------------------------------------------


async def job_row(session_factory: async_sessionmaker[AsyncSession], job_id: str) -> Job:
    async with session_factory() as session:
        row = await session.get(Job, pk(job_id, "Job"))
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
