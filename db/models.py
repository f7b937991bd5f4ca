"""SQLAlchemy 2 typed models.

Relationships are ``lazy="raise"`` (docs/architecture.md, rule 2): every load is explicit,
so a forgotten eager load fails loudly in tests instead of issuing hidden queries on the event loop.
Tenant-scoped tables carry ``workspace_id`` directly so authorization never needs a join.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated, Any

from sqlalchemy import (
    BigInteger,
    Computed,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSVECTOR
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Role(enum.Enum):
    OWNER = "OWNER"
    MEMBER = "MEMBER"
    VIEWER = "VIEWER"


class IssueStatus(enum.Enum):
    BACKLOG = "BACKLOG"
    TODO = "TODO"
    IN_PROGRESS = "IN_PROGRESS"
    DONE = "DONE"
    CANCELED = "CANCELED"


class IssuePriority(enum.Enum):
    """Declared from lowest to highest: PostgreSQL orders enum values this way."""

    NONE = "NONE"
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"
    URGENT = "URGENT"


CLOSED_STATUSES = frozenset({IssueStatus.DONE, IssueStatus.CANCELED})


class JobKind(enum.Enum):
    IMPORT_ISSUES = "IMPORT_ISSUES"
    EXPORT_PROJECT = "EXPORT_PROJECT"
    TRIAGE_ISSUE = "TRIAGE_ISSUE"


class JobStatus(enum.Enum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELED = "CANCELED"


ACTIVE_JOB_STATUSES = frozenset({JobStatus.QUEUED, JobStatus.RUNNING})
TERMINAL_JOB_STATUSES = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELED})


def _pg_enum(enum_cls: type[enum.Enum], name: str) -> Enum:
    return Enum(enum_cls, name=name, native_enum=True, create_type=False)


role_enum = _pg_enum(Role, "role")
issue_status_enum = _pg_enum(IssueStatus, "issue_status")
issue_priority_enum = _pg_enum(IssuePriority, "issue_priority")
job_kind_enum = _pg_enum(JobKind, "job_kind")
job_status_enum = _pg_enum(JobStatus, "job_status")

Timestamp = DateTime(timezone=True)
# The columns most tables declare, written once (SQLAlchemy's annotated declarative mapping:
# ``id: Mapped[BigPk]`` is ``mapped_column(BigInteger, primary_key=True)``); the DDL is the same.
BigPk = Annotated[int, mapped_column(BigInteger, primary_key=True)]
# The tenancy column of a tenant-scoped table; its rows go with the workspace.
WorkspaceRef = Annotated[int, mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))]
# A timestamp PostgreSQL sets on insert (``created_at``, and ``updated_at`` until a write sets it).
Now = Annotated[datetime, mapped_column(Timestamp, server_default=func.now())]


class User(Base):
    __tablename__ = "users"

    id: Mapped[BigPk]
    email: Mapped[str] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[Now]

    __table_args__ = (Index("uq_users_email_lower", func.lower(email), unique=True),)


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[BigPk]
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # SHA-256 hex digest of the token; the token itself is never stored.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[Now]
    expires_at: Mapped[datetime | None] = mapped_column(Timestamp)
    revoked_at: Mapped[datetime | None] = mapped_column(Timestamp)
    last_used_at: Mapped[datetime | None] = mapped_column(Timestamp)

    user: Mapped[User] = relationship(lazy="raise")


class Workspace(Base):
    __tablename__ = "workspaces"

    id: Mapped[BigPk]
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[Now]


class Membership(Base):
    __tablename__ = "memberships"

    id: Mapped[BigPk]
    workspace_id: Mapped[WorkspaceRef]
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[Role] = mapped_column(role_enum)
    created_at: Mapped[Now]

    user: Mapped[User] = relationship(lazy="raise")
    workspace: Mapped[Workspace] = relationship(lazy="raise")

    __table_args__ = (
        UniqueConstraint("workspace_id", "user_id"),
        # "Members of a workspace" pages walk memberships in id order.
        Index("ix_memberships_workspace_id_id", "workspace_id", "id"),
    )


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[BigPk]
    workspace_id: Mapped[WorkspaceRef]
    key: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, server_default="")
    # Last issue number handed out; bumped with UPDATE ... RETURNING, whose row lock
    # serializes concurrent creators, so numbers are consecutive and never repeat.
    issue_counter: Mapped[int] = mapped_column(Integer, server_default="0")
    created_at: Mapped[Now]

    workspace: Mapped[Workspace] = relationship(lazy="raise")

    __table_args__ = (UniqueConstraint("workspace_id", "key"),)


class Label(Base):
    __tablename__ = "labels"

    id: Mapped[BigPk]
    workspace_id: Mapped[WorkspaceRef]
    name: Mapped[str] = mapped_column(String(200))
    color: Mapped[str] = mapped_column(String(7))
    created_at: Mapped[Now]

    __table_args__ = (
        # Case-insensitive uniqueness; also serves the workspace's label pages (name order).
        Index("uq_labels_workspace_id_lower_name", "workspace_id", func.lower(name), unique=True),
        Index("ix_labels_workspace_id_name_id", "workspace_id", "name", "id"),
    )


class Issue(Base):
    __tablename__ = "issues"

    id: Mapped[BigPk]
    workspace_id: Mapped[WorkspaceRef]
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, server_default="")
    status: Mapped[IssueStatus] = mapped_column(issue_status_enum)
    priority: Mapped[IssuePriority] = mapped_column(issue_priority_enum)
    reporter_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[Now]
    updated_at: Mapped[Now]
    closed_at: Mapped[datetime | None] = mapped_column(Timestamp)
    # Set on issues created by an import job: (job, CSV line) is unique, so a retried import
    # skips the rows an earlier attempt committed and never creates an issue twice.
    import_job_id: Mapped[int | None] = mapped_column(
        ForeignKey("jobs.id", ondelete="SET NULL", use_alter=True)
    )
    import_line: Mapped[int | None] = mapped_column(Integer)
    search_vector: Mapped[str] = mapped_column(
        TSVECTOR,
        Computed(
            "setweight(to_tsvector('english', coalesce(title, '')), 'A') || "
            "setweight(to_tsvector('english', coalesce(body, '')), 'B')",
            persisted=True,
        ),
        deferred=True,
    )

    project: Mapped[Project] = relationship(lazy="raise")

    __table_args__ = (
        UniqueConstraint("project_id", "number"),
        UniqueConstraint("import_job_id", "import_line"),
        # One index per IssueOrderField: keyset pages per project scan them in order.
        Index("ix_issues_project_id_created_at_id", "project_id", "created_at", "id"),
        Index("ix_issues_project_id_updated_at_id", "project_id", "updated_at", "id"),
        Index("ix_issues_project_id_priority_id", "project_id", "priority", "id"),
        Index("ix_issues_workspace_id_created_at_id", "workspace_id", "created_at", "id"),
        Index("ix_issues_search_vector", "search_vector", postgresql_using="gin"),
    )


class IssueLabel(Base):
    __tablename__ = "issue_labels"

    issue_id: Mapped[int] = mapped_column(
        ForeignKey("issues.id", ondelete="CASCADE"), primary_key=True
    )
    label_id: Mapped[int] = mapped_column(
        ForeignKey("labels.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Comment(Base):
    __tablename__ = "comments"

    id: Mapped[BigPk]
    workspace_id: Mapped[WorkspaceRef]
    issue_id: Mapped[int] = mapped_column(ForeignKey("issues.id", ondelete="CASCADE"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[Now]
    updated_at: Mapped[Now]

    issue: Mapped[Issue] = relationship(lazy="raise")

    __table_args__ = (Index("ix_comments_issue_id_created_at_id", "issue_id", "created_at", "id"),)


class Job(Base):
    """A background job. This row, not arq's expiring Redis keys, is the source of truth."""

    __tablename__ = "jobs"

    id: Mapped[BigPk]
    workspace_id: Mapped[WorkspaceRef]
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[JobKind] = mapped_column(job_kind_enum)
    status: Mapped[JobStatus] = mapped_column(job_status_enum)
    progress: Mapped[float] = mapped_column(Float, server_default="0")
    message: Mapped[str | None] = mapped_column(Text)
    # What to work on: {"project_id": ...}, {"issue_id": ...}, {"format": ...}; ids, never objects.
    params: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    error: Mapped[str | None] = mapped_column(Text)
    # Runs started so far; a run is fenced by it, so a stale worker cannot finish a job.
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    max_attempts: Mapped[int] = mapped_column(Integer, server_default="3")
    # Bumped on every enqueue; the arq job id is "<queue name>:job:<id>:<enqueue_seq>", the
    # row id and its enqueue attempt, so a re-enqueue never collides with an old arq key.
    enqueue_seq: Mapped[int] = mapped_column(Integer, server_default="1")
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    request_id: Mapped[str | None] = mapped_column(String(128))
    # The trace of the request that started the job, as W3C headers ({"traceparent": ...}),
    # while tracing is on: every run continues it, the sweeper's re-enqueues too
    # (app/observability/tracing.py).
    trace_context: Mapped[dict[str, str] | None] = mapped_column(JSONB)
    created_at: Mapped[Now]
    updated_at: Mapped[Now]
    started_at: Mapped[datetime | None] = mapped_column(Timestamp)
    finished_at: Mapped[datetime | None] = mapped_column(Timestamp)
    heartbeat_at: Mapped[datetime | None] = mapped_column(Timestamp)

    __table_args__ = (
        Index("ix_jobs_workspace_id_created_at_id", "workspace_id", "created_at", "id"),
        # The sweeper's and the per-workspace limit's scans: only live jobs are indexed.
        Index(
            "ix_jobs_live_status_updated_at",
            "status",
            "updated_at",
            postgresql_where=text("status IN ('QUEUED', 'RUNNING')"),
        ),
        Index(
            "ix_jobs_created_by_idempotency_key",
            "created_by",
            "idempotency_key",
            "created_at",
            postgresql_where=text("idempotency_key IS NOT NULL"),
        ),
        Index("ix_jobs_finished_at", "finished_at"),
    )


class JobFile(Base):
    """A file a job reads (import CSV) or writes (export), stored in PostgreSQL in chunks so
    every API replica can stream it and nothing holds a whole file in memory."""

    __tablename__ = "job_files"

    id: Mapped[BigPk]
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(20))  # "input" or "export"
    content_type: Mapped[str] = mapped_column(String(100))
    filename: Mapped[str] = mapped_column(String(200))
    size_bytes: Mapped[int] = mapped_column(BigInteger, server_default="0")
    created_at: Mapped[Now]
    expires_at: Mapped[datetime | None] = mapped_column(Timestamp, index=True)

    __table_args__ = (UniqueConstraint("job_id", "purpose"),)


class JobFileChunk(Base):
    __tablename__ = "job_file_chunks"

    file_id: Mapped[int] = mapped_column(
        ForeignKey("job_files.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class IssueInsight(Base):
    """An AI triage result; ``Issue.insight`` shows the latest."""

    __tablename__ = "issue_insights"

    id: Mapped[BigPk]
    issue_id: Mapped[int] = mapped_column(ForeignKey("issues.id", ondelete="CASCADE"))
    workspace_id: Mapped[WorkspaceRef]
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    summary: Mapped[str] = mapped_column(Text)
    suggested_label_ids: Mapped[list[int]] = mapped_column(ARRAY(BigInteger))
    suggested_priority: Mapped[IssuePriority] = mapped_column(issue_priority_enum)
    model: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[Now]

    __table_args__ = (
        # One insight per job: a retried triage run cannot store its result twice.
        UniqueConstraint("job_id"),
        Index("ix_issue_insights_issue_id_created_at_id", "issue_id", "created_at", "id"),
    )


class TrustedDocument(Base):
    """A GraphQL document registered by `issuegraph documents register` (trusted documents).

    Kept in PostgreSQL, not Redis: in trusted-documents mode the server refuses every other
    document, so losing this table would lock out every client, and Redis is allowed to be
    flushed (docs/operations.md); PostgreSQL is the state that is backed up and shared by all
    API replicas. Content-addressed: a hash always names the same text, so rows never change.
    """

    __tablename__ = "trusted_documents"

    # SHA-256 hex digest of ``document``, as clients send it in
    # ``extensions.persistedQuery.sha256Hash``.
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    document: Mapped[str] = mapped_column(Text)
    operation_name: Mapped[str | None] = mapped_column(String(200))
    # The file it was registered from, relative to the registered folder (informational).
    source: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[Now]
