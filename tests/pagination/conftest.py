"""The dataset the issue-list walks run over (tests/support/datasets.py)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.client import GraphQLClient
from tests.support.datasets import Dataset, SessionFactory, build_dataset


@pytest.fixture
async def dataset(gql: GraphQLClient, make_person: Any, session_factory: SessionFactory) -> Dataset:
    return await build_dataset(gql, make_person, session_factory)
