"""GraphQL enums. The domain enums are exposed as they are, so no conversion is needed."""

from __future__ import annotations

import enum

import strawberry

from services.types import IssuePriority, IssueStatus, JobKind, JobStatus, Role

RoleEnum = strawberry.enum(Role, name="Role")
IssueStatusEnum = strawberry.enum(IssueStatus, name="IssueStatus")
IssuePriorityEnum = strawberry.enum(IssuePriority, name="IssuePriority")
JobKindEnum = strawberry.enum(JobKind, name="JobKind")
JobStatusEnum = strawberry.enum(JobStatus, name="JobStatus")


@strawberry.enum
class ExportFormat(enum.Enum):
    CSV = "CSV"
    JSON = "JSON"


@strawberry.enum
class OrderDirection(enum.Enum):
    ASC = "ASC"
    DESC = "DESC"


@strawberry.enum
class IssueOrderField(enum.Enum):
    CREATED_AT = "CREATED_AT"
    UPDATED_AT = "UPDATED_AT"
    PRIORITY = "PRIORITY"
    NUMBER = "NUMBER"


@strawberry.enum
class UserErrorCode(enum.Enum):
    NOT_FOUND = "NOT_FOUND"
    FORBIDDEN = "FORBIDDEN"
    INVALID = "INVALID"
    CONFLICT = "CONFLICT"
    LIMIT_EXCEEDED = "LIMIT_EXCEEDED"
