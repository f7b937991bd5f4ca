"""Mutation fields: issues and their comments."""

from __future__ import annotations

from typing import Any

import strawberry

from resolvers.context import Context
from resolvers.mutation_support import (
    Written,
    custom_mutation,
    given,
    input_pk,
    label_pks,
    mutation,
    optional_pk,
    run,
)
from schema import inputs, payloads
from schema.types import Comment, Issue, Project
from services import types as domain
from services.issues import PROJECT_PREFIX, create_issue_at_once


def _issue(written: Written[Any, domain.Issue]) -> Issue:
    return Issue.from_model(written.result, written.context.loaders)


def _comment(written: Written[Any, domain.Comment]) -> Comment:
    return Comment.from_model(written.result, written.context.loaders)


async def _create_issue(context: Context, input: inputs.CreateIssueInput) -> Issue:
    project_id = input_pk(input.project_id, "Project", "projectId")
    assignee_id = optional_pk(input.assignee_id, "User", "assigneeId")
    label_ids = label_pks(input.label_ids)
    if not assignee_id and not label_ids:
        # The one-statement path (services/issues.py:create_issue_at_once), outside the unit
        # of work; None sends the request on to the full checks below.
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
            return issue
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
    return Issue.from_model(row, context.loaders)


@strawberry.type
class IssueMutations:
    create_issue = custom_mutation(
        inputs.CreateIssueInput, payloads.CreateIssuePayload, _create_issue
    )
    update_issue = mutation(
        inputs.UpdateIssueInput,
        payloads.UpdateIssuePayload,
        lambda services, i: services.issues.update(
            issue_id=input_pk(i.id, "Issue", "id"),
            title=given(i.title),
            body=given(i.body),
            status=given(i.status),
            priority=given(i.priority),
            assignee_id=optional_pk(i.assignee_id, "User", "assigneeId"),
            label_ids=label_pks(i.label_ids),
        ),
        _issue,
    )
    delete_issue = mutation(
        inputs.DeleteIssueInput,
        payloads.DeleteIssuePayload,
        lambda services, i: services.issues.delete(issue_id=input_pk(i.id, "Issue", "id")),
        lambda written: written.input.id,
    )
    add_comment = mutation(
        inputs.AddCommentInput,
        payloads.AddCommentPayload,
        lambda services, i: services.comments.add(
            issue_id=input_pk(i.issue_id, "Issue", "issueId"), body=i.body
        ),
        _comment,
    )
    update_comment = mutation(
        inputs.UpdateCommentInput,
        payloads.UpdateCommentPayload,
        lambda services, i: services.comments.update(
            comment_id=input_pk(i.id, "Comment", "id"), body=i.body
        ),
        _comment,
        description="Only the comment's author may edit it.",
    )
    delete_comment = mutation(
        inputs.DeleteCommentInput,
        payloads.DeleteCommentPayload,
        lambda services, i: services.comments.delete(comment_id=input_pk(i.id, "Comment", "id")),
        lambda written: written.input.id,
        description="The author, or an OWNER of the workspace.",
    )
