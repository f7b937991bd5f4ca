"""AI triage of an issue, run as a job, and the insights it leaves on the issue."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import any_, select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.dialects.postgresql import insert as pg_insert

from db.models import Issue, IssueInsight, Job, JobKind, Label
from db.statements import Prepared, Row
from services.errors import NotFound
from services.job_kind import JobKindSpec, JobStart
from services.job_runs import JobRun
from services.pagination import ids_param
from services.tenancy import Reads, in_key_order
from services.triage import LabelChoice, TriageProvider, TriageSubject


async def start_triage(start: JobStart, *, issue_id: int) -> tuple[Job, bool]:
    issue = await start.session.get(Issue, issue_id)
    if issue is None or not start.viewer.can_read(issue.workspace_id):
        raise NotFound("Issue not found.", ["input", "issueId"])
    return await TRIAGE_JOB.start(
        start, workspace_id=issue.workspace_id, params={"issue_id": issue.id}
    )


async def run_triage(run: JobRun, provider: TriageProvider) -> dict[str, Any]:
    """Ask the provider, store the insight once per job, return the contract's result."""
    job = run.job
    async with run.session_factory() as session:
        issue = await run.target(session, Issue, "issue_id")
        labels = await session.execute(
            select(Label.id, Label.name)
            .where(Label.workspace_id == issue.workspace_id)
            .order_by(Label.name)
        )
        choices = [LabelChoice(id=i, name=n) for i, n in labels]
    await run.progress(0.1, "Asking the triage provider.")
    suggestion = await provider.triage(TriageSubject(issue.title, issue.body), choices)
    async with run.session_factory() as session:
        await session.execute(
            pg_insert(IssueInsight)
            .values(
                issue_id=issue.id,
                workspace_id=issue.workspace_id,
                job_id=job.id,
                summary=suggestion.summary,
                suggested_label_ids=suggestion.label_ids,
                suggested_priority=suggestion.priority,
                model=suggestion.model,
            )
            .on_conflict_do_nothing(index_elements=["job_id"])
        )
        await run.checkpoint(session, 0.9, "Stored the insight.")
        await session.commit()
    # Label ids stay primary keys here; the GraphQL layer turns them into global IDs.
    return {
        "summary": suggestion.summary,
        "suggestedLabelIds": suggestion.label_ids,
        "suggestedPriority": suggestion.priority.value,
        "model": suggestion.model,
    }


TRIAGE_JOB = JobKindSpec(
    JobKind.TRIAGE_ISSUE,
    task="issues.triage",
    run=lambda run, resources: run_triage(run, resources.triage),
    summary=lambda result: f"Triaged by {result['model']}.",
)


_insights = IssueInsight.__table__
# The latest insight of each issue (one per issue: DISTINCT ON the issue, newest first).
LATEST_INSIGHTS = Prepared(
    select(
        _insights.c.issue_id,
        _insights.c.summary,
        _insights.c.suggested_label_ids,
        _insights.c.suggested_priority,
        _insights.c.model,
        _insights.c.created_at,
    )
    .where(
        _insights.c.issue_id == any_(ids_param("ids")),
        _insights.c.workspace_id == any_(ids_param("workspaces")),
    )
    .order_by(_insights.c.issue_id, _insights.c.created_at.desc(), _insights.c.id.desc())
    .ext(distinct_on(_insights.c.issue_id))
)


class InsightReads(Reads):
    async def latest_for_issues(self, issue_ids: Sequence[int]) -> list[Row | None]:
        if not self.viewer.workspace_ids:
            return [None] * len(issue_ids)
        rows = await self.db.fetch(
            LATEST_INSIGHTS, {"ids": list(issue_ids), "workspaces": self.viewer.workspace_ids}
        )
        return in_key_order(rows, issue_ids, column=0)
