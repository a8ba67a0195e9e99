"""Batches count their jobs in progress, so the owner's project page reads no jobs.

Existing batches are filled in from their jobs (gold jobs are in none of a batch's counters).

Revision ID: 0013_page_counters
Revises: 0012_pull_runs
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_page_counters"
down_revision = "0012_pull_runs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN (not batch mode): rebuilding ``batch`` on SQLite would drop a table the
    # jobs refer to.
    op.add_column(
        "batch", sa.Column("in_progress_jobs", sa.BigInteger(), nullable=False, server_default="0")
    )
    op.execute(
        "UPDATE batch SET in_progress_jobs = ("
        " SELECT count(*) FROM job"
        " WHERE job.project_id = batch.project_id AND job.batch_id = batch.id"
        " AND job.status = 'in_progress' AND NOT job.gold)"
    )


def downgrade() -> None:
    op.drop_column("batch", "in_progress_jobs")
