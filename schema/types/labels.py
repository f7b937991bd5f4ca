"""Labels."""

from __future__ import annotations

import strawberry

from schema.ids import to_global_id
from schema.types.base import Node, built
from services import types as domain
from services.types import Row


@strawberry.type
class Label(Node):
    name: str
    color: str = strawberry.field(description="Hex colour, e.g. #d73a4a.")
    pk: strawberry.Private[int]
    workspace_id: strawberry.Private[int]

    @classmethod
    def from_model(cls, label: domain.Label) -> Label:
        return cls(
            id=to_global_id("Label", label.id),
            name=label.name,
            color=label.color,
            pk=label.id,
            workspace_id=label.workspace_id,
        )

    @classmethod
    def from_row(cls, row: Row) -> Label:
        pk = row["id"]
        return built(
            cls,
            {
                "id": to_global_id("Label", pk),
                "name": row["name"],
                "color": row["color"],
                "pk": pk,
                "workspace_id": row["workspace_id"],
            },
        )
