"""SQL statements per request, as PostgreSQL itself logged them.

The harness sets ``log_statement = 'all'`` on the bench database only (ALTER DATABASE; new
connections pick it up, so servers are started after it), marks the end of the server log,
sends exactly one request, waits a moment and reads what was appended. Only entries of the
bench database count (the log line prefix must carry ``%d``, Debian's default
``%m [%p] %q%u@%d `` does).

Counted ("data statements"): SELECT, INSERT, UPDATE, DELETE (also WITH ... and the statement of
an extended-protocol ``execute <name>:`` line), which is also where the authentication lookup
lands. Not counted, but kept in the raw figures: transaction control (BEGIN, COMMIT,
ROLLBACK, SAVEPOINT, ...), SET/SHOW/RESET/DISCARD/DEALLOCATE, and SELECTs that read no table
(a driver's ``SELECT 1`` ping, ``select pg_catalog.version()``, ``set_config(...)``) or only
the system catalogs (a driver's type introspection).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.common import BenchError

DATA_KEYWORDS = ("select", "insert", "update", "delete", "with")
_ENTRY_START = re.compile(rb"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")
_STATEMENT = re.compile(r"\sLOG:\s+(?:statement|execute [^:]*):\s(?P<sql>.*)\Z", re.DOTALL)
_FROM_TABLE = re.compile(r"\b(from|join|into|update)\s+(?P<table>[\w.\"]+)", re.IGNORECASE)


def find_log_file(info: dict[str, Any]) -> Path | None:
    """The PostgreSQL server log: override, pg_current_logfile(), or Debian's default path."""
    override = os.environ.get("ISSUEGRAPH_BENCH_PG_LOG")
    if override:
        return Path(override)
    current = info.get("current_logfile")
    if current:
        path = Path(current)
        if not path.is_absolute() and info.get("data_directory"):
            path = Path(info["data_directory"]) / path
        return path
    cluster = info.get("cluster_name") or ""  # "15/main" on Debian
    if "/" in cluster:
        version, name = cluster.split("/", 1)
        return Path(f"/var/log/postgresql/postgresql-{version}-{name}.log")
    version = str(info.get("server_version") or "").split(".")[0]
    if version:
        return Path(f"/var/log/postgresql/postgresql-{version}-main.log")
    return None


def classify(sql: str) -> str:
    """'data', 'control' (transaction/session), 'no-table' or 'catalog'."""
    text = re.sub(r"/\*.*?\*/", " ", sql, flags=re.DOTALL).strip().lstrip("(").strip()
    keyword = text.split(None, 1)[0].lower().rstrip(";") if text else ""
    if keyword not in DATA_KEYWORDS:
        return "control"
    tables = [m.group("table").strip('"').lower() for m in _FROM_TABLE.finditer(text)]
    if keyword in ("select", "with") and not tables:
        return "no-table"
    if tables and all(t.startswith(("pg_catalog.", "pg_", "information_schema.")) for t in tables):
        return "catalog"
    return "data"


@dataclass
class Capture:
    statements: list[dict[str, str]] = field(default_factory=list)

    @property
    def data(self) -> list[str]:
        return [s["sql"] for s in self.statements if s["kind"] == "data"]

    def summary(self) -> dict[str, Any]:
        kinds: dict[str, int] = {}
        for s in self.statements:
            kinds[s["kind"]] = kinds.get(s["kind"], 0) + 1
        return {
            "data_statements": len(self.data),
            "by_kind": kinds,
            "statements": self.statements,
        }


class StatementLog:
    def __init__(self, path: Path, database: str, line_prefix: str | None) -> None:
        self.path = path
        self.database = database
        if line_prefix is not None and "%d" not in line_prefix:
            raise BenchError(
                f"log_line_prefix {line_prefix!r} has no %d: statements of the bench database "
                "cannot be told from others in the server log."
            )
        try:
            with path.open("rb") as handle:
                handle.seek(0, os.SEEK_END)
        except OSError as error:
            raise BenchError(f"Cannot read the PostgreSQL log {path}: {error}") from error
        self._db_marker = f"@{database} ".encode()

    def position(self) -> int:
        return self.path.stat().st_size

    def read(self, start: int, end: int) -> list[bytes]:
        with self.path.open("rb") as handle:
            if self.path.stat().st_size < start:  # rotated: read from the beginning
                start = 0
            handle.seek(start)
            chunk = handle.read(max(0, end - start))
        entries: list[bytes] = []
        for line in chunk.splitlines():
            if _ENTRY_START.match(line) or not entries:
                entries.append(line)
            else:
                entries[-1] += b"\n" + line
        return entries

    def capture(self, request: Callable[[], Any], settle: float = 0.3) -> tuple[Any, Capture]:
        """Run ``request`` once; return its result and the statements it made."""
        time.sleep(settle)
        start = self.position()
        result = request()
        time.sleep(settle)
        end = self.position()
        capture = Capture()
        for entry in self.read(start, end):
            prefix, sep, _ = entry.partition(b": ")
            if not sep or self._db_marker not in prefix + b" ":
                continue
            text = entry.decode("utf-8", "replace")
            match = _STATEMENT.search(text)
            if not match:
                continue
            sql = match.group("sql").strip()
            capture.statements.append({"kind": classify(sql), "sql": sql})
        return result, capture
