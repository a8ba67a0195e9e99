"""Pulls of a project from a hosted-API server, queued through /admin/v1/migrations.

Revision ID: 0012_pull_runs
Revises: 0011_audit_analytics_sso
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0012_pull_runs"
down_revision = "0011_audit_analytics_sso"
branch_labels = None
depends_on = None


def upgrade() -> None:
    json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
    op.create_table(
        "pull_run",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("source_url", sa.Text(), nullable=False),
        sa.Column("source_project", sa.String(length=255), nullable=False),
        sa.Column("into_project", sa.String(length=36), nullable=True),
        sa.Column("api_key_sealed", sa.Text(), nullable=True),
        sa.Column("data_from", json, nullable=True),
        sa.Column("concurrency", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("project_id", sa.String(length=36), nullable=True),
        sa.Column("total_jobs", sa.BigInteger(), nullable=False),
        sa.Column("done_jobs", sa.BigInteger(), nullable=False),
        sa.Column("summary", json, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_pull_run_queue", "pull_run", ["status", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_pull_run_queue", table_name="pull_run")
    op.drop_table("pull_run")
