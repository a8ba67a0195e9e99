"""Initial schema: accounts, API keys, projects, workflows, batches (with counters), jobs.

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "account",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account")),
    )
    op.create_table(
        "server_secret",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_server_secret")),
    )
    op.create_table(
        "api_key",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["account.id"], name=op.f("fk_api_key_account_id_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_key")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_key_key_hash")),
    )
    with op.batch_alter_table("api_key", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_key_account_id"), ["account_id"], unique=False)

    op.create_table(
        "project",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("base", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["account.id"], name=op.f("fk_project_account_id_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project")),
    )
    with op.batch_alter_table("project", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_project_account_id"), ["account_id"], unique=False)

    op.create_table(
        "batch",
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("total_jobs", sa.BigInteger(), nullable=False),
        sa.Column("completed_jobs", sa.BigInteger(), nullable=False),
        sa.Column("aborted_jobs", sa.BigInteger(), nullable=False),
        sa.Column("total_frames", sa.BigInteger(), nullable=False),
        sa.Column("completed_frames", sa.BigInteger(), nullable=False),
        sa.Column("annotations", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["project.id"], name=op.f("fk_batch_project_id_project")
        ),
        sa.PrimaryKeyConstraint("project_id", "id", name=op.f("pk_batch")),
        sa.UniqueConstraint("project_id", "name", name=op.f("uq_batch_project_id_name")),
    )
    op.create_table(
        "workflow",
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("tag", sa.String(length=255), nullable=False),
        sa.Column(
            "steps",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["project.id"], name=op.f("fk_workflow_project_id_project")
        ),
        sa.PrimaryKeyConstraint("project_id", "id", name=op.f("pk_workflow")),
        sa.UniqueConstraint("project_id", "tag", name=op.f("uq_workflow_project_id_tag")),
    )
    op.create_table(
        "job",
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("batch_id", sa.String(length=36), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("reference_id", sa.String(length=255), nullable=False),
        sa.Column("payload_hash", sa.String(length=64), nullable=False),
        sa.Column("workflow_id", sa.String(length=36), nullable=False),
        sa.Column("tag", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("priority_weight", sa.SmallInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("frames", sa.Integer(), nullable=False),
        sa.Column("annotations", sa.Integer(), nullable=False),
        sa.Column(
            "data",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id", "batch_id"],
            ["batch.project_id", "batch.id"],
            name=op.f("fk_job_project_id_batch_id_batch"),
        ),
        sa.ForeignKeyConstraint(
            ["project_id", "workflow_id"],
            ["workflow.project_id", "workflow.id"],
            name=op.f("fk_job_project_id_workflow_id_workflow"),
        ),
        sa.PrimaryKeyConstraint("project_id", "id", name=op.f("pk_job")),
        sa.UniqueConstraint(
            "project_id", "batch_id", "seq", name=op.f("uq_job_project_id_batch_id_seq")
        ),
        sa.UniqueConstraint(
            "project_id", "reference_id", name=op.f("uq_job_project_id_reference_id")
        ),
    )


def downgrade() -> None:
    op.drop_table("job")
    op.drop_table("workflow")
    op.drop_table("batch")
    with op.batch_alter_table("project", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_project_account_id"))

    op.drop_table("project")
    with op.batch_alter_table("api_key", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_key_account_id"))

    op.drop_table("api_key")
    op.drop_table("server_secret")
    op.drop_table("account")
