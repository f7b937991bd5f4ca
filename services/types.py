"""The domain vocabulary the GraphQL schema may name: enums, the models writes return, the rows
reads return (``Row``) and the read statements services are built on (``Statements``)."""

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
from db.statements import Row, Statements

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
    "Row",
    "Statements",
    "Workspace",
]
