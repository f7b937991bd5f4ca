"""The benchmark database: create (or reuse), migrate, seed, token, ids, statement logging."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from dataclasses import dataclass
from typing import Any

import asyncpg

from benchmarks.common import (
    READ_PROJECT,
    TRIAGE_PROJECT,
    WORKSPACE_SLUG,
    WRITE_PROJECT,
    BenchError,
    Settings,
)


@dataclass
class BenchData:
    token: str
    owner_email: str
    project_ids: dict[str, int]
    seeded_seconds: float | None
    reused: bool


def _run(coro: Any) -> Any:
    return asyncio.run(coro)


async def _admin(settings: Settings) -> asyncpg.Connection:
    try:
        return await asyncpg.connect(settings.admin_url)
    except (OSError, asyncpg.PostgresError) as error:
        raise BenchError(
            f"Cannot connect to PostgreSQL at {settings.admin_url} ({error}). "
            "Set ISSUEGRAPH_BENCH_DATABASE_URL to an admin (superuser) URL."
        ) from error


async def _exists(settings: Settings) -> bool:
    conn = await _admin(settings)
    try:
        return bool(
            await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", settings.db_name)
        )
    finally:
        await conn.close()


async def _recreate(settings: Settings) -> None:
    conn = await _admin(settings)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{settings.db_name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{settings.db_name}"')
    finally:
        await conn.close()


async def _is_seeded(settings: Settings) -> bool:
    conn = await asyncpg.connect(settings.database_url)
    try:
        has_table = await conn.fetchval("SELECT to_regclass('public.workspaces') IS NOT NULL")
        if not has_table:
            return False
        return bool(await conn.fetchval("SELECT 1 FROM workspaces WHERE slug = $1", WORKSPACE_SLUG))
    finally:
        await conn.close()


async def _project_ids(settings: Settings) -> dict[str, int]:
    conn = await asyncpg.connect(settings.database_url)
    try:
        rows = await conn.fetch(
            "SELECT p.key, p.id FROM projects p JOIN workspaces w ON w.id = p.workspace_id "
            "WHERE w.slug = $1",
            WORKSPACE_SLUG,
        )
        return {row["key"]: row["id"] for row in rows}
    finally:
        await conn.close()


def issuegraph_env(settings: Settings, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("ISSUEGRAPH_") or k.startswith("ISSUEGRAPH_BENCH_")
    }
    env.update(
        ISSUEGRAPH_DATABASE_URL=settings.database_url,
        ISSUEGRAPH_REDIS_URL=settings.redis_url,
        ISSUEGRAPH_LOG_LEVEL="WARNING",
        ISSUEGRAPH_LOG_FORMAT="json",
    )
    env.update(extra)
    return env


def _cli(settings: Settings, *args: str) -> str:
    exe = settings.python.parent / "issuegraph"
    if not exe.exists():
        raise BenchError(
            f"{exe} not found: install the project into that environment "
            "(`make venv`, which `make bench` runs), or point "
            "ISSUEGRAPH_BENCH_PYTHON at a Python that has issuegraph installed."
        )
    result = subprocess.run(  # noqa: S603 - our argv, no shell
        [str(exe), *args],
        env=issuegraph_env(settings),
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    if result.returncode != 0:
        raise BenchError(
            f"`issuegraph {' '.join(args)}` failed ({result.returncode}):\n{result.stderr[-3000:]}"
        )
    return result.stdout


def prepare(settings: Settings, *, reuse: bool) -> BenchData:
    """Create, migrate and seed the bench database (or reuse a seeded one) and get a token."""
    if reuse and _run(_exists(settings)) and _run(_is_seeded(settings)):
        _cli(settings, "migrate")
        owner = "bench0@example.com"
        out = _cli(settings, "create-token", "--email", owner, "--label", "bench")
        token = out.strip().splitlines()[-1].strip()
        return BenchData(token, owner, _run(_project_ids(settings)), None, True)
    _run(_recreate(settings))
    started = time.perf_counter()
    _cli(settings, "migrate")
    out = _cli(settings, "seed", "--bench")
    seconds = time.perf_counter() - started
    token = out.strip().splitlines()[-1].strip()
    if not token.startswith("igt_"):
        raise BenchError(f"`issuegraph seed --bench` printed no token: {out[-500:]!r}")
    _run(_analyze(settings))
    ids = _run(_project_ids(settings))
    for key in (READ_PROJECT, WRITE_PROJECT, TRIAGE_PROJECT):
        if key not in ids:
            raise BenchError(f"seed --bench made no project {key} (got {sorted(ids)}).")
    return BenchData(token, "bench0@example.com", ids, round(seconds, 2), False)


async def _read_issues_ok(settings: Settings, low: int, high: int) -> int:
    conn = await asyncpg.connect(settings.database_url)
    try:
        return int(
            await conn.fetchval(
                """
                SELECT count(*) FROM issues i
                JOIN projects p ON p.id = i.project_id
                JOIN workspaces w ON w.id = p.workspace_id
                WHERE w.slug = $1 AND p.key = $2 AND i.number BETWEEN $3 AND $4
                  AND (SELECT count(*) FROM issue_labels l WHERE l.issue_id = i.id) = 3
                  AND (SELECT count(*) FROM comments c WHERE c.issue_id = i.id) = 5
                """,
                WORKSPACE_SLUG,
                READ_PROJECT,
                low,
                high,
            )
        )
    finally:
        await conn.close()


def check_read_issues(settings: Settings, low: int, high: int) -> None:
    """Every issue W2 may ask for (numbers low..high of the read project) exists with 3 labels
    and 5 comments, as `issuegraph seed --bench` writes them."""
    found = _run(_read_issues_ok(settings, low, high))
    if found != high - low + 1:
        raise BenchError(
            f"{READ_PROJECT}-{low}..{READ_PROJECT}-{high}: only {found} of {high - low + 1} "
            "issues exist with 3 labels and 5 comments; drop the bench database (run without "
            "--reuse-db) to seed it again."
        )


async def _analyze(settings: Settings) -> None:
    conn = await asyncpg.connect(settings.database_url)
    try:
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()


# -- statement logging -------------------------------------------------------------------


async def _set_log_statement(settings: Settings, value: str | None) -> None:
    conn = await _admin(settings)
    try:
        if value is None:
            await conn.execute(f'ALTER DATABASE "{settings.db_name}" RESET log_statement')
        else:
            await conn.execute(
                f"ALTER DATABASE \"{settings.db_name}\" SET log_statement = '{value}'"
            )
    finally:
        await conn.close()


def enable_statement_logging(settings: Settings) -> None:
    """Log every statement of new connections to the bench database (superuser only)."""
    try:
        _run(_set_log_statement(settings, "all"))
    except asyncpg.InsufficientPrivilegeError as error:
        raise BenchError(
            "Counting SQL statements needs a superuser in ISSUEGRAPH_BENCH_DATABASE_URL "
            f"(ALTER DATABASE ... SET log_statement): {error}"
        ) from error


def disable_statement_logging(settings: Settings) -> None:
    _run(_set_log_statement(settings, None))


async def _server_info(settings: Settings) -> dict[str, Any]:
    conn = await _admin(settings)
    try:
        info: dict[str, Any] = {}
        for name in (
            "server_version",
            "cluster_name",
            "log_line_prefix",
            "log_destination",
            "logging_collector",
            "data_directory",
            "shared_preload_libraries",
            "max_connections",
        ):
            try:
                info[name] = await conn.fetchval(f"SHOW {name}")
            except asyncpg.PostgresError:
                info[name] = None
        try:
            info["current_logfile"] = await conn.fetchval("SELECT pg_current_logfile()")
        except asyncpg.PostgresError:
            info["current_logfile"] = None
        return info
    finally:
        await conn.close()


def server_info(settings: Settings) -> dict[str, Any]:
    return _run(_server_info(settings))
