"""What every request of a process shares, built once (``app/main.py``) and handed to each
request's ``Context``: the session factory for units of work, the argument limits, the
loaders' hooks, the job side and any replaced services."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from resolvers.job_wiring import JobWiring
from resolvers.loaders import LoaderHooks
from resolvers.paging import PagingPolicy
from resolvers.services import ServiceOverrides


# Not frozen: built for each request from parts built once (a frozen init costs more).
@dataclass(slots=True)
class ContextWiring:
    session_factory: async_sessionmaker[AsyncSession]
    paging: PagingPolicy = field(default_factory=PagingPolicy)
    loader_hooks: LoaderHooks = field(default_factory=LoaderHooks)
    # None where no job is started (the benchmarks' executor).
    jobs: JobWiring | None = None
    # Service classes replaced by factories (tests), see resolvers/services.py.
    service_overrides: ServiceOverrides | None = None
