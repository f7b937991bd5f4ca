"""Paths, settings and small helpers shared by the benchmark harness modules.

Nothing here imports the application: the harness drives the servers as separate processes,
so it runs under any Python that has psutil, httpx, asyncpg and matplotlib.
"""

from __future__ import annotations

import base64
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
QUERIES = BENCH_DIR / "queries"
RESULTS = BENCH_DIR / "results"
WRK_DIR = BENCH_DIR / "wrk"
POSTGRAPHILE_DIR = BENCH_DIR / "postgraphile"
LEGACY_DIR = BENCH_DIR / "legacy"
MINIMAL_DIR = BENCH_DIR / "minimal"

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
DEFAULT_DB_NAME = "issuegraph_bench_run"
# Workloads read project P0 (W1, W2); W3 creates issues in P4 and the import adds to P4, so a
# reused database still serves every server the same W1/W2 data.
READ_PROJECT = "P0"
WRITE_PROJECT = "P4"
TRIAGE_PROJECT = "P1"
WORKSPACE_SLUG = "bench"
# `issuegraph seed --bench` (seeding/bench.py): 10,000 issues over 5 projects, numbered
# 1..2,000 in each, every one with 3 labels and 5 comments.
READ_PROJECT_ISSUES = 2_000
# Under load W2 asks for a random issue of P0 on every request (wrk/graphql.lua), from this
# range; the harness checks in the database that each of them has 3 labels and 5 comments.
W2_NUMBERS = (1, READ_PROJECT_ISSUES)
# The W2 issue of the single requests: the SQL count, and the one the tests use.
W2_NUMBER = 1_000
# The answer check asks every server for these and compares the rows across servers.
W2_CHECK_NUMBERS = (1, 500, W2_NUMBER, 1_500, READ_PROJECT_ISSUES)


class BenchError(RuntimeError):
    """A setup failure with a message meant for the person running `make bench`."""


@dataclass(frozen=True)
class Settings:
    admin_url: str
    redis_url: str
    db_name: str
    python: Path
    legacy_python: Path

    @property
    def database_url(self) -> str:
        """The bench database, as a plain libpq URL (postgres://...)."""
        return with_database(self.admin_url, self.db_name)


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def libpq_url(url: str) -> str:
    """Strip a SQLAlchemy driver suffix (postgresql+asyncpg:// -> postgresql://)."""
    scheme, sep, rest = url.partition("://")
    return scheme.split("+", 1)[0] + sep + rest


def _venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def resolve_python() -> Path:
    """The interpreter whose environment has issuegraph installed (and uvicorn, asyncpg).

    ISSUEGRAPH_BENCH_PYTHON, else the repository's .venv, else the running interpreter.
    """
    override = os.environ.get("ISSUEGRAPH_BENCH_PYTHON")
    if override:
        path = Path(override)
        if not path.exists():
            raise BenchError(f"ISSUEGRAPH_BENCH_PYTHON={override} does not exist.")
        return path
    venv = _venv_python(REPO / ".venv")
    if venv.exists():
        return venv
    return Path(sys.executable)


def resolve_legacy_python() -> Path:
    override = os.environ.get("ISSUEGRAPH_BENCH_LEGACY_PYTHON")
    return Path(override) if override else _venv_python(REPO / ".venv-legacy")


def load_settings(db_name: str | None = None) -> Settings:
    return Settings(
        admin_url=libpq_url(os.environ.get("ISSUEGRAPH_BENCH_DATABASE_URL", DEFAULT_ADMIN_URL)),
        redis_url=os.environ.get("ISSUEGRAPH_BENCH_REDIS_URL", DEFAULT_REDIS_URL),
        db_name=db_name or os.environ.get("ISSUEGRAPH_BENCH_DB_NAME", DEFAULT_DB_NAME),
        python=resolve_python(),
        legacy_python=resolve_legacy_python(),
    )


def global_id(type_name: str, pk: int) -> str:
    """issuegraph's Relay ID (schema/ids.py): base64 of ``Type:pk``."""
    return base64.b64encode(f"{type_name}:{pk}".encode()).decode()


def which(name: str) -> str | None:
    return shutil.which(name)


def cpu_count() -> int:
    return os.cpu_count() or 1


def cores() -> tuple[str, str]:
    """(server cores, load-generator cores) for taskset: 0 and 1 on a 2-core machine.

    ISSUEGRAPH_BENCH_SERVER_CPUS / ISSUEGRAPH_BENCH_LOAD_CPUS override (taskset -c lists).
    """
    n = cpu_count()
    server = os.environ.get("ISSUEGRAPH_BENCH_SERVER_CPUS") or "0"
    load = os.environ.get("ISSUEGRAPH_BENCH_LOAD_CPUS") or ("1" if n > 1 else "0")
    return server, load
