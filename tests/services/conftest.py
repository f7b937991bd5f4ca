"""Service-level tests: the services called directly, with a real ``AsyncSession`` on the test
database and a ``Viewer`` built by hand (tests/support/domain.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.support.domain import Tenants, build_tenants


@pytest.fixture
async def session(
    session_factory: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """One session for the test; what it does not commit is rolled back at the end."""
    async with session_factory() as session:
        yield session


@pytest.fixture
async def tenants(session: AsyncSession) -> Tenants:
    return await build_tenants(session)
