"""Storage connections: an account's object-store credentials for presigning job media.

Revision ID: 0006_storage_connection
Revises: 0005_revoked_session
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_storage_connection"
down_revision = "0005_revoked_session"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "storage_connection",
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("scheme", sa.String(length=8), nullable=False),
        sa.Column("endpoint_url", sa.Text(), nullable=False),
        sa.Column("region", sa.String(length=64), nullable=False),
        sa.Column("bucket_prefix", sa.String(length=255), nullable=False),
        sa.Column("access_key_id", sa.String(length=255), nullable=False),
        sa.Column("secret_sealed", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
            name=op.f("fk_storage_connection_account_id_account"),
        ),
        sa.PrimaryKeyConstraint("account_id", "id", name=op.f("pk_storage_connection")),
        sa.UniqueConstraint(
            "account_id",
            "scheme",
            "bucket_prefix",
            name=op.f("uq_storage_connection_account_id_scheme_bucket_prefix"),
        ),
    )


def downgrade() -> None:
    op.drop_table("storage_connection")
