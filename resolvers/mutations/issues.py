"""Mutation fields: issues and their comments."""

from __future__ import annotations

import strawberry

from resolvers.mutation_support import (
    ContextInfo,
    given,
    label_pks,
    mutate,
    optional_pk,
    require_pk,
    run,
    with_user_errors,
)
from schema import inputs, payloads
from schema.types import Comment, Issue, Project
from services.issues import PROJECT_PREFIX, create_issue_at_once


@strawberry.type
class IssueMutations:
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
                lambda services: services.issues.create(
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
            lambda services: services.issues.update(
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
            lambda services: services.issues.delete(
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
            lambda services: services.comments.add(
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
            lambda services: services.comments.update(
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
            lambda services: services.comments.delete(
                comment_id=require_pk(input.id, "Comment", ["input", "id"])
            ),
            done=lambda _: payloads.DeleteCommentPayload(deleted_comment_id=input.id),
        )
