"""What every object type shares: the ``Node`` interface, building objects from read rows
without their dataclass ``__init__`` (and written objects as rows), the enum members rows name,
and ``deferred``."""

from __future__ import annotations

import enum
from collections.abc import Awaitable
from typing import Any, ClassVar, Self, TypeVar, cast

import strawberry

from schema.ids import to_global_id
from services import types as domain
from services.types import Row

T = TypeVar("T")
E = TypeVar("E", bound=enum.Enum)


def deferred(awaitable: Awaitable[T]) -> T:
    """Let a sync resolver answer later: graphql-core awaits an awaitable it returns.

    Fields whose data was prefetched answer synchronously (no coroutine, no gather); the same
    field falls back to its dataloader otherwise. Typed as its result for the annotation.
    """
    return cast(T, awaitable)


def built(cls: type[T], fields: dict[str, Any]) -> T:
    """An object of ``cls`` with these field values, without its dataclass ``__init__``.

    Objects read from rows are made by the hundred per request (a W1 page: 50 issues, 250
    comments); ``__init__`` costs a keyword argument per field and a descriptor call per
    relation default. ``fields`` must name every field without a default.
    """
    obj = object.__new__(cls)
    obj.__dict__.update(fields)
    return obj


def node_fields(
    type_name: str, row: Row, columns: tuple[str, ...], prefix: str = ""
) -> dict[str, Any]:
    """A node's fields read from ``row``: each of ``columns`` under its own name, ``pk`` the
    row's ``id`` and ``id`` its global ID. ``prefix``: the columns come joined to another
    row's, named ``<prefix><column>``.

    A loop into the dict, not a comprehension: on Python 3.11 that is a function call of its
    own, and a W1 page builds ~300 objects through here (50 issues, 250 comments).
    """
    pk = row[prefix + "id"]
    fields = {"id": to_global_id(type_name, pk), "pk": pk}
    if prefix:
        for column in columns:
            fields[column] = row[prefix + column]
    else:
        for column in columns:
            fields[column] = row[column]
    return fields


def model_row(model: object, *columns: str) -> dict[str, Any]:
    """A written ORM object's ``columns`` as the row a read would give, so that a type's
    ``from_model`` (a mutation's payload) goes through its ``from_row``: one field mapping."""
    return {column: getattr(model, column) for column in columns}


class FromColumns:
    """A node type whose fields are the read row's columns of the same name, ``COLUMNS``,
    besides ``id`` (its ``pk``, and the global ``id`` under the class's name)."""

    COLUMNS: ClassVar[tuple[str, ...]]

    @classmethod
    def from_row(cls, row: Row, prefix: str = "") -> Self:
        """``prefix``: where the columns come joined to another row's."""
        return built(cls, node_fields(cls.__name__, row, cls.COLUMNS, prefix))

    @classmethod
    def from_model(cls, model: object) -> Self:
        """A written ORM object (a mutation's payload), through the same mapping."""
        return cls.from_row(model_row(model, "id", *cls.COLUMNS))


# Read rows carry enums as their database labels; these give the members.
def members(enum_cls: type[E]) -> dict[str, E]:
    return {member.value: member for member in enum_cls}


ROLE = members(domain.Role)
STATUS = members(domain.IssueStatus)
PRIORITY = members(domain.IssuePriority)
JOB_KIND = members(domain.JobKind)
JOB_STATUS = members(domain.JobStatus)


@strawberry.interface(
    description="Relay global object identification: every ID is opaque and resolvable "
    "through Query.node."
)
class Node:
    id: strawberry.ID
