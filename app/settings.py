"""Settings from the environment (prefix ``ISSUEGRAPH_``), read once per process."""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.job_kind import ExportSettings, ImportSettings


def to_async_database_url(url: str) -> str:
    """Add the asyncpg driver to a plain ``postgresql://`` URL (docs/operations.md)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    return url


def _required(value: str | None, name: str) -> str:
    if not value:
        raise RuntimeError(f"ISSUEGRAPH_{name} is not set (or run `issuegraph dev`).")
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ISSUEGRAPH_", extra="ignore")

    database_url: str | None = None
    redis_url: str | None = None
    # Where `issuegraph dev` keeps the embedded servers and the file recording their URLs.
    data_dir: Path = Path(".issuegraph")

    db_pool_size: int = 10
    db_max_overflow: int = 10
    # Bounded waits, so PostgreSQL down or the pool exhausted is a quick 503, not a 30 s hang:
    # for a pooled connection, for a new connection, and (API processes) for any statement.
    db_pool_timeout_seconds: float = 2.0
    db_connect_timeout_seconds: float = 2.0
    db_statement_timeout_ms: int = 5_000
    # The most one GraphQL request over HTTP may take, its wait for a slot excluded; past it the
    # client gets 503 DEADLINE_EXCEEDED.
    request_deadline_seconds: float = 10.0
    # Pool connections one request may hold at once (dataloader batches run concurrently).
    request_max_connections: int = 2

    # Admission control (app/policy/admission.py): GraphQL requests running at once per process, how
    # many more may wait for a slot, and for how long; past that, 503 OVERLOADED. The waiting
    # line bounds the wait (64 waiters: ~1 s at W1's rate); the timeout is a backstop.
    max_requests_in_flight: int = 8
    max_requests_waiting: int = 64
    admission_wait_seconds: float = 5.0

    default_page_size: int = 20
    max_page_size: int = 100

    # The API process's garbage collector (app/gc_tuning.py): what start-up built is frozen out of
    # collections, and the youngest generation collects every N net allocations (CPython: 700).
    gc_freeze: bool = True
    gc_threshold: tuple[int, int, int] = (20_000, 20, 20)

    log_level: str = "INFO"
    # Requests slower than this are logged as warnings (`http.slow_request`).
    slow_request_ms: int = 500
    # Serve the worker's Prometheus metrics on this port (none by default).
    worker_metrics_port: int | None = None
    # "json", "console" or "auto" (console on a terminal, JSON otherwise).
    log_format: str = "auto"

    # Background jobs (arq worker and the job mutations).
    queue_name: str = "issuegraph:queue"
    job_max_active_per_workspace: int = 10
    job_max_attempts: int = 3
    job_timeout_seconds: float = 600.0
    job_heartbeat_seconds: float = 5.0
    # A RUNNING job whose heartbeat is older than this is taken as lost and retried.
    job_stale_after_seconds: float = 30.0
    # How often the sweeper re-enqueues lost jobs (a divisor of 60, it runs as an arq cron).
    job_sweep_interval_seconds: int = 10
    job_retry_backoff_seconds: float = 1.0
    job_retention_days: int = 30
    idempotency_window_hours: int = 24
    worker_max_jobs: int = 10
    worker_poll_delay_seconds: float = 0.1
    # On SIGTERM: how long a worker lets running jobs finish, and the API in-flight requests.
    worker_shutdown_grace_seconds: int = 20
    api_shutdown_grace_seconds: int = 20
    import_max_bytes: int = 10 * 1024 * 1024
    import_batch_size: int = 500
    import_create_unknown_labels: bool = False
    export_ttl_hours: int = 24
    export_chunk_bytes: int = 256 * 1024
    # Triage: "local" (offline heuristic) or "openai" (any OpenAI-compatible endpoint).
    triage_provider: str = "local"
    openai_base_url: str = "https://api.openai.com/v1"
    openai_api_key: str | None = None
    openai_model: str = "gpt-4o-mini"
    openai_timeout_seconds: float = 20.0
    openai_max_retries: int = 2

    # Hardening (docs/security.md): every limit is on by default.
    max_query_depth: int = 15
    max_aliases: int = 30
    max_tokens: int = 5_000
    max_body_bytes: int = 12 * 1024 * 1024
    max_batch_operations: int = 10
    max_input_list: int = 100
    max_search_length: int = 200
    # Nodes a query may return at most, estimated before execution.
    max_query_cost: int = 50_000
    rate_limit_enabled: bool = True
    rate_limit_points_per_hour: int = 5_000
    max_subscriptions_per_connection: int = 10
    cors_origins: list[str] = Field(default_factory=list)
    introspection: bool = True
    # Persisted queries and trusted documents (app/graphql/persisted.py, docs/security.md).
    # Automatic persisted queries (Apollo's protocol): documents registered by clients, kept
    # in Redis for this long after their last registration.
    apq_enabled: bool = True
    apq_ttl_seconds: int = 7 * 24 * 3600
    # Accept only documents registered with `issuegraph documents register` (PostgreSQL).
    trusted_documents_only: bool = False
    # Cache-Control of successful GET query answers: `public, max-age=N` for answers that need
    # no token (meta fields only), `private, max-age=N` for a viewer's (0: `private, no-cache`).
    http_cache_public_max_age_seconds: int = 300
    http_cache_private_max_age_seconds: int = 0
    graphiql: bool = True
    host: str = "127.0.0.1"
    port: int = 8000

    # How operations execute (docs/performance.md): "compiled" plans with graphql-core for what
    # they do not cover, or "graphql-core" only.
    execution_engine: Literal["compiled", "graphql-core"] = "compiled"

    @field_validator("database_url")
    @classmethod
    def _add_driver(cls, value: str | None) -> str | None:
        return to_async_database_url(value) if value else value

    dev_demo_email: str = Field(default="demo@example.com")

    def require_database_url(self) -> str:
        """``database_url``, which the API and the worker cannot run without."""
        return _required(self.database_url, "DATABASE_URL")

    def require_redis_url(self) -> str:
        """``redis_url``, which the API and the worker cannot run without."""
        return _required(self.redis_url, "REDIS_URL")

    def import_settings(self) -> ImportSettings:
        """How the worker runs imports (``import_max_bytes`` is a start limit: ``JobLimits``)."""
        return ImportSettings(
            batch_size=self.import_batch_size,
            create_unknown_labels=self.import_create_unknown_labels,
        )

    def export_settings(self) -> ExportSettings:
        return ExportSettings(
            chunk_bytes=self.export_chunk_bytes, ttl=timedelta(hours=self.export_ttl_hours)
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
