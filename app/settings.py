"""Settings from the environment (prefix ``ISSUEGRAPH_``), read once per process."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def to_async_database_url(url: str) -> str:
    """Add the asyncpg driver to a plain ``postgresql://`` URL (DESIGN: Running)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    return url


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ISSUEGRAPH_", extra="ignore")

    database_url: str | None = None
    redis_url: str | None = None
    # Where `issuegraph dev` keeps the embedded servers and the file recording their URLs.
    data_dir: Path = Path(".issuegraph")

    db_pool_size: int = 10
    db_max_overflow: int = 10
    # Pool connections one request may hold at once (dataloader batches run concurrently).
    request_max_connections: int = 2

    default_page_size: int = 20
    max_page_size: int = 100

    log_level: str = "INFO"
    # "json", "console" or "auto" (console on a terminal, JSON otherwise).
    log_format: str = "auto"

    graphiql: bool = True
    host: str = "127.0.0.1"
    port: int = 8000

    @field_validator("database_url")
    @classmethod
    def _add_driver(cls, value: str | None) -> str | None:
        return to_async_database_url(value) if value else value

    dev_demo_email: str = Field(default="demo@example.com")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
