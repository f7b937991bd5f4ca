"""Background jobs."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

import orjson
import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from schema.context import RequestContext
from schema.ids import to_global_id
from schema.types.base import JOB_KIND, JOB_STATUS, Node
from schema.types.users import User, UserLoaders
from services import job_events
from services import types as domain
from services.types import Row

ContextInfo = Info[RequestContext[UserLoaders], None]


@strawberry.type
class Job(Node):
    kind: domain.JobKind
    status: domain.JobStatus
    progress: float = strawberry.field(description="From 0.0 to 1.0.")
    message: str | None = strawberry.field(
        description="A short human-readable line on what the job is doing or did."
    )
    error: str | None
    attempts: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    pk: strawberry.Private[int]
    workspace_id: strawberry.Private[int]
    created_by_id: strawberry.Private[int]
    raw_result: strawberry.Private[dict[str, Any] | None]

    @classmethod
    def from_model(cls, job: domain.Job) -> Job:
        return cls.from_row(job_events.snapshot(job))

    @classmethod
    def from_row(cls, row: Row) -> Job:
        """From ``JobReads``, or a job-change event's snapshot (``services.job_events``)."""
        pk = row["id"]
        result = row["result"]
        return cls(
            id=to_global_id("Job", pk),
            kind=JOB_KIND[row["kind"]],
            status=JOB_STATUS[row["status"]],
            progress=row["progress"],
            message=row["message"],
            error=row["error"],
            attempts=row["attempts"],
            created_at=row["created_at"],
            started_at=row["started_at"],
            finished_at=row["finished_at"],
            pk=pk,
            workspace_id=row["workspace_id"],
            created_by_id=row["created_by"],
            raw_result=orjson.loads(result) if isinstance(result, str) else result,
        )

    @strawberry.field(
        description="Kind-specific outcome once SUCCEEDED, a JSON object (see the contract)."
    )
    def result(self) -> JSON | None:
        result: Any = self.raw_result
        if result is None:
            return None
        if self.kind is domain.JobKind.TRIAGE_ISSUE:
            # Workers store label primary keys; clients only ever see global IDs.
            ids = result.get("suggestedLabelIds", [])
            result = {**result, "suggestedLabelIds": [to_global_id("Label", i) for i in ids]}
        return cast("JSON", result)

    @strawberry.field
    async def created_by(self, info: ContextInfo) -> User:
        return cast(User, await info.context.loaders.user.load(self.created_by_id))

    @strawberry.field(
        description="For a SUCCEEDED export: a URL that downloads the file with the bearer "
        "token of a workspace member; it expires."
    )
    def download_url(self, info: ContextInfo) -> str | None:
        if self.kind is not domain.JobKind.EXPORT_PROJECT:
            return None
        if self.status is not domain.JobStatus.SUCCEEDED or self.finished_at is None:
            return None
        return info.context.download_url(self.pk, self.finished_at)
