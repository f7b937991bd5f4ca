"""The world most mutation tests start from (tests/support/world.py: ``World``)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.world import World, build_world


@pytest.fixture
async def world(gql: Any, make_person: Any, engine: AsyncEngine) -> World:
    return await build_world(gql, make_person, engine)
