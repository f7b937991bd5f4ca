"""The domain vocabulary the GraphQL schema may name: enums and read models."""

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
from services.users import UserView

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
    "UserView",
    "Workspace",
]
