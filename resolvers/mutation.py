"""The Mutation root: each mutation decodes its input IDs and calls one service in a unit of
work, then builds its payload from the result (``resolvers/mutation_support.py:mutate``, which
also turns every ``DomainError`` into ``userErrors``)."""

from __future__ import annotations

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from resolvers.mutation_support import (
    ContextInfo,
    given,
    label_pks,
    mutate,
    optional_pk,
    require_pk,
    run,
    start_job,
    trace_context,
    with_user_errors,
)
from schema import inputs, payloads
from schema.ids import to_global_id
from schema.types import Comment, Issue, Job, Label, Membership, Project, Workspace
from services import types as domain
from services.comments import CommentService
from services.exports import start_export
from services.imports import start_import
from services.insights import start_triage
from services.issues import PROJECT_PREFIX, IssueService, create_issue_at_once
from services.jobs import JobService
from services.labels import LabelService
from services.projects import ProjectService
from services.types import Role
from services.viewer import Viewer
from services.workspaces import WorkspaceService


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def create_workspace(
        self,
        info: ContextInfo,
        input: inputs.CreateWorkspaceInput,
    ) -> payloads.CreateWorkspacePayload:
        def done(row: domain.Workspace) -> payloads.CreateWorkspacePayload:
            info.context.grant(row.id, Role.OWNER)
            return payloads.CreateWorkspacePayload(workspace=Workspace.from_model(row))

        return await mutate(
            info.context,
            payloads.CreateWorkspacePayload,
            lambda s, v: WorkspaceService(s, v).create(slug=input.slug, name=input.name),
            done=done,
        )

    @strawberry.mutation
    async def add_member(
        self,
        info: ContextInfo,
        input: inputs.AddMemberInput,
    ) -> payloads.AddMemberPayload:
        return await mutate(
            info.context,
            payloads.AddMemberPayload,
            lambda s, v: WorkspaceService(s, v).add_member(
                workspace_id=require_pk(input.workspace_id, "Workspace", ["input", "workspaceId"]),
                email=input.email,
                role=input.role,
            ),
            done=lambda row: payloads.AddMemberPayload(membership=Membership.from_model(row)),
            memberships=True,
        )

    @strawberry.mutation
    async def update_member(
        self,
        info: ContextInfo,
        input: inputs.UpdateMemberInput,
    ) -> payloads.UpdateMemberPayload:
        return await mutate(
            info.context,
            payloads.UpdateMemberPayload,
            lambda s, v: WorkspaceService(s, v).update_member(
                workspace_id=require_pk(input.workspace_id, "Workspace", ["input", "workspaceId"]),
                user_id=require_pk(input.user_id, "User", ["input", "userId"]),
                role=input.role,
            ),
            done=lambda row: payloads.UpdateMemberPayload(membership=Membership.from_model(row)),
            memberships=True,
        )

    @strawberry.mutation(description="Removing a member ends their access at once.")
    async def remove_member(
        self,
        info: ContextInfo,
        input: inputs.RemoveMemberInput,
    ) -> payloads.RemoveMemberPayload:
        async def work(session: AsyncSession, viewer: Viewer) -> int:
            workspace_id = require_pk(input.workspace_id, "Workspace", ["input", "workspaceId"])
            user_id = require_pk(input.user_id, "User", ["input", "userId"])
            await WorkspaceService(session, viewer).remove_member(
                workspace_id=workspace_id, user_id=user_id
            )
            return user_id

        return await mutate(
            info.context,
            payloads.RemoveMemberPayload,
            work,
            done=lambda user_id: payloads.RemoveMemberPayload(
                removed_user_id=to_global_id("User", user_id)
            ),
            memberships=True,
        )

    @strawberry.mutation
    async def create_project(
        self,
        info: ContextInfo,
        input: inputs.CreateProjectInput,
    ) -> payloads.CreateProjectPayload:
        return await mutate(
            info.context,
            payloads.CreateProjectPayload,
            lambda s, v: ProjectService(s, v).create(
                workspace_id=require_pk(input.workspace_id, "Workspace", ["input", "workspaceId"]),
                key=input.key,
                name=input.name,
                description=input.description,
            ),
            done=lambda row: payloads.CreateProjectPayload(project=Project.from_model(row)),
        )

    @strawberry.mutation
    async def update_project(
        self,
        info: ContextInfo,
        input: inputs.UpdateProjectInput,
    ) -> payloads.UpdateProjectPayload:
        return await mutate(
            info.context,
            payloads.UpdateProjectPayload,
            lambda s, v: ProjectService(s, v).update(
                project_id=require_pk(input.id, "Project", ["input", "id"]),
                name=given(input.name),
                description=given(input.description),
            ),
            done=lambda row: payloads.UpdateProjectPayload(project=Project.from_model(row)),
        )

    @strawberry.mutation
    async def create_label(
        self,
        info: ContextInfo,
        input: inputs.CreateLabelInput,
    ) -> payloads.CreateLabelPayload:
        return await mutate(
            info.context,
            payloads.CreateLabelPayload,
            lambda s, v: LabelService(s, v).create(
                workspace_id=require_pk(input.workspace_id, "Workspace", ["input", "workspaceId"]),
                name=input.name,
                color=input.color,
            ),
            done=lambda row: payloads.CreateLabelPayload(label=Label.from_model(row)),
        )

    @strawberry.mutation
    async def update_label(
        self,
        info: ContextInfo,
        input: inputs.UpdateLabelInput,
    ) -> payloads.UpdateLabelPayload:
        return await mutate(
            info.context,
            payloads.UpdateLabelPayload,
            lambda s, v: LabelService(s, v).update(
                label_id=require_pk(input.id, "Label", ["input", "id"]),
                name=given(input.name),
                color=given(input.color),
            ),
            done=lambda row: payloads.UpdateLabelPayload(label=Label.from_model(row)),
        )

    @strawberry.mutation
    async def delete_label(
        self,
        info: ContextInfo,
        input: inputs.DeleteLabelInput,
    ) -> payloads.DeleteLabelPayload:
        return await mutate(
            info.context,
            payloads.DeleteLabelPayload,
            lambda s, v: LabelService(s, v).delete(
                label_id=require_pk(input.id, "Label", ["input", "id"])
            ),
            done=lambda _: payloads.DeleteLabelPayload(deleted_label_id=input.id),
        )

    @strawberry.mutation
    async def create_issue(
        self,
        info: ContextInfo,
        input: inputs.CreateIssueInput,
    ) -> payloads.CreateIssuePayload:
        context = info.context

        async def attempt() -> payloads.CreateIssuePayload:
            project_id = require_pk(input.project_id, "Project", ["input", "projectId"])
            assignee_id = optional_pk(input.assignee_id, "User", ["input", "assigneeId"])
            label_ids = label_pks(input.label_ids)
            if not assignee_id and not label_ids:
                # The one-statement path (services/issues.py:create_issue_at_once), outside
                # the unit of work; None sends the request on to the full checks below.
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
                context,
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
            return payloads.CreateIssuePayload(issue=Issue.from_model(row, context.loaders))

        return await with_user_errors(payloads.CreateIssuePayload, attempt)

    @strawberry.mutation
    async def update_issue(
        self,
        info: ContextInfo,
        input: inputs.UpdateIssueInput,
    ) -> payloads.UpdateIssuePayload:
        context = info.context
        return await mutate(
            context,
            payloads.UpdateIssuePayload,
            lambda s, v: IssueService(s, v).update(
                issue_id=require_pk(input.id, "Issue", ["input", "id"]),
                title=given(input.title),
                body=given(input.body),
                status=given(input.status),
                priority=given(input.priority),
                assignee_id=optional_pk(input.assignee_id, "User", ["input", "assigneeId"]),
                label_ids=label_pks(input.label_ids),
            ),
            done=lambda row: payloads.UpdateIssuePayload(
                issue=Issue.from_model(row, context.loaders)
            ),
        )

    @strawberry.mutation
    async def delete_issue(
        self,
        info: ContextInfo,
        input: inputs.DeleteIssueInput,
    ) -> payloads.DeleteIssuePayload:
        return await mutate(
            info.context,
            payloads.DeleteIssuePayload,
            lambda s, v: IssueService(s, v).delete(
                issue_id=require_pk(input.id, "Issue", ["input", "id"])
            ),
            done=lambda _: payloads.DeleteIssuePayload(deleted_issue_id=input.id),
        )

    @strawberry.mutation
    async def add_comment(
        self,
        info: ContextInfo,
        input: inputs.AddCommentInput,
    ) -> payloads.AddCommentPayload:
        context = info.context
        return await mutate(
            context,
            payloads.AddCommentPayload,
            lambda s, v: CommentService(s, v).add(
                issue_id=require_pk(input.issue_id, "Issue", ["input", "issueId"]),
                body=input.body,
            ),
            done=lambda row: payloads.AddCommentPayload(
                comment=Comment.from_model(row, context.loaders)
            ),
        )

    @strawberry.mutation(description="Only the comment's author may edit it.")
    async def update_comment(
        self,
        info: ContextInfo,
        input: inputs.UpdateCommentInput,
    ) -> payloads.UpdateCommentPayload:
        context = info.context
        return await mutate(
            context,
            payloads.UpdateCommentPayload,
            lambda s, v: CommentService(s, v).update(
                comment_id=require_pk(input.id, "Comment", ["input", "id"]),
                body=input.body,
            ),
            done=lambda row: payloads.UpdateCommentPayload(
                comment=Comment.from_model(row, context.loaders)
            ),
        )

    @strawberry.mutation(description="The author, or an OWNER of the workspace.")
    async def delete_comment(
        self,
        info: ContextInfo,
        input: inputs.DeleteCommentInput,
    ) -> payloads.DeleteCommentPayload:
        return await mutate(
            info.context,
            payloads.DeleteCommentPayload,
            lambda s, v: CommentService(s, v).delete(
                comment_id=require_pk(input.id, "Comment", ["input", "id"])
            ),
            done=lambda _: payloads.DeleteCommentPayload(deleted_comment_id=input.id),
        )

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

        async def stop(row: domain.Job) -> None:
            # After the commit: stop the running task now, and tell subscribers.
            await context.jobs.queue.abort(row)
            await context.jobs.events.publish(row)

        return await mutate(
            context,
            payloads.JobPayload,
            lambda s, v: JobService(s, v).cancel(require_pk(input.id, "Job", ["input", "id"])),
            then=stop,
            done=lambda row: payloads.JobPayload(job=Job.from_model(row)),
        )
