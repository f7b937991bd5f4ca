"""What a list is made of: its table's columns, parent, tenancy, joined rows and filters."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import BigInteger, ColumnElement, FromClause, Select, bindparam, select
from sqlalchemy.dialects.postgresql import ARRAY


class Filters(Protocol):
    """Conditions of a list beyond its parent and tenancy (an issue filter, a job status).

    ``shape`` tells which conditions there are (it keys the compiled statement);
    ``conditions`` builds them with bind parameters (once per shape); ``values`` fills them.
    """

    @property
    def shape(self) -> Hashable: ...

    def conditions(self) -> list[ColumnElement[bool]]: ...

    def values(self) -> dict[str, Any]: ...


class NoFilters:
    shape: Hashable = ()

    def conditions(self) -> list[ColumnElement[bool]]:
        return []

    def values(self) -> dict[str, Any]:
        return {}


NO_FILTERS: Filters = NoFilters()


@dataclass(frozen=True)
class Joined:
    """A row of another table joined to each listed row (``LEFT JOIN`` on a foreign key), its
    columns labelled with ``prefix`` (``reporter.name``): a related object read with its rows
    instead of by a statement of its own."""

    table: FromClause  # an alias, so one table can be joined twice
    on: ColumnElement[bool]
    columns: tuple[ColumnElement[Any], ...]


@dataclass(frozen=True)
class Listing:
    """A list of rows of one table: what a page selects, its parent and its tenancy column.

    With ``tenant`` set, every statement is scoped to ``:workspaces`` (the viewer's).
    ``joined`` rows come with every row (their statements may need more parameters).
    """

    name: str
    columns: tuple[ColumnElement[Any], ...]
    parent: ColumnElement[Any] | None = None
    tenant: ColumnElement[Any] | None = None
    joined: tuple[Joined, ...] = ()

    def select(self, *extra: ColumnElement[Any]) -> Select[Any]:
        """``SELECT`` the listing's columns, its joined rows' and ``extra`` from its table."""
        source: FromClause = self.columns[0].table
        for joined in self.joined:
            source = source.outerjoin(joined.table, joined.on)
        joined_columns = (c for joined in self.joined for c in joined.columns)
        return select(*self.columns, *joined_columns, *extra).select_from(source)

    @property
    def names(self) -> list[str]:
        """The names of the selected columns, joined rows' included."""
        return [c.name for c in self.columns] + [
            c.name for joined in self.joined for c in joined.columns
        ]


def ids_param(name: str) -> Any:
    """A list of ids as one array parameter (``= ANY(:name)``): one statement for any size."""
    return bindparam(name, type_=ARRAY(BigInteger))
