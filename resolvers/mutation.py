"""The Mutation root: decode IDs, run one service call in a unit of work, commit, build the payload.

Every expected failure arrives as a ``DomainError`` and leaves as a ``userErrors`` entry;
the unit of work rolls back, so a failed mutation changes nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from resolvers.context import Context
from schema import inputs, payloads
from schema.ids import pk_of, to_global_id
from schema.payloads import UserError
from schema.types import Comment, Issue, Job, Label, Membership, Project, Workspace
from services import types as domain
from services.comments import CommentService
from services.errors import DomainError, NotFound
from services.exports import start_export
from services.imports import start_import
from services.insights import start_triage
from services.issues import PROJECT_PREFIX, IssueService, create_issue_at_once
from services.jobs import JobService
from services.labels import LabelService
from services.projects import ProjectService
from services.types import Role
from services.unset import UNSET, Maybe
from services.viewer import Viewer
from services.workspaces import WorkspaceService

ContextInfo = Info[Context, Any]
T = TypeVar("T")


def require_pk(global_id: str, type_name: str, field: Sequence[str]) -> int:
    """The primary key behind an input ID; anything else is simply not found."""
    pk = pk_of(global_id, type_name)
    if pk is None:
        raise NotFound(f"{type_name} not found.", field)
    return pk


def optional_pk(global_id: str | None, type_name: str, field: Sequence[str]) -> Maybe[int]:
    if global_id is strawberry.UNSET:
        return UNSET
    return None if global_id is None else require_pk(global_id, type_name, field)


def label_pks(ids: list[strawberry.ID] | None) -> Maybe[list[int]]:
    if ids is strawberry.UNSET:
        return UNSET
    if ids is None:
        return None
    return [require_pk(i, "Label", ["input", "labelIds", str(n)]) for n, i in enumerate(ids)]


def given(value: T | None) -> Maybe[T]:
    """Strawberry's UNSET (field absent) as the services' UNSET."""
    return UNSET if value is strawberry.UNSET else value


async def start_job(
    context: Context,
    work: Callable[[AsyncSession, Viewer], Awaitable[tuple[domain.Job, bool]]],
) -> payloads.JobPayload:
    """Write the job row and commit, then enqueue: the row is the outbox.

    docs/architecture.md, rule 4.

    If Redis is unreachable the job stays QUEUED and the worker's sweeper enqueues it later;
    a repeated idempotency key returns the first job without enqueueing anything. Input IDs
    are decoded inside ``work``, so a malformed one is a ``userErrors`` entry like the rest.
    """
    try:
        job, created = await run(context, work)
    except DomainError as error:
        return payloads.JobPayload(user_errors=[UserError.of(error)])
    if created:
        await context.jobs.queue.enqueue(job)
    return payloads.JobPayload(job=Job.from_model(job))


def trace_context(context: Context) -> dict[str, str] | None:
    """The request's trace, for a job row to carry to the worker (None while tracing is off)."""
    carrier = context.jobs.trace_carrier
    return carrier() if carrier is not None else None


async def run(
    context: Context,
    work: Callable[[AsyncSession, Viewer], Awaitable[T]],
    *,
    memberships: bool = False,
) -> T:
    """Run ``work`` in the mutation's own session and commit once, before the payload is built;
    then the rest of the request reads what it wrote (``Context.after_write``)."""
    async with context.unit_of_work() as session:
        result = await work(session, context.require_viewer())
        await session.commit()
    await context.after_write(memberships=memberships)
    return result


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def create_workspace(
        self,
        info: ContextInfo,
        input: inputs.CreateWorkspaceInput,
    ) -> payloads.CreateWorkspacePayload:
        try:
            row = await run(
                info.context,
                lambda s, v: WorkspaceService(s, v).create(slug=input.slug, name=input.name),
            )
        except DomainError as error:
            return payloads.CreateWorkspacePayload(user_errors=[UserError.of(error)])
        info.context.grant(row.id, Role.OWNER)
        return payloads.CreateWorkspacePayload(workspace=Workspace.from_model(row))

    @strawberry.mutation
    async def add_member(
        self,
        info: ContextInfo,
        input: inputs.AddMemberInput,
    ) -> payloads.AddMemberPayload:
        try:
            workspace_id = require_pk(input.workspace_id, "Workspace", ["input", "workspaceId"])
            row = await run(
                info.context,
                memberships=True,
                work=lambda s, v: WorkspaceService(s, v).add_member(
                    workspace_id=workspace_id, email=input.email, role=input.role
                ),
            )
        except DomainError as error:
            return payloads.AddMemberPayload(user_errors=[UserError.of(error)])
        return payloads.AddMemberPayload(membership=Membership.from_model(row))

    @strawberry.mutation
    async def update_member(
        self,
        info: ContextInfo,
        input: inputs.UpdateMemberInput,
    ) -> payloads.UpdateMemberPayload:
        try:
            workspace_id = require_pk(input.workspace_id, "Workspace", ["input", "workspaceId"])
            user_id = require_pk(input.user_id, "User", ["input", "userId"])
            row = await run(
                info.context,
                memberships=True,
                work=lambda s, v: WorkspaceService(s, v).update_member(
                    workspace_id=workspace_id, user_id=user_id, role=input.role
                ),
            )
        except DomainError as error:
            return payloads.UpdateMemberPayload(user_errors=[UserError.of(error)])
        return payloads.UpdateMemberPayload(membership=Membership.from_model(row))

    @strawberry.mutation(description="Removing a member ends their access at once.")
    async def remove_member(
        self,
        info: ContextInfo,
        input: inputs.RemoveMemberInput,
    ) -> payloads.RemoveMemberPayload:
        try:
            workspace_id = require_pk(input.workspace_id, "Workspace", ["input", "workspaceId"])
            user_id = require_pk(input.user_id, "User", ["input", "userId"])
            await run(
                info.context,
                memberships=True,
                work=lambda s, v: WorkspaceService(s, v).remove_member(
                    workspace_id=workspace_id, user_id=user_id
                ),
            )
        except DomainError as error:
            return payloads.RemoveMemberPayload(user_errors=[UserError.of(error)])
        return payloads.RemoveMemberPayload(removed_user_id=to_global_id("User", user_id))

    @strawberry.mutation
    async def create_project(
        self,
        info: ContextInfo,
        input: inputs.CreateProjectInput,
    ) -> payloads.CreateProjectPayload:
        try:
            workspace_id = require_pk(input.workspace_id, "Workspace", ["input", "workspaceId"])
            row = await run(
                info.context,
                lambda s, v: ProjectService(s, v).create(
                    workspace_id=workspace_id,
                    key=input.key,
                    name=input.name,
                    description=input.description,
                ),
            )
        except DomainError as error:
            return payloads.CreateProjectPayload(user_errors=[UserError.of(error)])
        return payloads.CreateProjectPayload(project=Project.from_model(row))

    @strawberry.mutation
    async def update_project(
        self,
        info: ContextInfo,
        input: inputs.UpdateProjectInput,
    ) -> payloads.UpdateProjectPayload:
        try:
            project_id = require_pk(input.id, "Project", ["input", "id"])
            row = await run(
                info.context,
                lambda s, v: ProjectService(s, v).update(
                    project_id=project_id,
                    name=given(input.name),
                    description=given(input.description),
                ),
            )
        except DomainError as error:
            return payloads.UpdateProjectPayload(user_errors=[UserError.of(error)])
        return payloads.UpdateProjectPayload(project=Project.from_model(row))

    @strawberry.mutation
    async def create_label(
        self,
        info: ContextInfo,
        input: inputs.CreateLabelInput,
    ) -> payloads.CreateLabelPayload:
        try:
            workspace_id = require_pk(input.workspace_id, "Workspace", ["input", "workspaceId"])
            row = await run(
                info.context,
                lambda s, v: LabelService(s, v).create(
                    workspace_id=workspace_id, name=input.name, color=input.color
                ),
            )
        except DomainError as error:
            return payloads.CreateLabelPayload(user_errors=[UserError.of(error)])
        return payloads.CreateLabelPayload(label=Label.from_model(row))

    @strawberry.mutation
    async def update_label(
        self,
        info: ContextInfo,
        input: inputs.UpdateLabelInput,
    ) -> payloads.UpdateLabelPayload:
        try:
            label_id = require_pk(input.id, "Label", ["input", "id"])
            row = await run(
                info.context,
                lambda s, v: LabelService(s, v).update(
                    label_id=label_id, name=given(input.name), color=given(input.color)
                ),
            )
        except DomainError as error:
            return payloads.UpdateLabelPayload(user_errors=[UserError.of(error)])
        return payloads.UpdateLabelPayload(label=Label.from_model(row))

    @strawberry.mutation
    async def delete_label(
        self,
        info: ContextInfo,
        input: inputs.DeleteLabelInput,
    ) -> payloads.DeleteLabelPayload:
        try:
            label_id = require_pk(input.id, "Label", ["input", "id"])
            await run(info.context, lambda s, v: LabelService(s, v).delete(label_id=label_id))
        except DomainError as error:
            return payloads.DeleteLabelPayload(user_errors=[UserError.of(error)])
        return payloads.DeleteLabelPayload(deleted_label_id=input.id)

    @strawberry.mutation
    async def create_issue(
        self,
        info: ContextInfo,
        input: inputs.CreateIssueInput,
    ) -> payloads.CreateIssuePayload:
        context = info.context
        try:
            project_id = require_pk(input.project_id, "Project", ["input", "projectId"])
            assignee_id = optional_pk(input.assignee_id, "User", ["input", "assigneeId"])
            label_ids = label_pks(input.label_ids)
            if not assignee_id and not label_ids:
                created = await create_issue_at_once(
                    context.db,
                    context.require_viewer(),
                    project_id=project_id,
                    title=input.title,
                    body=input.body,
                    status=input.status,
                    priority=input.priority,
                )
                if created is not None:
                    await context.after_write()
                    issue = Issue.from_row(created, context.loaders)
                    project = Project.from_row(created, prefix=PROJECT_PREFIX)
                    issue.project = project
                    issue.identifier = f"{project.key}-{issue.number}"
                    context.loaders.project.prime(project.pk, project)
                    return payloads.CreateIssuePayload(issue=issue)
            row = await run(
                info.context,
                lambda s, v: IssueService(s, v).create(
                    project_id=project_id,
                    title=input.title,
                    body=input.body,
                    status=input.status,
                    priority=input.priority,
                    assignee_id=assignee_id if isinstance(assignee_id, int) else None,
                    label_ids=label_ids if isinstance(label_ids, list) else None,
                ),
            )
        except DomainError as error:
            return payloads.CreateIssuePayload(user_errors=[UserError.of(error)])
        return payloads.CreateIssuePayload(issue=Issue.from_model(row, info.context.loaders))

    @strawberry.mutation
    async def update_issue(
        self,
        info: ContextInfo,
        input: inputs.UpdateIssueInput,
    ) -> payloads.UpdateIssuePayload:
        try:
            issue_id = require_pk(input.id, "Issue", ["input", "id"])
            assignee_id = optional_pk(input.assignee_id, "User", ["input", "assigneeId"])
            label_ids = label_pks(input.label_ids)
            row = await run(
                info.context,
                lambda s, v: IssueService(s, v).update(
                    issue_id=issue_id,
                    title=given(input.title),
                    body=given(input.body),
                    status=given(input.status),
                    priority=given(input.priority),
                    assignee_id=assignee_id,
                    label_ids=label_ids,
                ),
            )
        except DomainError as error:
            return payloads.UpdateIssuePayload(user_errors=[UserError.of(error)])
        return payloads.UpdateIssuePayload(issue=Issue.from_model(row, info.context.loaders))

    @strawberry.mutation
    async def delete_issue(
        self,
        info: ContextInfo,
        input: inputs.DeleteIssueInput,
    ) -> payloads.DeleteIssuePayload:
        try:
            issue_id = require_pk(input.id, "Issue", ["input", "id"])
            await run(info.context, lambda s, v: IssueService(s, v).delete(issue_id=issue_id))
        except DomainError as error:
            return payloads.DeleteIssuePayload(user_errors=[UserError.of(error)])
        return payloads.DeleteIssuePayload(deleted_issue_id=input.id)

    @strawberry.mutation
    async def add_comment(
        self,
        info: ContextInfo,
        input: inputs.AddCommentInput,
    ) -> payloads.AddCommentPayload:
        try:
            issue_id = require_pk(input.issue_id, "Issue", ["input", "issueId"])
            row = await run(
                info.context,
                lambda s, v: CommentService(s, v).add(issue_id=issue_id, body=input.body),
            )
        except DomainError as error:
            return payloads.AddCommentPayload(user_errors=[UserError.of(error)])
        return payloads.AddCommentPayload(comment=Comment.from_model(row, info.context.loaders))

    @strawberry.mutation(description="Only the comment's author may edit it.")
    async def update_comment(
        self,
        info: ContextInfo,
        input: inputs.UpdateCommentInput,
    ) -> payloads.UpdateCommentPayload:
        try:
            comment_id = require_pk(input.id, "Comment", ["input", "id"])
            row = await run(
                info.context,
                lambda s, v: CommentService(s, v).update(comment_id=comment_id, body=input.body),
            )
        except DomainError as error:
            return payloads.UpdateCommentPayload(user_errors=[UserError.of(error)])
        return payloads.UpdateCommentPayload(comment=Comment.from_model(row, info.context.loaders))

    @strawberry.mutation(description="The author, or an OWNER of the workspace.")
    async def delete_comment(
        self,
        info: ContextInfo,
        input: inputs.DeleteCommentInput,
    ) -> payloads.DeleteCommentPayload:
        try:
            comment_id = require_pk(input.id, "Comment", ["input", "id"])
            await run(info.context, lambda s, v: CommentService(s, v).delete(comment_id=comment_id))
        except DomainError as error:
            return payloads.DeleteCommentPayload(user_errors=[UserError.of(error)])
        return payloads.DeleteCommentPayload(deleted_comment_id=input.id)

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
            lambda s, v: start_import(
                s,
                v,
                project_id=require_pk(input.project_id, "Project", ["input", "projectId"]),
                csv_text=input.csv,
                idempotency_key=input.idempotency_key,
                request_id=context.request_id,
                trace_context=trace_context(context),
                limits=context.jobs.limits,
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
            lambda s, v: start_export(
                s,
                v,
                project_id=require_pk(input.project_id, "Project", ["input", "projectId"]),
                export_format=input.format.value,
                idempotency_key=input.idempotency_key,
                request_id=context.request_id,
                trace_context=trace_context(context),
                limits=context.jobs.limits,
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
            lambda s, v: start_triage(
                s,
                v,
                issue_id=require_pk(input.issue_id, "Issue", ["input", "issueId"]),
                idempotency_key=input.idempotency_key,
                request_id=context.request_id,
                trace_context=trace_context(context),
                limits=context.jobs.limits,
            ),
        )

    @strawberry.mutation
    async def cancel_job(
        self,
        info: ContextInfo,
        input: inputs.CancelJobInput,
    ) -> payloads.JobPayload:
        context = info.context
        try:
            job_id = require_pk(input.id, "Job", ["input", "id"])
            row = await run(context, lambda s, v: JobService(s, v).cancel(job_id))
        except DomainError as error:
            return payloads.JobPayload(user_errors=[UserError.of(error)])
        # After the commit: stop the running task now, and tell subscribers.
        await context.jobs.queue.abort(row)
        await context.jobs.events.publish(row)
        return payloads.JobPayload(job=Job.from_model(row))
