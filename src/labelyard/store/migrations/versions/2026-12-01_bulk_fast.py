"""``ix_job_assigned`` holds only assigned jobs: claims look it up for jobs assigned to the
claiming worker (``assigned_worker = ?``) and nothing else, yet every job took an entry in it,
so each create wrote an index entry no read needed (the open look of a claim walks
``ix_job_queue``).

Revision ID: 0017_bulk_fast
Revises: 0014_analytics_more
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017_bulk_fast"
down_revision = "0014_analytics_more"
branch_labels = None
depends_on = None

COLUMNS: list[str | sa.TextClause | sa.ColumnElement[object]] = [
    "project_id",
    "queue",
    "assigned_worker",
    sa.literal_column("priority_weight DESC"),
    "created_at",
    "seq",
]
ASSIGNED = sa.text("assigned_worker IS NOT NULL")


def upgrade() -> None:
    op.drop_index("ix_job_assigned", table_name="job")
    op.create_index(
        "ix_job_assigned",
        "job",
        COLUMNS,
        unique=False,
        sqlite_where=ASSIGNED,
        postgresql_where=ASSIGNED,
    )


def downgrade() -> None:
    op.drop_index("ix_job_assigned", table_name="job")
    op.create_index("ix_job_assigned", "job", COLUMNS, unique=False)
