"""Prometheus metrics (prometheus-client), multi-process safe.

With ``PROMETHEUS_MULTIPROC_DIR`` set (``issuegraph serve`` sets it), each process writes
its samples to files there and ``/metrics`` aggregates all of them, so `serve --workers N`
reports the whole server; without it, the default in-process registry is used.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)

# In multi-process mode every observation checks that the process has not forked since the
# metric was made, by asking for the pid: on CPython's Linux builds a ``getpid`` system call,
# about ten per request, 5% of a W2 request's CPU on this project's VM. The pid is kept here
# instead, and renewed in a forked child (prometheus-client's own hook for a process
# identifier); set before the metrics below are made, which read it when they are.
_pid = os.getpid()


def _renew_pid() -> None:
    global _pid
    _pid = os.getpid()


def _process_identifier() -> int:
    return _pid


os.register_at_fork(after_in_child=_renew_pid)
if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    values.ValueClass = values.MultiProcessValue(  # type: ignore[no-untyped-call]
        process_identifier=_process_identifier
    )

REQUEST_DURATION = Histogram(
    "issuegraph_request_duration_seconds",
    "GraphQL request duration by operation name and outcome.",
    ["operation", "outcome"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
GRAPHQL_ERRORS = Counter(
    "issuegraph_graphql_errors_total", "GraphQL errors returned, by code.", ["code"]
)
SQL_STATEMENTS = Histogram(
    "issuegraph_sql_statements_per_request",
    "SQL statements one HTTP request issued.",
    buckets=(0, 1, 2, 4, 6, 8, 12, 16, 32, 64),
)
LOADER_BATCH_SIZE = Histogram(
    "issuegraph_dataloader_batch_size",
    "Keys per dataloader batch, by loader.",
    ["loader"],
    buckets=(1, 2, 5, 10, 20, 50, 100, 250, 500, 1000),
)
PERSISTED_QUERIES = Counter(
    "issuegraph_persisted_queries_total",
    "Persisted-query lookups by hash: hit (APQ store), trusted (registered document), miss "
    "(PersistedQueryNotFound), registered (a client sent the document), refused (not trusted).",
    ["outcome"],
)
JOBS_STARTED = Counter("issuegraph_jobs_started_total", "Job runs started, by kind.", ["kind"])
JOBS_FINISHED = Counter(
    "issuegraph_jobs_finished_total", "Job runs finished, by kind and outcome.", ["kind", "status"]
)
JOB_DURATION = Histogram(
    "issuegraph_job_duration_seconds",
    "Job run duration, by kind.",
    ["kind"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 600),
)
QUEUE_DEPTH = Gauge(
    "issuegraph_job_queue_depth",
    "Jobs waiting (QUEUED), read from PostgreSQL at scrape time.",
    multiprocess_mode="mostrecent",
)
DB_POOL_IN_USE = Gauge(
    "issuegraph_db_pool_connections_in_use",
    "Database connections checked out of the pool.",
    multiprocess_mode="livesum",
)

REQUESTS_SHED = Counter(
    "issuegraph_requests_shed_total",
    "GraphQL requests refused with 503 OVERLOADED by admission control, by reason "
    "(queue_full: too many waiting; wait_timeout: no slot within ADMISSION_WAIT_SECONDS).",
    ["reason"],
)
DEADLINES_EXCEEDED = Counter(
    "issuegraph_request_deadlines_exceeded_total",
    "GraphQL requests stopped at REQUEST_DEADLINE_SECONDS (503 DEADLINE_EXCEEDED).",
)
GRAPHQL_EXECUTIONS = Counter(
    "issuegraph_graphql_executions_total",
    "Operations executed, by executor (compiled plans or graphql-core) and fallback reason.",
    ["executor", "reason"],
)


class ExecutionMetrics:
    """The compiled engine's observer (``execution.ExecutionObserver``): one count per operation."""

    def planned(self) -> None:
        GRAPHQL_EXECUTIONS.labels("compiled", "").inc()

    def fell_back(self, reason: str) -> None:
        GRAPHQL_EXECUTIONS.labels("graphql-core", reason).inc()


def render() -> tuple[bytes, str]:
    """The exposition text for ``/metrics`` (all processes in multi-process mode)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST
