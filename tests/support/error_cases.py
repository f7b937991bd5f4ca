"""Mutations that must fail, checked to change nothing: the whole database (every table but
the tokens) is compared before and after each one."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.client import mutate_raw, result_key

_TABLES: dict[str, list[str]] = {}  # per database: its tables (the schema is fixed per session)


async def db_state(engine: AsyncEngine) -> dict[str, list[str]]:
    """Every row of every table (tokens aside), as sorted JSON texts, read in one statement."""
    async with engine.connect() as conn:
        key = str(engine.url)
        if key not in _TABLES:
            _TABLES[key] = list(
                (
                    await conn.execute(
                        text(
                            "SELECT tablename FROM pg_tables "
                            "WHERE schemaname = current_schema() "
                            "AND tablename NOT IN ('alembic_version', 'api_tokens')"
                        )
                    )
                ).scalars()
            )
        rows = (
            await conn.execute(
                text(
                    " UNION ALL ".join(
                        f"SELECT '{table}' AS t, row_to_json(x)::text AS r FROM \"{table}\" x"  # noqa: S608
                        for table in _TABLES[key]
                    )
                )
            )
        ).all()
    state: dict[str, list[str]] = {table: [] for table in _TABLES[key]}
    for table, row in rows:
        state[table].append(row)
    return {table: sorted(values) for table, values in state.items()}


def short(value: Any) -> Any:
    """An input as it reads in a failure message: long strings abbreviated."""
    if isinstance(value, dict):
        return {k: short(v) for k, v in value.items()}
    if isinstance(value, list):
        return [short(v) for v in value]
    if isinstance(value, str) and len(value) > 40:
        return f"<{len(value)} chars>"
    return value


class ErrorCases:
    """Mutations that must fail: each with exactly one user error of the expected code (at the
    expected field, when given), no object returned, and the database unchanged.

    Collects what is wrong instead of stopping at the first problem, so one test can check many
    cases and still report every one of them. Use it only for a run of failing mutations: the
    state after one case is the expected state before the next.
    """

    def __init__(self, gql: Any, engine: AsyncEngine) -> None:
        self.gql = gql
        self.engine = engine
        self.problems: list[str] = []
        self._state: dict[str, list[str]] | None = None

    async def expect(
        self,
        person: Any,
        mutation: str,
        input: dict[str, Any],
        code: str,
        field: list[str] | None = None,
        case: str = "",
    ) -> None:
        before = self._state if self._state is not None else await db_state(self.engine)
        body = await mutate_raw(self.gql, person, mutation, input)
        after = self._state = await db_state(self.engine)
        where = f"{mutation} {case} as {person.name} with {short(input)}".replace("  ", " ")
        if "errors" in body:
            self.problems.append(f"{where}: GraphQL errors {body['errors']}")
            return
        payload = body["data"][mutation]
        errors = payload["userErrors"]
        if payload[result_key(mutation)] is not None:
            self.problems.append(f"{where}: returned {payload[result_key(mutation)]} with {errors}")
        if [error["code"] for error in errors] != [code]:
            self.problems.append(f"{where}: expected one {code}, got {errors}")
        elif field is not None and errors[0]["field"] != field:
            self.problems.append(f"{where}: expected field {field}, got {errors}")
        elif not errors[0]["message"]:
            self.problems.append(f"{where}: empty message")
        changed = [table for table in after if after[table] != before.get(table)]
        if changed:
            self.problems.append(f"{where}: changed tables {changed}")

    def report(self) -> None:
        report(self.problems)


async def expect_error(
    gql: Any,
    engine: AsyncEngine,
    person: Any,
    mutation: str,
    input: dict[str, Any],
    code: str,
    field: list[str] | None = None,
    case: str = "",
) -> list[str]:
    """What is wrong (nothing: ``[]``) with one mutation that must fail (see ErrorCases)."""
    cases = ErrorCases(gql, engine)
    await cases.expect(person, mutation, input, code, field, case)
    return cases.problems


def report(problems: list[str]) -> None:
    assert not problems, "\n" + "\n".join(problems)
