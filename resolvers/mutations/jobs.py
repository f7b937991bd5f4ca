"""Mutation fields: starting and cancelling background jobs (``job_mutation``: the row is
the outbox)."""

from __future__ import annotations

import strawberry

from resolvers.mutation_support import Written, input_pk, job_mutation, mutation
from schema import inputs, payloads
from schema.types import Job
from services import types as domain
from services.exports import start_export
from services.imports import start_import
from services.insights import start_triage

HEAVY = "Heavy: runs as a background job; poll Query.job or subscribe to jobUpdates."


async def _stop(written: Written[inputs.CancelJobInput, domain.Job]) -> None:
    """After the commit: stop the running task now, and tell subscribers."""
    jobs = written.context.jobs
    await jobs.queue.abort(written.result)
    await jobs.events.publish(written.result)


@strawberry.type
class JobMutations:
    import_issues = job_mutation(
        inputs.ImportIssuesInput,
        lambda start, i: start_import(
            start, project_id=input_pk(i.project_id, "Project", "projectId"), csv_text=i.csv
        ),
        description=HEAVY,
    )
    export_project = job_mutation(
        inputs.ExportProjectInput,
        lambda start, i: start_export(
            start,
            project_id=input_pk(i.project_id, "Project", "projectId"),
            export_format=i.format.value,
        ),
    )
    triage_issue = job_mutation(
        inputs.TriageIssueInput,
        lambda start, i: start_triage(start, issue_id=input_pk(i.issue_id, "Issue", "issueId")),
    )
    cancel_job = mutation(
        inputs.CancelJobInput,
        payloads.JobPayload,
        lambda services, i: services.jobs.cancel(input_pk(i.id, "Job", "id")),
        lambda written: Job.from_model(written.result),
        then=_stop,
    )
