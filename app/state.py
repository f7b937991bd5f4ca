"""What the API process keeps for its lifetime, on ``app.state.issuegraph``."""

from __future__ import annotations

from dataclasses import dataclass

from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.graphql.persisted import DocumentStore
from app.policy.rate_limit import RateLimiter
from app.settings import Settings
from resolvers.context import JobWiring


@dataclass
class AppState:
    """Everything that lives as long as the process; created in ``lifespan``."""

    settings: Settings
    engine: AsyncEngine
    session_factory: async_sessionmaker[AsyncSession]
    redis: ArqRedis
    jobs: JobWiring
    rate_limiter: RateLimiter | None
    documents: DocumentStore
