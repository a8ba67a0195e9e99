"""Webhook signing secrets are stored sealed by the server's key: room for the sealed form.

The secrets themselves are sealed when a server starts (``services.webhooks.seal_plain_secrets``),
as the key is not the migration's to read.

Revision ID: 0009_sealed_webhook_secrets
Revises: 0008_point_cloud
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_sealed_webhook_secrets"
down_revision = "0008_point_cloud"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_endpoint") as batch:
        batch.alter_column(
            "secret", existing_type=sa.String(length=128), type_=sa.String(length=512)
        )


def downgrade() -> None:
    with op.batch_alter_table("webhook_endpoint") as batch:
        batch.alter_column(
            "secret", existing_type=sa.String(length=512), type_=sa.String(length=128)
        )
