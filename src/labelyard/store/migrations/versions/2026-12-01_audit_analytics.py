"""The audit log (append-only: the database refuses updates and deletes), the analytics
rollups per worker and per batch, by day, and single sign-on (providers, worker identities).

Revision ID: 0011_audit_analytics_sso
Revises: 0010_quality
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0011_audit_analytics_sso"
down_revision = "0010_quality"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
COUNTS = ("claims", "submits", "accepts", "rejects", "skips")
WORKER_COUNTS = (*COUNTS, "accepted_work", "rejected_work", "finished", "work_seconds")

PG_GUARD = """
CREATE FUNCTION audit_entry_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_entry is append-only';
END
$$ LANGUAGE plpgsql
"""


def _counts(*names: str) -> list[sa.Column]:  # type: ignore[type-arg]
    return [sa.Column(name, sa.BigInteger(), nullable=False) for name in names]


def upgrade() -> None:
    op.create_table(
        "audit_entry",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=True),
        sa.Column("project_id", sa.String(length=36), nullable=True),
        sa.Column("actor_kind", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target_type", sa.String(length=32), nullable=False),
        sa.Column("target_id", sa.String(length=64), nullable=False),
        sa.Column("summary", JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_entry")),
        sa.UniqueConstraint("id", name=op.f("uq_audit_entry_id")),
    )
    op.create_index(op.f("ix_audit_entry_account_id_seq"), "audit_entry", ["account_id", "seq"])
    op.create_index(op.f("ix_audit_entry_project_id_seq"), "audit_entry", ["project_id", "seq"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_GUARD)
        op.execute(
            "CREATE TRIGGER audit_entry_append_only BEFORE UPDATE OR DELETE ON audit_entry "
            "FOR EACH ROW EXECUTE FUNCTION audit_entry_append_only()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_entry_no_{verb.lower()} BEFORE {verb} ON audit_entry "
                "BEGIN SELECT RAISE(ABORT, 'audit_entry is append-only'); END"
            )

    op.create_table(
        "worker_day",
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("worker_id", sa.String(length=36), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("step", sa.String(length=64), nullable=False),
        *_counts(*WORKER_COUNTS),
        sa.PrimaryKeyConstraint(
            "project_id", "worker_id", "day", "step", name=op.f("pk_worker_day")
        ),
    )
    op.create_index(
        "ix_worker_day_range",
        "worker_day",
        ["project_id", "day", "worker_id", "step", *WORKER_COUNTS],
    )
    op.create_table(
        "batch_day",
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("batch_id", sa.String(length=36), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        *_counts(*COUNTS[1:], "completed", "aborted", "reopened", "finished", "work_seconds"),
        sa.PrimaryKeyConstraint("project_id", "batch_id", "day", name=op.f("pk_batch_day")),
    )
    op.create_index(op.f("ix_batch_day_project_id_day"), "batch_day", ["project_id", "day"])

    with op.batch_alter_table("worker") as worker:
        worker.add_column(sa.Column("email", sa.String(length=255), nullable=True))
        worker.add_column(sa.Column("sso_subject", sa.String(length=255), nullable=True))
        worker.create_index(op.f("ix_worker_account_id_email"), ["account_id", "email"])
        worker.create_index(op.f("ix_worker_account_id_sso_subject"), ["account_id", "sso_subject"])
    op.create_table(
        "sso_provider",
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("issuer", sa.Text(), nullable=False),
        sa.Column("client_id", sa.String(length=255), nullable=False),
        sa.Column("client_secret_sealed", sa.Text(), nullable=False),
        sa.Column("match", sa.String(length=16), nullable=False),
        sa.Column("owners", JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["account.id"], name=op.f("fk_sso_provider_account_id_account")
        ),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_sso_provider")),
    )


def downgrade() -> None:
    op.drop_table("sso_provider")
    with op.batch_alter_table("worker") as worker:
        worker.drop_index(op.f("ix_worker_account_id_sso_subject"))
        worker.drop_index(op.f("ix_worker_account_id_email"))
        worker.drop_column("sso_subject")
        worker.drop_column("email")
    op.drop_index(op.f("ix_batch_day_project_id_day"), table_name="batch_day")
    op.drop_table("batch_day")
    op.drop_index("ix_worker_day_range", table_name="worker_day")
    op.drop_table("worker_day")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_entry_append_only ON audit_entry")
        op.execute("DROP FUNCTION audit_entry_append_only()")
    op.drop_index(op.f("ix_audit_entry_project_id_seq"), table_name="audit_entry")
    op.drop_index(op.f("ix_audit_entry_account_id_seq"), table_name="audit_entry")
    op.drop_table("audit_entry")
