"""job trace context

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03

The trace of the request that started a job (W3C trace headers), while tracing is on, so every
run of the job continues it (app/observability/tracing.py). Nullable, and unread by older code.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"


def upgrade() -> None:
    op.add_column(
        "jobs",
        sa.Column("trace_context", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    )


def downgrade() -> None:
    op.drop_column("jobs", "trace_context")
