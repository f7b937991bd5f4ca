"""Labels."""

from __future__ import annotations

from collections.abc import Callable

import strawberry

from schema.types.base import FromColumns, Node
from services.types import Row


@strawberry.type
class Label(Node, FromColumns):
    COLUMNS = ("name", "color", "workspace_id")
    name: str
    color: str = strawberry.field(description="Hex colour, e.g. #d73a4a.")
    pk: strawberry.Private[int]
    workspace_id: strawberry.Private[int]


def label_builder() -> Callable[[Row], Label]:
    """``Label.from_row`` that builds one object per label, however many issues of a batch
    carry it (a 50-issue page names a workspace's few labels ~150 times)."""
    built_labels: dict[int, Label] = {}

    def label_of(row: Row) -> Label:
        label = built_labels.get(row["id"])
        if label is None:
            label = built_labels[row["id"]] = Label.from_row(row)
        return label

    return label_of
