"""Mutation fields: starting and cancelling background jobs (``start_job``: the row is
the outbox)."""

from __future__ import annotations

import strawberry

from resolvers.mutation_support import (
    ContextInfo,
    job_origin,
    mutate,
    require_pk,
    start_job,
)
from schema import inputs, payloads
from schema.types import Job
from services import types as domain
from services.exports import start_export
from services.imports import start_import
from services.insights import start_triage


@strawberry.type
class JobMutations:
    @strawberry.mutation(
        description="Heavy: runs as a background job; poll Query.job or subscribe to jobUpdates."
    )
    async def import_issues(
        self,
        info: ContextInfo,
        input: inputs.ImportIssuesInput,
    ) -> payloads.JobPayload:
        context = info.context
        return await start_job(
            context,
            lambda services: start_import(
                services.session,
                services.viewer,
                project_id=require_pk(input.project_id, "Project", ["input", "projectId"]),
                csv_text=input.csv,
                idempotency_key=input.idempotency_key,
                **job_origin(context),
                settings=context.jobs.imports,
            ),
        )

    @strawberry.mutation
    async def export_project(
        self,
        info: ContextInfo,
        input: inputs.ExportProjectInput,
    ) -> payloads.JobPayload:
        context = info.context
        return await start_job(
            context,
            lambda services: start_export(
                services.session,
                services.viewer,
                project_id=require_pk(input.project_id, "Project", ["input", "projectId"]),
                export_format=input.format.value,
                idempotency_key=input.idempotency_key,
                **job_origin(context),
            ),
        )

    @strawberry.mutation
    async def triage_issue(
        self,
        info: ContextInfo,
        input: inputs.TriageIssueInput,
    ) -> payloads.JobPayload:
        context = info.context
        return await start_job(
            context,
            lambda services: start_triage(
                services.session,
                services.viewer,
                issue_id=require_pk(input.issue_id, "Issue", ["input", "issueId"]),
                idempotency_key=input.idempotency_key,
                **job_origin(context),
            ),
        )

    @strawberry.mutation
    async def cancel_job(
        self,
        info: ContextInfo,
        input: inputs.CancelJobInput,
    ) -> payloads.JobPayload:
        context = info.context

        async def stop(row: domain.Job) -> None:
            # After the commit: stop the running task now, and tell subscribers.
            await context.jobs.queue.abort(row)
            await context.jobs.events.publish(row)

        return await mutate(
            context,
            payloads.JobPayload,
            lambda services: services.jobs.cancel(require_pk(input.id, "Job", ["input", "id"])),
            then=stop,
            done=lambda row: payloads.JobPayload(job=Job.from_model(row)),
        )
