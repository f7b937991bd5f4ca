"""The domain vocabulary the GraphQL schema may name: enums and the models writes return."""

from db.models import (
    Comment,
    Issue,
    IssueInsight,
    IssuePriority,
    IssueStatus,
    Job,
    JobKind,
    JobStatus,
    Label,
    Membership,
    Project,
    Role,
    Workspace,
)

__all__ = [
    "Comment",
    "Issue",
    "IssueInsight",
    "IssuePriority",
    "IssueStatus",
    "Job",
    "JobKind",
    "JobStatus",
    "Label",
    "Membership",
    "Project",
    "Role",
    "Workspace",
]
