"""Job lifecycle: workflow position, leases, drafts, results, workers, skips, transitions.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "job_skip",
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("job_id", sa.String(length=36), nullable=False),
        sa.Column("worker_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("project_id", "job_id", "worker_id", name=op.f("pk_job_skip")),
    )
    op.create_table(
        "job_transition",
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("job_id", sa.String(length=36), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=False),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("from_step", sa.String(length=64), nullable=True),
        sa.Column("to_step", sa.String(length=64), nullable=True),
        sa.Column("worker_id", sa.String(length=36), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("project_id", "id", name=op.f("pk_job_transition")),
    )
    with op.batch_alter_table("job_transition", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_job_transition_project_id_job_id_created_at"),
            ["project_id", "job_id", "created_at"],
            unique=False,
        )

    op.create_table(
        "worker",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["account.id"], name=op.f("fk_worker_account_id_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_worker")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_worker_token_hash")),
    )
    with op.batch_alter_table("worker", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_worker_account_id"), ["account_id"], unique=False)

    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("step_index", sa.SmallInteger(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("queue", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("lease_holder", sa.String(length=36), nullable=True))
        batch_op.add_column(
            sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column(
                "draft",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("comment", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("result_key", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(
            "ix_job_queue",
            ["project_id", "queue", sa.literal_column("priority_weight DESC"), "created_at", "seq"],
            unique=False,
        )

    # Jobs created before this revision wait in their workflow's first step.
    op.execute("UPDATE job SET queue = 'annotate' WHERE status IN ('created', 'in_progress')")

    with op.batch_alter_table("project", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "label_schema",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=True,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("project", schema=None) as batch_op:
        batch_op.drop_column("label_schema")

    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.drop_index("ix_job_queue")
        batch_op.drop_column("completed_at")
        batch_op.drop_column("result_key")
        batch_op.drop_column("comment")
        batch_op.drop_column("draft")
        batch_op.drop_column("lease_expires_at")
        batch_op.drop_column("lease_holder")
        batch_op.drop_column("queue")
        batch_op.drop_column("step_index")

    with op.batch_alter_table("worker", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_worker_account_id"))

    op.drop_table("worker")
    with op.batch_alter_table("job_transition", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_job_transition_project_id_job_id_created_at"))

    op.drop_table("job_transition")
    op.drop_table("job_skip")
