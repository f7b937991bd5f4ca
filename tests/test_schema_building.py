"""The helpers the schema's types are declared with: ``schema.connections.paged`` (a
connection field's page arguments) and ``schema.types.base.FromColumns`` (rows into objects).

Each is checked on a schema of its own, so that a strawberry upgrade that stopped reading a
resolver's ``__signature__`` fails here by name, not only as a changed SDL snapshot."""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

import strawberry

from resolvers.paging import PagingPolicy
from schema.connections import paged
from schema.ids import from_global_id
from schema.types.base import FromColumns, Node
from services.pagination import PageArgs


@dataclass
class _Context:
    """What ``paged`` asks of the request: its paging policy."""

    policy: PagingPolicy

    def page_args(
        self, first: int | None, after: str | None, last: int | None, before: str | None
    ) -> PageArgs:
        return self.policy.page_args(first, after, last, before)


@strawberry.type
class _Shelf:
    @strawberry.field
    @paged
    def books(self, info: strawberry.Info, args: PageArgs, genre: str | None = None) -> str:
        return f"{args.first}/{args.after}/{args.last}/{args.before}/{genre}"

    @strawberry.field
    @paged
    async def later(self, info: strawberry.Info, args: PageArgs) -> str:
        return f"{args.first}/{args.last}"


@strawberry.type
class _Query:
    @strawberry.field
    def shelf(self) -> _Shelf:
        return _Shelf()


_schema = strawberry.Schema(query=_Query)


def test_a_paged_field_takes_relays_page_arguments_ahead_of_its_own() -> None:
    sdl = _schema.as_str()
    assert (
        "books(first: Int = null, after: String = null, last: Int = null, "
        "before: String = null, genre: String = null): String!"
    ) in sdl
    assert "later(first: Int = null, after: String = null, last: Int = null" in sdl


def test_paged_keeps_whether_the_resolver_is_a_coroutine_function() -> None:
    """Strawberry and the compiled executor both ask: an async field's argument errors
    surface when it is awaited, after its siblings ran."""

    def now(self: object, info: object, args: PageArgs) -> str:
        return ""

    async def later(self: object, info: object, args: PageArgs) -> str:
        return ""

    assert not inspect.iscoroutinefunction(paged(now))
    assert inspect.iscoroutinefunction(paged(later))
    assert paged(later).__name__ == "later"


async def test_the_resolver_gets_one_checked_page_args_and_its_own_arguments() -> None:
    context = _Context(PagingPolicy(default_page_size=20, max_page_size=50))
    result = await _schema.execute(
        '{ shelf { books(last: 5, before: "x", genre: "sf") later } }', context_value=context
    )
    assert result.errors is None
    assert result.data == {"shelf": {"books": "None/None/5/x/sf", "later": "20/None"}}


async def test_an_out_of_range_page_size_is_the_policys_bad_user_input() -> None:
    context = _Context(PagingPolicy(default_page_size=20, max_page_size=50))
    result = await _schema.execute("{ shelf { books(first: 51) } }", context_value=context)
    assert result.errors is not None
    [error] = result.errors
    assert error.extensions == {"code": "BAD_USER_INPUT"}
    assert "between 0 and 50" in error.message


@strawberry.type
class _Planet(Node, FromColumns):
    COLUMNS = ("name", "moons")
    name: str
    moons: int
    pk: strawberry.Private[int]


@dataclass
class _WrittenPlanet:
    """A written ORM object's stand-in: ``from_model`` reads its attributes."""

    id: int
    name: str
    moons: int


def test_from_columns_reads_a_row_a_joined_row_and_a_written_object_alike() -> None:
    plain = _Planet.from_row({"id": 7, "name": "Mars", "moons": 2})
    joined = _Planet.from_row(
        {"id": 1, "planet.id": 7, "planet.name": "Mars", "planet.moons": 2}, prefix="planet."
    )
    written = _Planet.from_model(_WrittenPlanet(id=7, name="Mars", moons=2))
    for planet in (plain, joined, written):
        fields: dict[str, Any] = vars(planet)
        assert fields == {"id": planet.id, "pk": 7, "name": "Mars", "moons": 2}
        assert from_global_id(planet.id) == ("_Planet", 7)
