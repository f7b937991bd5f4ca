"""The job mutations and reads as clients see them: idempotency, the per-workspace limit,
permissions, tenant isolation and input validation (real PostgreSQL, Redis and arq worker)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.settings import Settings
from db.models import JobFile, JobStatus
from tests.support.jobs import (
    cancel,
    count_issues,
    count_jobs,
    error_codes,
    issues_csv,
    job_of,
    job_row,
    make_space,
    read_job,
    start_export,
    start_import,
    start_triage,
    wait_for_job,
)
from tests.support.workers import wait_for_arq_task, worker
from tests.support.world import add_member

SessionFactory = async_sessionmaker[AsyncSession]


# -- idempotency ---------------------------------------------------------------------------------


async def test_idempotency_key_gives_one_job_per_user(
    gql: Any, make_person: Any, session_factory: SessionFactory
) -> None:
    owner, member = await asyncio.gather(make_person("Owner"), make_person("Member"))
    space = await make_space(gql, owner, "idem")
    await add_member(gql, owner, space.workspace, member, "MEMBER")

    first = job_of(await start_triage(gql, owner, space.issue, key="key-1"))
    again = job_of(await start_triage(gql, owner, space.issue, key="key-1"))
    assert again["id"] == first["id"]
    assert again["status"] == "QUEUED"

    # Two concurrent requests with a new key: one job between them.
    a, b = await asyncio.gather(
        start_triage(gql, owner, space.issue, key="key-2"),
        start_triage(gql, owner, space.issue, key="key-2"),
    )
    assert job_of(a)["id"] == job_of(b)["id"] != first["id"]

    # The same for an import (its CSV is stored with the row once).
    imports = await asyncio.gather(
        *(start_import(gql, owner, space.project, issues_csv(2), key="key-3") for _ in range(3))
    )
    assert len({job_of(p)["id"] for p in imports}) == 1

    # Another user's key lives in their own namespace.
    theirs = job_of(await start_triage(gql, member, space.issue, key="key-1"))
    assert theirs["id"] not in {first["id"], job_of(a)["id"]}
    assert job_of(await start_triage(gql, member, space.issue, key="key-1"))["id"] == theirs["id"]

    assert await count_jobs(session_factory) == 4
    async with session_factory() as session:
        files = await session.scalar(select(func.count()).select_from(JobFile))
    assert files == 1


# -- the per-workspace limit ---------------------------------------------------------------------


async def test_active_jobs_per_workspace_are_limited_to_ten(
    gql: Any, make_person: Any, session_factory: SessionFactory
) -> None:
    owner = await make_person("Owner")
    space, other = await asyncio.gather(
        make_space(gql, owner, "limited"), make_space(gql, owner, "other", key="OPS")
    )

    # No worker runs: every accepted job stays QUEUED, and all 11 race for the last slots.
    payloads = await asyncio.gather(*(start_triage(gql, owner, space.issue) for _ in range(11)))
    accepted = [p for p in payloads if p["job"] is not None]
    refused = [p for p in payloads if p["job"] is None]
    assert len(accepted) == 10, payloads
    assert len(refused) == 1, payloads
    assert error_codes(refused[0]) == ["LIMIT_EXCEEDED"]
    assert "10" in refused[0]["userErrors"][0]["message"]
    assert all(p["userErrors"] == [] and p["job"]["status"] == "QUEUED" for p in accepted)
    assert await count_jobs(session_factory) == 10

    # The limit is per workspace.
    assert job_of(await start_triage(gql, owner, other.issue))["status"] == "QUEUED"
    # Still full here, for any kind of job.
    assert error_codes(await start_export(gql, owner, space.project)) == ["LIMIT_EXCEEDED"]

    # A canceled job frees its slot, for exactly one new job.
    canceled = job_of(await cancel(gql, owner, accepted[0]["job"]["id"]))
    assert canceled["status"] == "CANCELED"
    assert job_of(await start_triage(gql, owner, space.issue))["status"] == "QUEUED"
    assert error_codes(await start_triage(gql, owner, space.issue)) == ["LIMIT_EXCEEDED"]
    assert await count_jobs(session_factory, JobStatus.QUEUED) == 11  # 10 here, 1 in "other"


# -- permissions ---------------------------------------------------------------------------------


async def test_who_may_start_and_cancel_jobs(
    gql: Any, make_person: Any, session_factory: SessionFactory
) -> None:
    owner, member, colleague, viewer = await asyncio.gather(
        make_person("Owner"), make_person("Member"), make_person("Colleague"), make_person("Viewer")
    )
    space = await make_space(gql, owner, "perms")
    for person, role in ((member, "MEMBER"), (colleague, "MEMBER"), (viewer, "VIEWER")):
        await add_member(gql, owner, space.workspace, person, role)

    # A VIEWER reads everything but starts nothing.
    for payload in await asyncio.gather(
        start_triage(gql, viewer, space.issue),
        start_import(gql, viewer, space.project, issues_csv(1)),
        start_export(gql, viewer, space.project),
    ):
        assert payload["job"] is None
        assert error_codes(payload) == ["FORBIDDEN"], payload
    assert await count_jobs(session_factory) == 0

    mine = job_of(await start_triage(gql, member, space.issue))
    theirs = job_of(await start_triage(gql, colleague, space.issue))
    by_owner = job_of(await start_triage(gql, owner, space.issue))

    # A MEMBER cannot cancel a colleague's job (nor the owner's); a VIEWER cannot cancel any.
    for person, job in ((member, theirs), (member, by_owner), (viewer, mine)):
        payload = await cancel(gql, person, job["id"])
        assert payload["job"] is None
        assert error_codes(payload) == ["FORBIDDEN"], payload
    assert (await job_row(session_factory, theirs["id"])).status is JobStatus.QUEUED

    # ... but their own, and an OWNER any.
    assert job_of(await cancel(gql, member, mine["id"]))["status"] == "CANCELED"
    assert job_of(await cancel(gql, owner, theirs["id"]))["status"] == "CANCELED"
    # A job already finished (canceled here) cannot be canceled again.
    payload = await cancel(gql, owner, mine["id"])
    assert error_codes(payload) == ["CONFLICT"], payload
    assert payload["userErrors"][0]["field"] == ["input", "id"]
    assert job_of(await cancel(gql, owner, by_owner["id"]))["status"] == "CANCELED"


async def test_a_canceled_queued_job_never_runs(
    gql: Any, make_person: Any, settings: Settings, session_factory: SessionFactory
) -> None:
    owner, member = await asyncio.gather(make_person("Owner"), make_person("Member"))
    space = await make_space(gql, owner, "cancelq")
    await add_member(gql, owner, space.workspace, member, "MEMBER")

    doomed = job_of(await start_import(gql, member, space.project, issues_csv(3)))
    assert doomed["status"] == "QUEUED"
    canceled = job_of(await cancel(gql, member, doomed["id"]))
    assert canceled["status"] == "CANCELED"
    assert canceled["id"] == doomed["id"]
    assert "Canceled" in (canceled["message"] or "")
    # Canceled at once, not when a worker gets to it.
    assert (await read_job(gql, member, doomed["id"]) or {})["status"] == "CANCELED"

    survivor = job_of(await start_import(gql, member, space.project, issues_csv(2, start=100)))
    async with worker(settings):
        done = await wait_for_job(gql, member, survivor["id"])
        # The canceled one's task (queued first) has been through the worker too.
        await wait_for_arq_task(settings, doomed["id"])
    assert done["status"] == "SUCCEEDED", done
    assert done["result"]["created"] == 2

    after = await read_job(gql, member, doomed["id"])
    assert after is not None
    assert after["status"] == "CANCELED"
    assert after["attempts"] == 0
    row = await job_row(session_factory, doomed["id"])
    assert row.started_at is None
    # make_space's own issue and the survivor's two: nothing of the canceled import.
    assert await count_issues(session_factory, space.project) == 3

    # A job that finished (SUCCEEDED) cannot be canceled: CONFLICT, and it stays SUCCEEDED.
    payload = await cancel(gql, owner, survivor["id"])
    assert error_codes(payload) == ["CONFLICT"], payload
    assert (await read_job(gql, owner, survivor["id"]) or {})["status"] == "SUCCEEDED"


# -- tenant isolation ----------------------------------------------------------------------------

JOBS = """query($slug: String!, $status: JobStatus, $kind: JobKind) {
  workspace(slug: $slug) { jobs(status: $status, kind: $kind) {
    totalCount edges { node { id kind status } } } } }"""


async def _jobs(
    gql: Any, person: Any, slug: str, status: str | None = None, kind: str | None = None
) -> tuple[int, list[str]]:
    body = await gql(JOBS, {"slug": slug, "status": status, "kind": kind}, as_=person)
    assert "errors" not in body, body
    jobs = body["data"]["workspace"]["jobs"]
    return jobs["totalCount"], [edge["node"]["id"] for edge in jobs["edges"]]


async def test_jobs_of_another_workspace_are_invisible(
    gql: Any,
    make_person: Any,
    settings: Settings,
    session_factory: SessionFactory,
    client: httpx.AsyncClient,
) -> None:
    alice, bob = await asyncio.gather(make_person("Alice"), make_person("Bob"))
    alpha, beta = await asyncio.gather(
        make_space(gql, alice, "alpha", key="AL"), make_space(gql, bob, "beta", key="BE")
    )

    # Alice's finished jobs (oldest first), then one still queued.
    export = job_of(await start_export(gql, alice, alpha.project))
    imported = job_of(await start_import(gql, alice, alpha.project, issues_csv(2)))
    triaged = job_of(await start_triage(gql, alice, alpha.issue))
    async with worker(settings):
        for job in (export, imported, triaged):
            done = await wait_for_job(gql, alice, job["id"])
            assert done["status"] == "SUCCEEDED", done
    queued = job_of(await start_triage(gql, alice, alpha.issue))
    bobs = job_of(await start_triage(gql, bob, beta.issue))
    alphas = [export, imported, triaged, queued]

    # Bob, a member of beta only, reads nothing of alpha's jobs.
    for job in alphas:
        assert await read_job(gql, bob, job["id"]) is None
        body = await gql(
            "query($id: ID!) { node(id: $id) { id ... on Job { status } } }",
            {"id": job["id"]},
            as_=bob,
        )
        assert body == {"data": {"node": None}}, body
    body = await gql(
        "query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
        {"ids": [j["id"] for j in alphas]},
        as_=bob,
    )
    assert body == {"data": {"nodes": [None] * 4}}, body
    assert (await gql(JOBS, {"slug": "alpha"}, as_=bob))["data"]["workspace"] is None

    # ... cancels nothing of theirs, and cannot start jobs on alpha's objects.
    for job in (queued, export):
        payload = await cancel(gql, bob, job["id"])
        assert payload["job"] is None
        assert error_codes(payload) == ["NOT_FOUND"], payload
    for payload in await asyncio.gather(
        start_triage(gql, bob, alpha.issue),
        start_import(gql, bob, alpha.project, issues_csv(1)),
        start_export(gql, bob, alpha.project),
    ):
        assert payload["job"] is None
        assert error_codes(payload) == ["NOT_FOUND"], payload
    assert (await read_job(gql, alice, queued["id"]) or {})["status"] == "QUEUED"
    assert await count_jobs(session_factory) == 5

    # The export's download: Alice only.
    url = (await read_job(gql, alice, export["id"]) or {})["downloadUrl"]
    assert url
    assert (await client.get(url, headers=alice.headers)).status_code == 200
    assert (await client.get(url, headers=bob.headers)).status_code == 404
    assert (await client.get(url)).status_code == 401

    # Workspace.jobs: this workspace's jobs only, newest first, filtered, counted.
    newest_first = [j["id"] for j in reversed(alphas)]
    assert await _jobs(gql, alice, "alpha") == (4, newest_first)
    assert await _jobs(gql, alice, "alpha", status="SUCCEEDED") == (3, newest_first[1:])
    assert await _jobs(gql, alice, "alpha", status="QUEUED") == (1, [queued["id"]])
    assert await _jobs(gql, alice, "alpha", kind="TRIAGE_ISSUE") == (
        2,
        [queued["id"], triaged["id"]],
    )
    assert await _jobs(gql, alice, "alpha", status="SUCCEEDED", kind="TRIAGE_ISSUE") == (
        1,
        [triaged["id"]],
    )
    assert await _jobs(gql, alice, "alpha", kind="EXPORT_PROJECT") == (1, [export["id"]])
    assert await _jobs(gql, alice, "alpha", status="FAILED") == (0, [])
    assert await _jobs(gql, bob, "beta") == (1, [bobs["id"]])


# -- import input ----------------------------------------------------------------------------------


async def test_import_input_is_validated(
    gql: Any, make_person: Any, settings: Settings, session_factory: SessionFactory
) -> None:
    owner = await make_person("Owner")
    space = await make_space(gql, owner, "input")

    # Over the 10 MB limit (in UTF-8 bytes): refused at once, nothing written.
    line = "A title that is long enough to fill the file quickly,Some body text here\n"
    too_big = "title,body\n" + line * (10 * 1024 * 1024 // len(line) + 1)
    assert len(too_big.encode()) > 10 * 1024 * 1024
    for csv_text in (too_big, "", "  \n\n \r\n"):
        payload = await start_import(gql, owner, space.project, csv_text)
        assert payload["job"] is None
        [error] = payload["userErrors"]
        assert error["code"] == "INVALID", payload
        assert error["field"] == ["input", "csv"]
    assert await count_jobs(session_factory) == 0
    async with session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(JobFile)) == 0

    # A file without a title column is accepted as a job, which fails saying why.
    bad = job_of(await start_import(gql, owner, space.project, "name,body\nCrash,It crashes\n"))
    assert bad["status"] == "QUEUED"
    async with worker(settings):
        job = await wait_for_job(gql, owner, bad["id"])
    assert job["status"] == "FAILED", job
    assert "missing required column 'title'" in job["error"], job
    assert "line 1" in job["error"]
    assert job["attempts"] == 1  # a broken file is not retried
    assert job["result"] is None
    assert await count_issues(session_factory, space.project) == 1  # make_space's own issue
