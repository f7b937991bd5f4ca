"""The served schema contains the contract, name for name and type for type."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import build_schema

from app.graphql.schema import schema
from tests.support.contract import missing_from

CONTRACT = Path(__file__).resolve().parents[1] / "docs" / "contract.graphql"
SNAPSHOT = Path(__file__).resolve().parents[1] / "schema" / "schema.graphql"

# Contract elements not served yet. It may only shrink: the test fails if anything else is
# missing or if a listed element appears. The jobs issue emptied it.
NOT_YET_SERVED: set[str] = set()


@pytest.fixture(scope="module")
def contract_sdl() -> str:
    if not CONTRACT.exists():
        pytest.fail(f"the contract is missing: {CONTRACT}")
    return CONTRACT.read_text()


def test_served_schema_contains_the_contract(contract_sdl: str) -> None:
    missing = missing_from(build_schema(contract_sdl), build_schema(schema.as_str()))
    assert missing - NOT_YET_SERVED == set(), "missing or changed from the contract"
    assert NOT_YET_SERVED - missing == set(), "served now: remove these from NOT_YET_SERVED"


def test_comparison_catches_a_changed_field(contract_sdl: str) -> None:
    """The checker itself must fail on a drift, or the test above proves nothing."""
    changed = contract_sdl.replace("number: Int!", "number: Int", 1).replace(
        "enum Role { OWNER MEMBER VIEWER }", "enum Role { OWNER MEMBER }"
    )
    missing = missing_from(build_schema(contract_sdl), build_schema(changed))
    assert "field Issue.number: Int!" in missing
    assert "enum value Role.VIEWER" in missing


def test_committed_sdl_snapshot_is_current() -> None:
    assert SNAPSHOT.read_text() == schema.as_str() + "\n", (
        "schema/schema.graphql is stale: run `issuegraph export-schema > schema/schema.graphql`"
    )
