"""ORM models of the legacy layer, mapped onto the tables the new service owns.

The schema (tables, enums, indexes) is created and migrated by the new service's Alembic
migrations; these classes only map the columns the legacy layer reads or writes. Relationships
use SQLAlchemy's default lazy loading, so resolvers can simply walk ``issue.reporter``,
``issue.labels`` or ``issue.comments`` -- each walk is a query of its own (the N+1 the new
service's DataLoaders remove).
"""

import enum

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Enum,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    func,
)
from sqlalchemy.orm import declarative_base, relationship

Base = declarative_base()


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
    NONE = "NONE"
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"
    URGENT = "URGENT"


# The PostgreSQL enum types already exist; never try to create them.
role_type = Enum(Role, name="role", create_type=False)
issue_status_type = Enum(IssueStatus, name="issue_status", create_type=False)
issue_priority_type = Enum(IssuePriority, name="issue_priority", create_type=False)


class User(Base):
    __tablename__ = "users"

    id = Column(BigInteger, primary_key=True)
    email = Column(String(320), nullable=False)
    name = Column(String(200), nullable=False)
    created_at = Column(DateTime(timezone=True), server_default=func.now())

    memberships = relationship("Membership", back_populates="user")


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id = Column(BigInteger, primary_key=True)
    user_id = Column(BigInteger, ForeignKey("users.id"), nullable=False)
    token_hash = Column(String(64), nullable=False, unique=True)  # SHA-256 hex of the token
    label = Column(String(200))
    created_at = Column(DateTime(timezone=True), server_default=func.now())
    expires_at = Column(DateTime(timezone=True))
    revoked_at = Column(DateTime(timezone=True))
    last_used_at = Column(DateTime(timezone=True))

    user = relationship("User")


class Workspace(Base):
    __tablename__ = "workspaces"

    id = Column(BigInteger, primary_key=True)
    slug = Column(String(40), nullable=False, unique=True)
    name = Column(String(200), nullable=False)
    created_at = Column(DateTime(timezone=True), server_default=func.now())

    projects = relationship("Project", back_populates="workspace", order_by="Project.key")
    memberships = relationship("Membership", back_populates="workspace")


class Membership(Base):
    __tablename__ = "memberships"

    id = Column(BigInteger, primary_key=True)
    workspace_id = Column(BigInteger, ForeignKey("workspaces.id"), nullable=False)
    user_id = Column(BigInteger, ForeignKey("users.id"), nullable=False)
    role = Column(role_type, nullable=False)
    created_at = Column(DateTime(timezone=True), server_default=func.now())

    user = relationship("User", back_populates="memberships")
    workspace = relationship("Workspace", back_populates="memberships")


class Project(Base):
    __tablename__ = "projects"

    id = Column(BigInteger, primary_key=True)
    workspace_id = Column(BigInteger, ForeignKey("workspaces.id"), nullable=False)
    key = Column(String(10), nullable=False)
    name = Column(String(200), nullable=False)
    description = Column(Text, nullable=False, server_default="")
    # Last issue number handed out; bumped with UPDATE ... RETURNING (see schema.CreateIssue).
    issue_counter = Column(Integer, nullable=False, server_default="0")
    created_at = Column(DateTime(timezone=True), server_default=func.now())

    workspace = relationship("Workspace", back_populates="projects")
    # A query object, so a resolver can add ORDER BY / OFFSET / LIMIT to it.
    issues = relationship("Issue", back_populates="project", lazy="dynamic")


# The association table is a plain Table: the ORM only walks it (Issue.labels).
issue_labels = Table(
    "issue_labels",
    Base.metadata,
    Column("issue_id", BigInteger, ForeignKey("issues.id"), primary_key=True),
    Column("label_id", BigInteger, ForeignKey("labels.id"), primary_key=True),
)


class Label(Base):
    __tablename__ = "labels"

    id = Column(BigInteger, primary_key=True)
    workspace_id = Column(BigInteger, ForeignKey("workspaces.id"), nullable=False)
    name = Column(String(200), nullable=False)
    color = Column(String(7), nullable=False)
    created_at = Column(DateTime(timezone=True), server_default=func.now())


class Issue(Base):
    __tablename__ = "issues"

    id = Column(BigInteger, primary_key=True)
    workspace_id = Column(BigInteger, ForeignKey("workspaces.id"), nullable=False)
    project_id = Column(BigInteger, ForeignKey("projects.id"), nullable=False)
    number = Column(Integer, nullable=False)
    title = Column(String(200), nullable=False)
    body = Column(Text, nullable=False, server_default="")
    status = Column(issue_status_type, nullable=False)
    priority = Column(issue_priority_type, nullable=False)
    reporter_id = Column(BigInteger, ForeignKey("users.id"), nullable=False)
    assignee_id = Column(BigInteger, ForeignKey("users.id"))
    created_at = Column(DateTime(timezone=True), server_default=func.now())
    updated_at = Column(DateTime(timezone=True), server_default=func.now())
    closed_at = Column(DateTime(timezone=True))

    project = relationship("Project", back_populates="issues")
    reporter = relationship("User", foreign_keys=[reporter_id])
    assignee = relationship("User", foreign_keys=[assignee_id])
    labels = relationship("Label", secondary=issue_labels, order_by=lambda: [Label.name, Label.id])
    # A query object, so a resolver can page it with OFFSET / LIMIT.
    comments = relationship(
        "Comment",
        back_populates="issue",
        lazy="dynamic",
        order_by=lambda: [Comment.created_at, Comment.id],
    )

    @property
    def identifier(self):
        return f"{self.project.key}-{self.number}"


class Comment(Base):
    __tablename__ = "comments"

    id = Column(BigInteger, primary_key=True)
    workspace_id = Column(BigInteger, ForeignKey("workspaces.id"), nullable=False)
    issue_id = Column(BigInteger, ForeignKey("issues.id"), nullable=False)
    author_id = Column(BigInteger, ForeignKey("users.id"), nullable=False)
    body = Column(Text, nullable=False)
    created_at = Column(DateTime(timezone=True), server_default=func.now())
    updated_at = Column(DateTime(timezone=True), server_default=func.now())

    issue = relationship("Issue", back_populates="comments")
    author = relationship("User")
