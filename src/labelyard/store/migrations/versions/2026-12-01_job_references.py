"""A job's batch and workflow are checked once per create transaction, not per job row.

The foreign keys ``job (project_id, batch_id) → batch`` and ``job (project_id, workflow_id) →
workflow`` made the database look up (and on PostgreSQL lock, ``FOR KEY SHARE``) the batch
and the workflow for every job row inserted: on PostgreSQL about half of the ``COPY`` of a bulk
create's 10,000 jobs, all of them naming the same one or two rows. Jobs are inserted in one
place only (``services.jobs._insert``), which now checks the same thing once per call, in the
inserting transaction: each batch row is updated (its positions and counters, under the row
lock) and the call's workflows are read before the jobs go in. Batches and workflows are never
deleted and their keys never change, and no statement changes a job's batch or workflow; a
future delete of either must refuse while jobs name it.

On SQLite the ``job`` table is rebuilt without them (batch mode); its two queue indexes are
made again as they were (the rebuild would lose ``priority_weight DESC``).

Revision ID: 0018_job_references
Revises: 0017_bulk_fast
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018_job_references"
down_revision = "0017_bulk_fast"
branch_labels = None
depends_on = None

BATCH_FK = "fk_job_project_id_batch_id_batch"
WORKFLOW_FK = "fk_job_project_id_workflow_id_workflow"

_ORDER: list[str | sa.TextClause | sa.ColumnElement[object]] = [
    sa.literal_column("priority_weight DESC"),
    "created_at",
    "seq",
]
ASSIGNED = sa.text("assigned_worker IS NOT NULL")


def _drop_queue_indexes() -> None:
    op.drop_index("ix_job_queue", table_name="job")
    op.drop_index("ix_job_assigned", table_name="job")


def _create_queue_indexes() -> None:
    op.create_index("ix_job_queue", "job", ["project_id", "queue", *_ORDER], unique=False)
    op.create_index(
        "ix_job_assigned",
        "job",
        ["project_id", "queue", "assigned_worker", *_ORDER],
        unique=False,
        sqlite_where=ASSIGNED,
        postgresql_where=ASSIGNED,
    )


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        _drop_queue_indexes()
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.drop_constraint(BATCH_FK, type_="foreignkey")
        batch_op.drop_constraint(WORKFLOW_FK, type_="foreignkey")
    if sqlite:
        _create_queue_indexes()


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        _drop_queue_indexes()
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.create_foreign_key(
            BATCH_FK, "batch", ["project_id", "batch_id"], ["project_id", "id"]
        )
        batch_op.create_foreign_key(
            WORKFLOW_FK, "workflow", ["project_id", "workflow_id"], ["project_id", "id"]
        )
    if sqlite:
        _create_queue_indexes()
