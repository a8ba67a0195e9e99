"""Analytics: active time, gold scores and agreement in the worker rollups, and monthly
rollups (``worker_month``, ``batch_month``) filled from the day rows already kept; the batch
rollups' index covers their counts (as the worker rollups' does).

Revision ID: 0014_analytics_more
Revises: 0013_page_counters
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0014_analytics_more"
down_revision = "0013_page_counters"
branch_labels = None
depends_on = None

OLD_WORKER_COUNTS = (
    "claims",
    "submits",
    "accepts",
    "rejects",
    "skips",
    "accepted_work",
    "rejected_work",
    "finished",
    "work_seconds",
)
NEW_WORKER_COUNTS = ("active_seconds", "gold_jobs", "gold_score_sum", "agreement_jobs")
WORKER_COUNTS = (*OLD_WORKER_COUNTS, *NEW_WORKER_COUNTS, "agreement_sum")
FLOATS = ("gold_score_sum", "agreement_sum")
BATCH_COUNTS = (
    "submits",
    "accepts",
    "rejects",
    "skips",
    "completed",
    "aborted",
    "reopened",
    "finished",
    "work_seconds",
)


def _column(name: str, *, server_default: bool = False) -> sa.Column:  # type: ignore[type-arg]
    kind = sa.Float() if name in FLOATS else sa.BigInteger()
    return sa.Column(name, kind, nullable=False, server_default="0" if server_default else None)


def upgrade() -> None:
    op.drop_index("ix_worker_day_range", table_name="worker_day")
    with op.batch_alter_table("worker_day") as table:
        for name in (*NEW_WORKER_COUNTS, "agreement_sum"):
            table.add_column(_column(name, server_default=True))
    with op.batch_alter_table("worker_day") as table:
        for name in (*NEW_WORKER_COUNTS, "agreement_sum"):
            table.alter_column(name, server_default=None)
    op.create_index(
        "ix_worker_day_range",
        "worker_day",
        ["project_id", "day", "worker_id", "step", *WORKER_COUNTS],
    )
    op.create_table(
        "worker_month",
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("worker_id", sa.String(length=36), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("step", sa.String(length=64), nullable=False),
        *[_column(name) for name in WORKER_COUNTS],
        sa.PrimaryKeyConstraint(
            "project_id", "worker_id", "month", "step", name=op.f("pk_worker_month")
        ),
    )
    op.create_index(
        "ix_worker_month_range",
        "worker_month",
        ["project_id", "month", "worker_id", "step", *WORKER_COUNTS],
    )
    op.create_table(
        "batch_month",
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("batch_id", sa.String(length=36), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        *[_column(name) for name in BATCH_COUNTS],
        sa.PrimaryKeyConstraint("project_id", "batch_id", "month", name=op.f("pk_batch_month")),
    )
    for name, period in (("batch_day", "day"), ("batch_month", "month")):
        op.create_index(f"ix_{name}_range", name, ["project_id", period, "batch_id", *BATCH_COUNTS])
    op.drop_index("ix_batch_day_project_id_day", table_name="batch_day")
    sums = ", ".join(f"SUM({name})" for name in WORKER_COUNTS)
    columns = ", ".join(WORKER_COUNTS)
    op.execute(
        f"INSERT INTO worker_month (project_id, worker_id, month, step, {columns}) "
        f"SELECT project_id, worker_id, SUBSTR(day, 1, 7), step, {sums} FROM worker_day "
        "GROUP BY project_id, worker_id, SUBSTR(day, 1, 7), step"
    )
    sums = ", ".join(f"SUM({name})" for name in BATCH_COUNTS)
    op.execute(
        f"INSERT INTO batch_month (project_id, batch_id, month, {', '.join(BATCH_COUNTS)}) "
        f"SELECT project_id, batch_id, SUBSTR(day, 1, 7), {sums} FROM batch_day "
        "GROUP BY project_id, batch_id, SUBSTR(day, 1, 7)"
    )
    op.create_table(
        "worker_activity",
        sa.Column("project_id", sa.String(36), nullable=False),
        sa.Column("worker_id", sa.String(36), nullable=False),
        sa.Column("last_active_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("project_id", "worker_id"),
    )


def downgrade() -> None:
    op.drop_table("worker_activity")
    op.create_index("ix_batch_day_project_id_day", "batch_day", ["project_id", "day"])
    op.drop_index("ix_batch_day_range", table_name="batch_day")
    op.drop_table("batch_month")
    op.drop_table("worker_month")
    op.drop_index("ix_worker_day_range", table_name="worker_day")
    with op.batch_alter_table("worker_day") as table:
        for name in (*NEW_WORKER_COUNTS, "agreement_sum"):
            table.drop_column(name)
    op.create_index(
        "ix_worker_day_range",
        "worker_day",
        ["project_id", "day", "worker_id", "step", *OLD_WORKER_COUNTS],
    )
