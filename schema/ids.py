"""Relay global IDs: opaque base64 of ``Type:pk``, resolvable through ``Query.node``."""

from __future__ import annotations

import base64
import binascii

import strawberry


def to_global_id(type_name: str, pk: int) -> strawberry.ID:
    # Hundreds per page, so: binascii directly (base64.b64encode is a Python wrapper around
    # it), and no strawberry.ID(...) call (a NewType: a Python call that returns its argument,
    # a third of this function's time).
    global_id: strawberry.ID = binascii.b2a_base64(  # type: ignore[assignment]
        f"{type_name}:{pk}".encode(), newline=False
    ).decode()
    return global_id


def from_global_id(global_id: str) -> tuple[str, int] | None:
    """``(type name, pk)``, or None for anything that is not one of our IDs' shape. Whether
    the type is one ``Query.node`` resolves is ``schema.entities.NODE_TYPES``' to say."""
    try:
        decoded = base64.b64decode(global_id.encode(), validate=True).decode()
        type_name, _, raw_pk = decoded.partition(":")
        pk = int(raw_pk)
    except (binascii.Error, UnicodeError, ValueError):
        return None
    if not type_name or pk <= 0 or raw_pk != str(pk) or pk >= 2**63:
        return None
    return type_name, pk


def pk_of(global_id: str, type_name: str) -> int | None:
    """The primary key if ``global_id`` names an object of ``type_name``, else None."""
    parsed = from_global_id(global_id)
    if parsed is None or parsed[0] != type_name:
        return None
    return parsed[1]
