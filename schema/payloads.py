"""Mutation payloads: the changed object, or ``userErrors`` saying what was wrong.

Every payload is the same two fields, its result and ``userErrors``, so each is declared in one
line (``payload``), which also types how the mutations build it: ``Payload[V]`` builds it from
its result, a ``V`` (``of``), or from ``userErrors`` (``failed``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import strawberry

from schema.enums import UserErrorCode
from schema.types import Comment, Issue, Job, Label, Membership, Project, Workspace
from services.errors import DomainError


@strawberry.type
class UserError:
    field: list[str] = strawberry.field(
        description='Path to the input field at fault, e.g. ["input", "title"]; '
        "empty when not tied to a field."
    )
    message: str
    code: UserErrorCode

    @classmethod
    def of(cls, error: DomainError) -> UserError:
        return cls(field=error.field, message=error.message, code=UserErrorCode(error.code))


V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class Payload(Generic[V]):
    """A payload type (``type``): built with its result, a ``V``, or with its ``userErrors``."""

    type: type[Any]
    result: str

    def of(self, value: V) -> Any:
        return self.type(**{self.result: value})

    def failed(self, errors: list[UserError]) -> Any:
        return self.type(user_errors=errors)


def payload(name: str, result: str, result_type: type[V]) -> Payload[V]:
    """The payload type ``name``: ``result`` (null when ``userErrors`` say why), then
    ``userErrors``."""
    namespace = {
        "__module__": __name__,
        "__annotations__": {result: result_type | None, "user_errors": list[UserError]},
        result: None,
        "user_errors": strawberry.field(default_factory=list),
    }
    return Payload(strawberry.type(type(name, (), namespace)), result)


CreateWorkspacePayload = payload("CreateWorkspacePayload", "workspace", Workspace)
AddMemberPayload = payload("AddMemberPayload", "membership", Membership)
UpdateMemberPayload = payload("UpdateMemberPayload", "membership", Membership)
RemoveMemberPayload = payload("RemoveMemberPayload", "removed_user_id", strawberry.ID)
CreateProjectPayload = payload("CreateProjectPayload", "project", Project)
UpdateProjectPayload = payload("UpdateProjectPayload", "project", Project)
CreateLabelPayload = payload("CreateLabelPayload", "label", Label)
UpdateLabelPayload = payload("UpdateLabelPayload", "label", Label)
DeleteLabelPayload = payload("DeleteLabelPayload", "deleted_label_id", strawberry.ID)
CreateIssuePayload = payload("CreateIssuePayload", "issue", Issue)
UpdateIssuePayload = payload("UpdateIssuePayload", "issue", Issue)
DeleteIssuePayload = payload("DeleteIssuePayload", "deleted_issue_id", strawberry.ID)
AddCommentPayload = payload("AddCommentPayload", "comment", Comment)
UpdateCommentPayload = payload("UpdateCommentPayload", "comment", Comment)
DeleteCommentPayload = payload("DeleteCommentPayload", "deleted_comment_id", strawberry.ID)
JobPayload = payload("JobPayload", "job", Job)
