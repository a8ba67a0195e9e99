"""Point clouds: lidar files of sensor jobs, converted once by the worker for the 3D editor.

Revision ID: 0008_point_cloud
Revises: 0007_media_checks
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_point_cloud"
down_revision = "0007_media_checks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    timestamp = sa.DateTime(timezone=True)
    op.create_table(
        "point_cloud",
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("job_id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("frame_id", sa.Text(), nullable=False),
        sa.Column("sensor_id", sa.Text(), nullable=False),
        sa.Column("field", sa.Text(), nullable=False),
        sa.Column("source_url", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", timestamp, nullable=False),
        sa.Column("locked_until", timestamp, nullable=True),
        sa.Column("blob_key", sa.String(length=255), nullable=True),
        sa.Column("points", sa.BigInteger(), nullable=True),
        sa.Column("source_points", sa.BigInteger(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", timestamp, nullable=False),
        sa.Column("updated_at", timestamp, nullable=False),
        sa.PrimaryKeyConstraint("project_id", "job_id", "position", name="pk_point_cloud"),
    )
    op.create_index("ix_point_cloud_due", "point_cloud", ["status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_point_cloud_due", table_name="point_cloud")
    op.drop_table("point_cloud")
