"""A marker for "not given" in partial updates, distinct from an explicit ``None``."""

from __future__ import annotations

import enum
from typing import Final, TypeAlias, TypeVar

T = TypeVar("T")


class Unset(enum.Enum):
    UNSET = "UNSET"


UNSET: Final = Unset.UNSET

# A field of a partial update: a value, an explicit None, or not given at all.
Maybe: TypeAlias = T | Unset | None
