"""Web UI sign-in: workers may have a username and a password hash.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("worker") as batch:
        batch.add_column(sa.Column("username", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("password_hash", sa.String(length=255), nullable=True))
        batch.create_unique_constraint("uq_worker_username", ["username"])


def downgrade() -> None:
    with op.batch_alter_table("worker") as batch:
        batch.drop_constraint("uq_worker_username", type_="unique")
        batch.drop_column("password_hash")
        batch.drop_column("username")
