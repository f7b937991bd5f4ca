"""An issue's AI triage result."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

import strawberry
from aiodataloader import DataLoader
from strawberry.types import Info

from schema.context import RequestContext
from schema.types.base import PRIORITY
from schema.types.labels import Label
from services import types as domain
from services.types import Row


class LabelLoaders(Protocol):
    """The loaders the types of this module read."""

    @property
    def label(self) -> DataLoader[int, Label | None]: ...


ContextInfo = Info[RequestContext[LabelLoaders], None]


@strawberry.type
class IssueInsight:
    summary: str
    suggested_priority: domain.IssuePriority
    model: str = strawberry.field(
        description="Which provider and model produced it, e.g. local-heuristic or "
        "openai:gpt-4o-mini."
    )
    created_at: datetime
    suggested_label_ids: strawberry.Private[list[int]]

    @classmethod
    def from_row(cls, row: Row) -> IssueInsight:
        return cls(
            summary=row["summary"],
            suggested_priority=PRIORITY[row["suggested_priority"]],
            model=row["model"],
            created_at=row["created_at"],
            suggested_label_ids=list(row["suggested_label_ids"]),
        )

    @strawberry.field
    async def suggested_labels(self, info: ContextInfo) -> list[Label]:
        labels = await info.context.loaders.label.load_many(self.suggested_label_ids)
        return [label for label in labels if label is not None]  # deleted since: left out
