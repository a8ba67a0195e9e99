"""Media checks: a job's media error, and the queue of checks the worker runs.

Revision ID: 0007_media_checks
Revises: 0006_storage_connection
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_media_checks"
down_revision = "0006_storage_connection"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("job") as batch:
        batch.add_column(sa.Column("media_error", sa.Text(), nullable=True))
    op.create_table(
        "media_check",
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("job_id", sa.String(length=36), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("project_id", "job_id", name=op.f("pk_media_check")),
    )
    op.create_index("ix_media_check_due", "media_check", ["next_attempt_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_media_check_due", table_name="media_check")
    op.drop_table("media_check")
    with op.batch_alter_table("job") as batch:
        batch.drop_column("media_error")
