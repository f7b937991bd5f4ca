"""Input types of the contract, and their translation into service arguments."""

from __future__ import annotations

import strawberry
from graphql import GraphQLError

from schema.enums import ExportFormat, IssueOrderField, OrderDirection
from schema.ids import pk_of
from services import types as domain
from services.issues import IssueQuery


def _bad_id(argument: str) -> GraphQLError:
    return GraphQLError(f"`{argument}` is not a valid ID.", extensions={"code": "BAD_USER_INPUT"})


def _filter_pk(global_id: str, type_name: str, argument: str) -> int:
    pk = pk_of(global_id, type_name)
    if pk is None:
        raise _bad_id(argument)
    return pk


@strawberry.input
class IssueFilter:
    status: list[domain.IssueStatus] | None = None
    priority: list[domain.IssuePriority] | None = None
    assignee_id: strawberry.ID | None = None
    has_assignee: bool | None = strawberry.field(
        default=None,
        description="true: only issues with an assignee; false: only unassigned issues.",
    )
    label_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Issues carrying at least one of these labels."
    )
    search: str | None = strawberry.field(
        default=None, description="Words matched against title and body (full-text)."
    )

    def to_query(self) -> IssueQuery:
        return IssueQuery(
            statuses=tuple(self.status) if self.status is not None else None,
            priorities=tuple(self.priority) if self.priority is not None else None,
            assignee_id=(
                _filter_pk(self.assignee_id, "User", "filter.assigneeId")
                if self.assignee_id is not None
                else None
            ),
            has_assignee=self.has_assignee,
            label_ids=(
                tuple(_filter_pk(i, "Label", "filter.labelIds") for i in self.label_ids)
                if self.label_ids is not None
                else None
            ),
            search=self.search,
        )


@strawberry.input
class IssueOrder:
    field: IssueOrderField
    direction: OrderDirection


@strawberry.input
class CreateWorkspaceInput:
    slug: str
    name: str


@strawberry.input
class AddMemberInput:
    workspace_id: strawberry.ID
    email: str
    role: domain.Role


@strawberry.input
class UpdateMemberInput:
    workspace_id: strawberry.ID
    user_id: strawberry.ID
    role: domain.Role


@strawberry.input
class RemoveMemberInput:
    workspace_id: strawberry.ID
    user_id: strawberry.ID


@strawberry.input
class CreateProjectInput:
    workspace_id: strawberry.ID
    key: str
    name: str
    description: str | None = None


@strawberry.input
class UpdateProjectInput:
    id: strawberry.ID
    name: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET


@strawberry.input
class CreateLabelInput:
    workspace_id: strawberry.ID
    name: str
    color: str


@strawberry.input
class UpdateLabelInput:
    id: strawberry.ID
    name: str | None = strawberry.UNSET
    color: str | None = strawberry.UNSET


@strawberry.input
class DeleteLabelInput:
    id: strawberry.ID


@strawberry.input
class CreateIssueInput:
    project_id: strawberry.ID
    title: str
    body: str | None = None
    status: domain.IssueStatus | None = None
    priority: domain.IssuePriority | None = None
    assignee_id: strawberry.ID | None = None
    label_ids: list[strawberry.ID] | None = None


@strawberry.input(description="Only the fields given are changed; assigneeId: null unassigns.")
class UpdateIssueInput:
    id: strawberry.ID
    title: str | None = strawberry.UNSET
    body: str | None = strawberry.UNSET
    status: domain.IssueStatus | None = strawberry.UNSET
    priority: domain.IssuePriority | None = strawberry.UNSET
    assignee_id: strawberry.ID | None = strawberry.UNSET
    label_ids: list[strawberry.ID] | None = strawberry.UNSET


@strawberry.input
class DeleteIssueInput:
    id: strawberry.ID


@strawberry.input
class AddCommentInput:
    issue_id: strawberry.ID
    body: str


@strawberry.input
class UpdateCommentInput:
    id: strawberry.ID
    body: str


@strawberry.input
class DeleteCommentInput:
    id: strawberry.ID


@strawberry.input(
    description="CSV with a header row: title,body,status,priority,assignee_email,labels "
    "(labels separated by ';'). Only title is required. A row with an unknown status, "
    "priority or assignee email fails and is reported; the other rows are imported. A "
    "repeated idempotencyKey from the same user within 24 hours returns the job the first "
    "request made (likewise for the other job inputs)."
)
class ImportIssuesInput:
    project_id: strawberry.ID
    csv: str
    idempotency_key: str | None = None


@strawberry.input
class ExportProjectInput:
    project_id: strawberry.ID
    format: ExportFormat
    idempotency_key: str | None = None


@strawberry.input
class TriageIssueInput:
    issue_id: strawberry.ID
    idempotency_key: str | None = None


@strawberry.input
class CancelJobInput:
    id: strawberry.ID


def issue_query(filter: IssueFilter | None, order_by: IssueOrder | None) -> IssueQuery:
    query = filter.to_query() if filter is not None else IssueQuery()
    if order_by is not None:
        query = IssueQuery(
            **{
                **query.__dict__,
                "order_field": IssueOrderField(order_by.field).value,
                "descending": order_by.direction is OrderDirection.DESC,
            }
        )
    return query
