"""jobs

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26

Background jobs (the source of truth for their status), job files stored in chunks,
AI triage insights, and the (import job, line) key that makes retried imports idempotent.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("workspace_id", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("IMPORT_ISSUES", "EXPORT_PROJECT", "TRIAGE_ISSUE", name="job_kind"),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum("QUEUED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELED", name="job_status"),
            nullable=False,
        ),
        sa.Column("progress", sa.Float(), server_default="0", nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column(
            "params", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column("result", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("max_attempts", sa.Integer(), server_default="3", nullable=False),
        sa.Column("enqueue_seq", sa.Integer(), server_default="1", nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.Column("request_id", sa.String(length=128), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_jobs_created_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_jobs_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
    )
    op.create_index(
        "ix_jobs_created_by_idempotency_key",
        "jobs",
        ["created_by", "idempotency_key", "created_at"],
        unique=False,
        postgresql_where=sa.text("idempotency_key IS NOT NULL"),
    )
    op.create_index("ix_jobs_finished_at", "jobs", ["finished_at"], unique=False)
    op.create_index(
        "ix_jobs_live_status_updated_at",
        "jobs",
        ["status", "updated_at"],
        unique=False,
        postgresql_where=sa.text("status IN ('QUEUED', 'RUNNING')"),
    )
    op.create_index(
        "ix_jobs_workspace_id_created_at_id",
        "jobs",
        ["workspace_id", "created_at", "id"],
        unique=False,
    )
    op.create_table(
        "job_files",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("job_id", sa.BigInteger(), nullable=False),
        sa.Column("purpose", sa.String(length=20), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_job_files_job_id_jobs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_files")),
        sa.UniqueConstraint("job_id", "purpose", name=op.f("uq_job_files_job_id_purpose")),
    )
    op.create_index(op.f("ix_job_files_expires_at"), "job_files", ["expires_at"], unique=False)
    op.create_table(
        "issue_insights",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("issue_id", sa.BigInteger(), nullable=False),
        sa.Column("workspace_id", sa.BigInteger(), nullable=False),
        sa.Column("job_id", sa.BigInteger(), nullable=True),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("suggested_label_ids", postgresql.ARRAY(sa.BigInteger()), nullable=False),
        sa.Column(
            "suggested_priority",
            postgresql.ENUM(name="issue_priority", create_type=False),
            nullable=False,
        ),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["issue_id"],
            ["issues.id"],
            name=op.f("fk_issue_insights_issue_id_issues"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_issue_insights_job_id_jobs"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_issue_insights_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_issue_insights")),
        sa.UniqueConstraint("job_id", name=op.f("uq_issue_insights_job_id")),
    )
    op.create_index(
        "ix_issue_insights_issue_id_created_at_id",
        "issue_insights",
        ["issue_id", "created_at", "id"],
        unique=False,
    )
    op.create_table(
        "job_file_chunks",
        sa.Column("file_id", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["file_id"],
            ["job_files.id"],
            name=op.f("fk_job_file_chunks_file_id_job_files"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("file_id", "seq", name=op.f("pk_job_file_chunks")),
    )
    op.add_column("issues", sa.Column("import_job_id", sa.BigInteger(), nullable=True))
    op.add_column("issues", sa.Column("import_line", sa.Integer(), nullable=True))
    op.create_unique_constraint(
        op.f("uq_issues_import_job_id_import_line"), "issues", ["import_job_id", "import_line"]
    )
    op.create_foreign_key(
        op.f("fk_issues_import_job_id_jobs"),
        "issues",
        "jobs",
        ["import_job_id"],
        ["id"],
        ondelete="SET NULL",
        use_alter=True,
    )


def downgrade() -> None:
    op.drop_constraint(op.f("fk_issues_import_job_id_jobs"), "issues", type_="foreignkey")
    op.drop_constraint(op.f("uq_issues_import_job_id_import_line"), "issues", type_="unique")
    op.drop_column("issues", "import_line")
    op.drop_column("issues", "import_job_id")
    op.drop_table("job_file_chunks")
    op.drop_index("ix_issue_insights_issue_id_created_at_id", table_name="issue_insights")
    op.drop_table("issue_insights")
    op.drop_index(op.f("ix_job_files_expires_at"), table_name="job_files")
    op.drop_table("job_files")
    op.drop_index("ix_jobs_workspace_id_created_at_id", table_name="jobs")
    op.drop_index(
        "ix_jobs_live_status_updated_at",
        table_name="jobs",
        postgresql_where=sa.text("status IN ('QUEUED', 'RUNNING')"),
    )
    op.drop_index("ix_jobs_finished_at", table_name="jobs")
    op.drop_index(
        "ix_jobs_created_by_idempotency_key",
        table_name="jobs",
        postgresql_where=sa.text("idempotency_key IS NOT NULL"),
    )
    op.drop_table("jobs")
    bind = op.get_bind()
    for enum_name in ("job_status", "job_kind"):
        sa.Enum(name=enum_name).drop(bind, checkfirst=True)
