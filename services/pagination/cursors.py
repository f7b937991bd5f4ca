"""Page arguments, orderings and their cursors (base64url JSON of the sort values).

A cursor carries its ordering's name, so a cursor from one list or ordering is refused by
another, and its values are decoded back to the column types, range checked.
"""

from __future__ import annotations

import base64
import binascii
import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

import orjson
from sqlalchemy import Column, ColumnElement

from services.errors import Invalid

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class PageArgs:
    first: int | None = None
    after: str | None = None
    last: int | None = None
    before: str | None = None

    @classmethod
    def checked(
        cls,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        *,
        default_size: int = DEFAULT_PAGE_SIZE,
        max_size: int = MAX_PAGE_SIZE,
    ) -> PageArgs:
        """Default 20 when neither is given, 0..100 otherwise.

        The paging rule of docs/architecture.md (domain rules).
        """
        for arg_name, value in (("first", first), ("last", last)):
            if value is not None and not 0 <= value <= max_size:
                raise Invalid(
                    f"`{arg_name}` must be between 0 and {max_size}; got {value}.", [arg_name]
                )
        if first is None and last is None:
            first = default_size
        return cls(first=first, after=after, last=last, before=before)

    @property
    def backward(self) -> bool:
        return self.first is None and self.last is not None


@dataclass(frozen=True)
class SortKey:
    """An ordering: expressions sorted in one direction, ending in a unique column.

    ``name`` goes into every cursor so a cursor from one ordering is refused by another.
    ``decoders`` turn a cursor's JSON values back into the column types.
    """

    name: str
    expressions: tuple[ColumnElement[Any], ...]
    decoders: tuple[Callable[[Any], Any], ...]
    descending: bool

    def order_by(self, reverse: bool = False) -> list[ColumnElement[Any]]:
        descending = self.descending != reverse
        return [e.desc() if descending else e.asc() for e in self.expressions]

    @cached_property
    def key_names(self) -> tuple[str, ...]:
        """The names the sort values carry in a page's rows (its cursors are made of them): a
        table column's own name (a page selects its listing's columns: no second copy of each
        value to send and decode), a label ``_k<i>`` for any other expression."""
        return tuple(
            e.name if isinstance(e, Column) else f"_k{i}" for i, e in enumerate(self.expressions)
        )


def decode_datetime(value: Any) -> datetime:
    if not isinstance(value, str):
        raise TypeError("expected a timestamp")
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError("expected a timestamp with a time zone")
    return parsed.astimezone(UTC)  # OverflowError past year 9999 in UTC: refused by the caller


def _decode_int(bits: int) -> Callable[[Any], int]:
    """An integer that fits the column: a crafted cursor must not overflow the query."""
    limit = 2 ** (bits - 1)

    def decode(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not -limit <= value < limit:
            raise ValueError(f"expected an int{bits}")
        return value

    return decode


decode_int = _decode_int(32)
decode_bigint = _decode_int(64)


def decode_str(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("expected a string")
    return value


def decode_float(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError("expected a number")
    return float(value)


def decode_enum(enum_cls: type[enum.Enum]) -> Callable[[Any], enum.Enum]:
    return lambda value: enum_cls(value)


def _encode_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    return value


def encode_cursor(sort: SortKey, values: Iterable[Any]) -> str:
    raw = orjson.dumps([sort.name, *(_encode_value(v) for v in values)])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(sort: SortKey, cursor: str, arg_name: str) -> tuple[Any, ...]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        payload = orjson.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(payload, list) or payload[0] != sort.name:
            raise ValueError("cursor from another list or ordering")
        values = payload[1:]
        if len(values) != len(sort.decoders):
            raise ValueError("wrong number of values")
        return tuple(decode(v) for decode, v in zip(sort.decoders, values, strict=True))
    except (
        ValueError,
        TypeError,
        IndexError,
        KeyError,
        OverflowError,
        binascii.Error,
        orjson.JSONDecodeError,
    ):
        raise Invalid(
            f"`{arg_name}` is not a valid cursor for this list and ordering.", [arg_name]
        ) from None
