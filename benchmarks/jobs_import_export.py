"""Time a 10,000-row CSV import and its export through the API and a real arq worker.

    ISSUEGRAPH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test \\
    ISSUEGRAPH_REDIS_URL=redis://127.0.0.1:6379/0 .venv/bin/python -m benchmarks.jobs_import_export

Creates a throw-away database next to the configured one, runs the app in-process over ASGI
and one worker in-process (one process, like `issuegraph dev`), and writes the figures to
benchmarks/results/jobs-<date>.json. Timings are from enqueue (mutation answered) to
SUCCEEDED as a polling client sees them (poll every 20 ms).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from arq.worker import Worker
from sqlalchemy import text

from app.main import create_app
from app.settings import Settings, to_async_database_url
from app.worker import worker_options
from db.engine import create_engine, create_session_factory
from db.migrate import upgrade_to_head
from services import auth

ROWS = 10_000
RESULTS = Path(__file__).parent / "results"


def _csv(rows: int, email: str) -> str:
    lines = ["title,body,status,priority,assignee_email,labels"]
    statuses = ["BACKLOG", "TODO", "IN_PROGRESS", "DONE"]
    priorities = ["NONE", "LOW", "MEDIUM", "HIGH", "URGENT"]
    for n in range(rows):
        lines.append(
            f"Issue {n} imported,Body of issue {n} with some words to search,"
            f"{statuses[n % 4]},{priorities[n % 5]},{email if n % 3 else ''},"
            f"{'bug' if n % 2 else 'bug;feature'}"
        )
    return "\n".join(lines) + "\n"


async def _gql(http: httpx.AsyncClient, token: str, query: str, **variables: Any) -> Any:
    response = await http.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
    )
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


async def _wait(http: httpx.AsyncClient, token: str, job_id: str) -> dict[str, Any]:
    while True:
        data = await _gql(
            http, token, "query($id: ID!) { job(id: $id) { status result error } }", id=job_id
        )
        if data["job"]["status"] in {"SUCCEEDED", "FAILED", "CANCELED"}:
            job: dict[str, Any] = data["job"]
            return job
        await asyncio.sleep(0.02)


async def main() -> None:
    base_url = os.environ["ISSUEGRAPH_DATABASE_URL"]
    redis_url = os.environ["ISSUEGRAPH_REDIS_URL"]
    name = f"issuegraph_bench_{secrets.token_hex(4)}"
    admin = create_engine(to_async_database_url(base_url))
    async with admin.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = to_async_database_url(urlunsplit(urlsplit(base_url)._replace(path="/" + name)))
    settings = Settings(
        database_url=url,
        redis_url=redis_url,
        queue_name=f"issuegraph-bench:{name}",
        worker_poll_delay_seconds=0.05,
        log_level="WARNING",
        log_format="json",
    )
    engine = create_engine(url)
    figures: dict[str, Any] = {"rows": ROWS}
    try:
        await upgrade_to_head(engine)
        async with create_session_factory(engine)() as session:
            await auth.create_user(session, email="bench@example.com", name="Bench")
            token = await auth.create_token(session, email="bench@example.com")
            await session.commit()
        app = create_app(settings)
        worker = Worker(**worker_options(settings), handle_signals=False)
        worker_task = asyncio.create_task(worker.async_run())
        transport = httpx.ASGITransport(app=app)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=60) as http,
        ):
            ws = await _gql(
                http,
                token,
                'mutation { createWorkspace(input: {slug: "bench", '
                'name: "Bench"}) { workspace { id } } }',
            )
            ws_id = ws["createWorkspace"]["workspace"]["id"]
            project = await _gql(
                http,
                token,
                "mutation($ws: ID!) { createProject(input: {workspaceId: $ws, "
                'key: "BEN", name: "Bench"}) { project { id } } }',
                ws=ws_id,
            )
            project_id = project["createProject"]["project"]["id"]
            for label in ("bug", "feature"):
                await _gql(
                    http,
                    token,
                    "mutation($ws: ID!, $n: String!) { createLabel(input: "
                    '{workspaceId: $ws, name: $n, color: "#ededed"}) { label { id } } }',
                    ws=ws_id,
                    n=label,
                )
            csv_text = _csv(ROWS, "bench@example.com")
            figures["csv_bytes"] = len(csv_text.encode())

            started = time.perf_counter()
            data = await _gql(
                http,
                token,
                "mutation($p: ID!, $csv: String!) { importIssues(input: "
                "{projectId: $p, csv: $csv}) { job { id } } }",
                p=project_id,
                csv=csv_text,
            )
            figures["import_mutation_seconds"] = round(time.perf_counter() - started, 3)
            job = await _wait(http, token, data["importIssues"]["job"]["id"])
            figures["import_seconds"] = round(time.perf_counter() - started, 3)
            figures["import_result"] = {k: job["result"][k] for k in ("created", "failed")}

            for fmt in ("CSV", "JSON"):
                started = time.perf_counter()
                data = await _gql(
                    http,
                    token,
                    f"mutation($p: ID!) {{ exportProject(input: {{projectId: $p, "
                    f"format: {fmt}}}) {{ job {{ id }} }} }}",
                    p=project_id,
                )
                job = await _wait(http, token, data["exportProject"]["job"]["id"])
                figures[f"export_{fmt.lower()}_seconds"] = round(time.perf_counter() - started, 3)
                figures[f"export_{fmt.lower()}_result"] = job["result"]
        await worker.close()
        worker_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await worker_task
    finally:
        await engine.dispose()
        async with admin.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()
    figures["measured_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    figures["machine"] = f"{os.cpu_count()} cores"
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"jobs-{datetime.now(UTC):%Y-%m-%d}.json"
    out.write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
