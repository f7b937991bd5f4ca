"""W4: background-job throughput and latency against a running API and `issuegraph worker`.

    python -m benchmarks.jobs_load --url http://127.0.0.1:18101/graphql --token igt_... \\
        --database-url postgresql://postgres@127.0.0.1:5432/issuegraph_bench_run

`python -m benchmarks.run` starts the API and one worker (poll delay and per-workspace job
limit set through ISSUEGRAPH_WORKER_POLL_DELAY_SECONDS / ISSUEGRAPH_JOB_MAX_ACTIVE_PER_WORKSPACE)
and runs this from the load core. Like benchmarks/jobs_import_export.py it goes through the
GraphQL API and a real arq worker; here both are separate processes and the client is another.

1. One triage job, waited for: the worker is up and warm.
2. ``--isolated`` (20) jobs one at a time, each waited for: pickup latency with an idle worker
   (enqueue to start is then the poll delay plus Redis and PostgreSQL round trips).
3. ``--jobs`` (200) ``triageIssue`` mutations on distinct issues of P1, ``--concurrency`` at a
   time; then the jobs table is polled (every 20 ms) until every job is finished.
4. Per job, from the job row (one clock, PostgreSQL's): enqueue (row created, in the mutation's
   transaction) to start (``started_at``) and to SUCCEEDED (``finished_at``); p50/p99; jobs/s
   over first enqueue to last finish. Also from the mutation's answer (client clock, same host).
5. ``--import-rows`` (10,000) rows imported into P4 with ``importIssues``: mutation sent to
   SUCCEEDED.

Prints the figures as JSON on the last line of stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import statistics
import sys
import time
from datetime import datetime
from typing import Any

import asyncpg
import httpx

from benchmarks.common import TRIAGE_PROJECT, WORKSPACE_SLUG, WRITE_PROJECT, global_id

TERMINAL = ("SUCCEEDED", "FAILED", "CANCELED")
TRIAGE = (
    "mutation($i: ID!) { triageIssue(input: {issueId: $i}) "
    "{ job { id status } userErrors { code message } } }"
)
IMPORT = (
    "mutation($p: ID!, $csv: String!) { importIssues(input: {projectId: $p, csv: $csv}) "
    "{ job { id status } userErrors { code message } } }"
)


def _pk(job_gid: str) -> int:
    return int(base64.b64decode(job_gid).decode().partition(":")[2])


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    # nearest-rank percentile
    index = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return round(ordered[index], 1)


def _ms(a: datetime | None, b: datetime | None) -> float | None:
    if a is None or b is None:
        return None
    return (b - a).total_seconds() * 1000


def csv_rows(rows: int) -> str:
    lines = ["title,body,status,priority,assignee_email,labels"]
    statuses = ["BACKLOG", "TODO", "IN_PROGRESS", "DONE"]
    priorities = ["NONE", "LOW", "MEDIUM", "HIGH", "URGENT"]
    for n in range(rows):
        lines.append(
            f"Imported issue {n},Body of imported issue {n} with some words to search,"
            f"{statuses[n % 4]},{priorities[n % 5]},"
            f"{f'bench{n % 50}@example.com' if n % 3 else ''},"
            f"{'label-00' if n % 2 else 'label-00;label-01'}"
        )
    return "\n".join(lines) + "\n"


async def _mutate(http: httpx.AsyncClient, query: str, **variables: Any) -> tuple[str, float]:
    url = http.base_url.copy_with(path=http.base_url.path.rstrip("/"))
    response = await http.post(url, json={"query": query, "variables": variables})
    answered = time.time()
    body = response.json()
    payload = next(iter((body.get("data") or {}).values()), None)
    if response.status_code != 200 or body.get("errors") or not payload or payload["userErrors"]:
        raise RuntimeError(f"mutation failed: HTTP {response.status_code} {str(body)[:400]}")
    return payload["job"]["id"], answered


async def _wait_all(conn: asyncpg.Connection, ids: list[int], limit_s: float) -> float:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        done = await conn.fetchval(
            "SELECT count(*) FROM jobs WHERE id = ANY($1::bigint[]) AND status::text = ANY($2)",
            ids,
            list(TERMINAL),
        )
        if done == len(ids):
            return time.time()
        await asyncio.sleep(0.02)
    raise TimeoutError(f"jobs not finished after {limit_s:.0f} s")


async def _issue_ids(conn: asyncpg.Connection, count: int) -> list[int]:
    rows = await conn.fetch(
        "SELECT i.id FROM issues i JOIN projects p ON p.id = i.project_id "
        "JOIN workspaces w ON w.id = p.workspace_id WHERE w.slug = $1 AND p.key = $2 "
        "ORDER BY i.number LIMIT $3",
        WORKSPACE_SLUG,
        TRIAGE_PROJECT,
        count,
    )
    return [row["id"] for row in rows]


async def main(args: argparse.Namespace) -> dict[str, Any]:
    conn = await asyncpg.connect(args.database_url)
    limits = httpx.Limits(max_connections=args.concurrency)
    headers = {"Authorization": f"Bearer {args.token}"}
    figures: dict[str, Any] = {"jobs": args.jobs, "concurrency": args.concurrency}
    async with httpx.AsyncClient(
        base_url=args.url, headers=headers, timeout=60, limits=limits
    ) as http:
        issue_pks = await _issue_ids(conn, args.jobs + 1 + args.isolated)
        if len(issue_pks) < args.jobs + 1 + args.isolated:
            raise RuntimeError(f"only {len(issue_pks)} issues in {TRIAGE_PROJECT}")
        # 1. warm-up: one job through the whole path.
        started = time.perf_counter()
        job_gid, _ = await _mutate(http, TRIAGE, i=global_id("Issue", issue_pks[-1]))
        await _wait_all(conn, [_pk(job_gid)], limit_s=60)
        figures["warmup_job_seconds"] = round(time.perf_counter() - started, 3)

        # 2. pickup latency with an idle worker: --isolated jobs one after the other.
        isolated: list[float] = []
        isolated_done: list[float] = []
        for pk in issue_pks[args.jobs + 1 : args.jobs + 1 + args.isolated]:
            gid, _ = await _mutate(http, TRIAGE, i=global_id("Issue", pk))
            await _wait_all(conn, [_pk(gid)], limit_s=60)
            row = await conn.fetchrow(
                "SELECT created_at, started_at, finished_at FROM jobs WHERE id = $1", _pk(gid)
            )
            isolated.append(_ms(row["created_at"], row["started_at"]) or 0.0)
            isolated_done.append(_ms(row["created_at"], row["finished_at"]) or 0.0)
        figures["isolated"] = {
            "jobs": len(isolated),
            "enqueue_to_start_ms": {
                "p50": _pct(isolated, 50),
                "p99": _pct(isolated, 99),
                "max": _pct(isolated, 100),
            },
            "enqueue_to_succeeded_ms": {
                "p50": _pct(isolated_done, 50),
                "p99": _pct(isolated_done, 99),
                "max": _pct(isolated_done, 100),
            },
        }

        # 3. the burst.
        semaphore = asyncio.Semaphore(args.concurrency)
        sent_at = time.time()

        async def one(pk: int) -> tuple[int, float]:
            async with semaphore:
                gid, answered = await _mutate(http, TRIAGE, i=global_id("Issue", pk))
                return _pk(gid), answered

        results = await asyncio.gather(*(one(pk) for pk in issue_pks[: args.jobs]))
        enqueued_at = time.time()
        ids = [job_id for job_id, _ in results]
        answered = dict(results)
        all_done = await _wait_all(conn, ids, limit_s=args.timeout)
        rows = await conn.fetch(
            "SELECT id, status::text AS status, attempts, created_at, started_at, finished_at "
            "FROM jobs WHERE id = ANY($1::bigint[])",
            ids,
        )
        statuses: dict[str, int] = {}
        for row in rows:
            statuses[row["status"]] = statuses.get(row["status"], 0) + 1
        to_start = [v for r in rows if (v := _ms(r["created_at"], r["started_at"])) is not None]
        to_done = [
            v
            for r in rows
            if r["status"] == "SUCCEEDED"
            and (v := _ms(r["created_at"], r["finished_at"])) is not None
        ]
        run = [v for r in rows if (v := _ms(r["started_at"], r["finished_at"])) is not None]
        answered_to_done = [
            (r["finished_at"].timestamp() - answered[r["id"]]) * 1000
            for r in rows
            if r["status"] == "SUCCEEDED" and r["finished_at"] is not None
        ]
        first = min(r["created_at"] for r in rows)
        last = max(r["finished_at"] for r in rows if r["finished_at"] is not None)
        span = (last - first).total_seconds()
        figures.update(
            statuses=statuses,
            retried=sum(1 for r in rows if r["attempts"] > 1),
            enqueue_seconds=round(enqueued_at - sent_at, 3),
            enqueued_per_second=round(len(ids) / (enqueued_at - sent_at), 1),
            wall_seconds=round(all_done - sent_at, 3),
            jobs_per_second=round(len(rows) / span, 1) if span else None,
            enqueue_to_start_ms={
                "p50": _pct(to_start, 50),
                "p99": _pct(to_start, 99),
                "max": _pct(to_start, 100),
            },
            enqueue_to_succeeded_ms={
                "p50": _pct(to_done, 50),
                "p99": _pct(to_done, 99),
                "max": _pct(to_done, 100),
            },
            run_ms={"p50": _pct(run, 50), "p99": _pct(run, 99)},
            answered_to_succeeded_ms={
                "p50": _pct(answered_to_done, 50),
                "p99": _pct(answered_to_done, 99),
            },
            mean_enqueue_to_succeeded_ms=round(statistics.fmean(to_done), 1) if to_done else None,
        )

        # 5. the import.
        if args.import_rows:
            project_pk = await conn.fetchval(
                "SELECT p.id FROM projects p JOIN workspaces w ON w.id = p.workspace_id "
                "WHERE w.slug = $1 AND p.key = $2",
                WORKSPACE_SLUG,
                WRITE_PROJECT,
            )
            text = csv_rows(args.import_rows)
            started = time.perf_counter()
            job_gid, _ = await _mutate(http, IMPORT, p=global_id("Project", project_pk), csv=text)
            mutation_seconds = time.perf_counter() - started
            await _wait_all(conn, [_pk(job_gid)], limit_s=args.timeout)
            seconds = time.perf_counter() - started
            row = await conn.fetchrow(
                "SELECT status::text AS status, result, created_at, started_at, finished_at "
                "FROM jobs WHERE id = $1",
                _pk(job_gid),
            )
            result = json.loads(row["result"]) if row["result"] else None
            figures["import"] = {
                "rows": args.import_rows,
                "csv_bytes": len(text.encode()),
                "status": row["status"],
                "created": (result or {}).get("created"),
                "failed": (result or {}).get("failed"),
                "mutation_seconds": round(mutation_seconds, 3),
                "seconds": round(seconds, 3),
                "enqueue_to_start_ms": round(_ms(row["created_at"], row["started_at"]) or 0, 1),
                "run_seconds": round((_ms(row["started_at"], row["finished_at"]) or 0) / 1000, 3),
            }
    await conn.close()
    return figures


def cli(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", required=True, help="the API's /graphql URL")
    parser.add_argument("--token", required=True)
    parser.add_argument("--database-url", required=True, help="plain postgresql:// URL")
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--isolated", type=int, default=20, help="jobs sent one at a time first")
    parser.add_argument("--import-rows", type=int, default=10_000)
    parser.add_argument("--timeout", type=float, default=180)
    args = parser.parse_args(argv)
    figures = asyncio.run(main(args))
    sys.stdout.write(json.dumps(figures) + "\n")


if __name__ == "__main__":
    cli()
