"""Quality rules: project settings, assignments, reject reasons, annotators, consensus
versions, worker groups, gold scores, worker tallies, and a detail on each transition.

Revision ID: 0010_quality
Revises: 0009_sealed_webhook_secrets
Create Date: 2026-12-01
"""

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010_quality"
down_revision = "0009_sealed_webhook_secrets"
branch_labels = None
depends_on = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    # Plain ADD COLUMN (SQLite supports it): a batch copy of ``job`` would have to rebuild the
    # expression index ix_job_queue, which batch mode cannot reflect.
    op.add_column("project", sa.Column("quality", _json(), nullable=True))
    op.add_column("job", sa.Column("assigned_worker", sa.String(length=36), nullable=True))
    op.add_column("job", sa.Column("assigned_group", sa.String(length=36), nullable=True))
    op.add_column(
        "job",
        sa.Column("assigned_only", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column("job", sa.Column("reject_reasons", _json(), nullable=True))
    op.create_index(
        "ix_job_assigned",
        "job",
        [
            "project_id",
            "queue",
            "assigned_worker",
            sa.literal_column("priority_weight DESC"),
            "created_at",
            "seq",
        ],
        unique=False,
    )
    # Jobs made before are ordinary work, TEST ones included (they had no gold answer).
    op.add_column("job", sa.Column("gold", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column("job_transition", sa.Column("detail", _json(), nullable=True))

    for name in ("job_annotator",):
        op.create_table(
            name,
            sa.Column("project_id", sa.String(length=36), nullable=False),
            sa.Column("job_id", sa.String(length=36), nullable=False),
            sa.Column("worker_id", sa.String(length=36), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint("project_id", "job_id", "worker_id", name=op.f(f"pk_{name}")),
        )
    op.create_table(
        "job_version",
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("job_id", sa.String(length=36), nullable=False),
        sa.Column("worker_id", sa.String(length=36), nullable=False),
        sa.Column("annotations", _json(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("project_id", "job_id", "worker_id", name=op.f("pk_job_version")),
    )
    op.create_table(
        "worker_group",
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["project.id"], name=op.f("fk_worker_group_project_id_project")
        ),
        sa.PrimaryKeyConstraint("project_id", "id", name=op.f("pk_worker_group")),
        sa.UniqueConstraint("project_id", "name", name=op.f("uq_worker_group_project_id_name")),
    )
    op.create_table(
        "worker_group_member",
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("group_id", sa.String(length=36), nullable=False),
        sa.Column("worker_id", sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint(
            "project_id", "group_id", "worker_id", name=op.f("pk_worker_group_member")
        ),
    )
    op.create_index(
        op.f("ix_worker_group_member_project_id_worker_id"),
        "worker_group_member",
        ["project_id", "worker_id"],
    )
    op.create_table(
        "gold_score",
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("job_id", sa.String(length=36), nullable=False),
        sa.Column("worker_id", sa.String(length=36), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("parts", _json(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("project_id", "id", name=op.f("pk_gold_score")),
    )
    op.create_index(
        op.f("ix_gold_score_project_id_worker_id_created_at"),
        "gold_score",
        ["project_id", "worker_id", "created_at"],
    )
    op.create_table(
        "worker_tally",
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("worker_id", sa.String(length=36), nullable=False),
        sa.Column("accepted", sa.BigInteger(), nullable=False),
        sa.Column("rejected", sa.BigInteger(), nullable=False),
        sa.Column("gold_jobs", sa.BigInteger(), nullable=False),
        sa.Column("gold_score_sum", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("project_id", "worker_id", name=op.f("pk_worker_tally")),
    )


def downgrade() -> None:
    op.drop_table("worker_tally")
    op.drop_index(op.f("ix_gold_score_project_id_worker_id_created_at"), table_name="gold_score")
    op.drop_table("gold_score")
    op.drop_index(
        op.f("ix_worker_group_member_project_id_worker_id"), table_name="worker_group_member"
    )
    op.drop_table("worker_group_member")
    op.drop_table("worker_group")
    op.drop_table("job_version")
    op.drop_table("job_annotator")
    op.drop_index("ix_job_assigned", table_name="job")
    op.execute("UPDATE job SET queue = 'annotate' WHERE queue = 'gold'")
    for table, column in (
        ("job_transition", "detail"),
        ("job", "reject_reasons"),
        ("job", "gold"),
        ("job", "assigned_only"),
        ("job", "assigned_group"),
        ("job", "assigned_worker"),
        ("project", "quality"),
    ):
        op.drop_column(table, column)
