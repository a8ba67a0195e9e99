"""The schema. Migrations under ``migrations/`` must produce exactly this (``alembic check``).

Every table that holds project data leads its keys and indexes with ``project_id`` so the jobs
tables can be partitioned or distributed by project (DESIGN.md, invariant 7).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

Json = JSON().with_variant(JSONB(), "postgresql")
Id = String(36)
Timestamp = DateTime(timezone=True)

server_secret = Table(
    "server_secret",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", String(128), nullable=False),
)

# Web UI sessions ended by signing out before they expired (their cookies no longer work).
revoked_session = Table(
    "revoked_session",
    metadata,
    Column("nonce", String(64), primary_key=True),
    Column("expires_at", Timestamp, nullable=False),
    Index(None, "expires_at"),
)

account = Table(
    "account",
    metadata,
    Column("id", Id, primary_key=True),
    Column("name", String(255), nullable=False),
    Column("created_at", Timestamp, nullable=False),
)

api_key = Table(
    "api_key",
    metadata,
    Column("id", Id, primary_key=True),
    Column("account_id", Id, nullable=False),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("prefix", String(16), nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("revoked_at", Timestamp),
    ForeignKeyConstraint(["account_id"], ["account.id"]),
    Index(None, "account_id"),
)

# An account's connections to its object stores (S3, S3-compatible, GCS through its XML API):
# job media under ``s3://`` / ``gs://`` URLs whose bucket path starts with ``bucket_prefix``
# reach the browser as presigned links made with these credentials.
storage_connection = Table(
    "storage_connection",
    metadata,
    Column("account_id", Id, nullable=False),
    Column("id", Id, nullable=False),
    Column("scheme", String(8), nullable=False),  # "s3" or "gs"
    Column("endpoint_url", Text, nullable=False, default=""),
    Column("region", String(64), nullable=False, default=""),
    Column("bucket_prefix", String(255), nullable=False),
    Column("access_key_id", String(255), nullable=False),
    # Encrypted with the server's secret key (labelyard.secretbox); never returned.
    Column("secret_sealed", Text, nullable=False),
    Column("created_at", Timestamp, nullable=False),
    PrimaryKeyConstraint("account_id", "id"),
    UniqueConstraint("account_id", "scheme", "bucket_prefix"),
    ForeignKeyConstraint(["account_id"], ["account.id"]),
)

project = Table(
    "project",
    metadata,
    Column("id", Id, primary_key=True),
    Column("account_id", Id, nullable=False),
    Column("name", String(255), nullable=False),
    Column("base", String(32), nullable=False),
    Column("label_schema", Json),
    # The quality rules (core.quality.QualitySettings); NULL: the defaults.
    Column("quality", Json),
    Column("created_at", Timestamp, nullable=False),
    ForeignKeyConstraint(["account_id"], ["account.id"]),
    Index(None, "account_id"),
)

workflow = Table(
    "workflow",
    metadata,
    Column("project_id", Id, nullable=False),
    Column("id", Id, nullable=False),
    Column("name", String(255), nullable=False),
    Column("tag", String(255), nullable=False),
    Column("steps", Json, nullable=False),
    Column("is_default", Boolean, nullable=False, default=False),
    Column("created_at", Timestamp, nullable=False),
    PrimaryKeyConstraint("project_id", "id"),
    UniqueConstraint("project_id", "tag"),
    ForeignKeyConstraint(["project_id"], ["project.id"]),
)

batch = Table(
    "batch",
    metadata,
    Column("project_id", Id, nullable=False),
    Column("id", Id, nullable=False),
    Column("name", String(255), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("label", Text, nullable=False, default=""),
    Column("is_default", Boolean, nullable=False, default=False),
    Column("created_at", Timestamp, nullable=False),
    # Jobs take their keyset position from here under the row lock, so positions in a batch
    # are handed out in commit order and a reader never sees a later one before an earlier one.
    Column("last_seq", BigInteger, nullable=False, default=0),
    Column("total_jobs", BigInteger, nullable=False, default=0),
    Column("completed_jobs", BigInteger, nullable=False, default=0),
    Column("aborted_jobs", BigInteger, nullable=False, default=0),
    # Jobs in progress (claimed at least once, not finished): with the three above, the owner's
    # progress bar by status without counting jobs. Gold jobs are in none of them.
    Column("in_progress_jobs", BigInteger, nullable=False, default=0),
    Column("total_frames", BigInteger, nullable=False, default=0),
    Column("completed_frames", BigInteger, nullable=False, default=0),
    Column("annotations", BigInteger, nullable=False, default=0),
    PrimaryKeyConstraint("project_id", "id"),
    UniqueConstraint("project_id", "name"),
    ForeignKeyConstraint(["project_id"], ["project.id"]),
)

job = Table(
    "job",
    metadata,
    Column("project_id", Id, nullable=False),
    Column("id", Id, nullable=False),
    Column("batch_id", Id, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("reference_id", String(255), nullable=False),
    Column("payload_hash", String(64), nullable=False),
    Column("workflow_id", Id, nullable=False),
    Column("tag", String(255), nullable=False),
    Column("type", String(16), nullable=False),
    Column("priority_weight", SmallInteger, nullable=False),
    Column("status", String(16), nullable=False),
    Column("frames", Integer, nullable=False),
    Column("annotations", Integer, nullable=False, default=0),
    Column("data", Json, nullable=False),
    # Lifecycle: where the job is in its workflow, who holds it, the work so far.
    Column("step_index", SmallInteger, nullable=False, default=0),
    # The step kind ("annotate"/"review") while the job waits for or is under work; NULL once
    # completed or aborted, so finished jobs leave the queue index.
    Column("queue", String(16)),
    Column("lease_holder", Id),
    Column("lease_expires_at", Timestamp),
    Column("draft", Json),
    Column("comment", Text),
    Column("result_key", String(255)),
    # A gold job (type TEST with data.gold): scored, never reviewed, completed or counted.
    Column("gold", Boolean, nullable=False, default=False),
    # Who may claim the job in its current step (core.quality.Assignment): a worker (alone, or
    # first), a group, or anyone when both are NULL.
    Column("assigned_worker", Id),
    Column("assigned_group", Id),
    Column("assigned_only", Boolean, nullable=False, default=False),
    # The error types of the last reject (with ``comment``), for the annotator.
    Column("reject_reasons", Json),
    # Why the job's media could not be read (set by the worker's media check); such a job is
    # not handed to annotators until the owner retries the check and it passes.
    Column("media_error", Text),
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    Column("completed_at", Timestamp),
    PrimaryKeyConstraint("project_id", "id"),
    UniqueConstraint("project_id", "reference_id"),
    UniqueConstraint("project_id", "batch_id", "seq"),
    # No foreign keys to the batch and the workflow: a job create checks both once per
    # transaction (services.jobs._insert; migration 0018_job_references says why).
)

# The work queue: free jobs of a step, highest priority first, then oldest.
Index(
    "ix_job_queue",
    job.c.project_id,
    job.c.queue,
    job.c.priority_weight.desc(),
    job.c.created_at,
    job.c.seq,
)

# The jobs of a step assigned to one worker, in queue order (their claims look here first).
# Only assigned jobs have an entry: most jobs are assigned to nobody, and a create writes none.
Index(
    "ix_job_assigned",
    job.c.project_id,
    job.c.queue,
    job.c.assigned_worker,
    job.c.priority_weight.desc(),
    job.c.created_at,
    job.c.seq,
    sqlite_where=job.c.assigned_worker.is_not(None),
    postgresql_where=job.c.assigned_worker.is_not(None),
)
# Media checks to run: one row per job whose media the worker has yet to read (written with the
# job, or by the owner's retry); removed once the check has an outcome.
media_check = Table(
    "media_check",
    metadata,
    Column("project_id", Id, nullable=False),
    Column("job_id", Id, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", Timestamp, nullable=False),
    Column("locked_until", Timestamp),
    Column("last_error", Text),
    Column("created_at", Timestamp, nullable=False),
    PrimaryKeyConstraint("project_id", "job_id"),
)
# The workers' queue of due checks, across projects.
Index("ix_media_check_due", media_check.c.next_attempt_at)

worker = Table(
    "worker",
    metadata,
    Column("id", Id, primary_key=True),
    Column("account_id", Id, nullable=False),
    Column("name", String(255), nullable=False),
    Column("role", String(16), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", Timestamp, nullable=False),
    Column("revoked_at", Timestamp),
    # Web UI sign-in by name and password (set by an admin); the password as an scrypt hash.
    Column("username", String(255), unique=True),
    Column("password_hash", String(255)),
    # Single sign-on: the identity the account's OpenID Connect provider vouches for.
    Column("email", String(255)),
    Column("sso_subject", String(255)),
    ForeignKeyConstraint(["account_id"], ["account.id"]),
    Index(None, "account_id"),
    Index(None, "account_id", "email"),
    Index(None, "account_id", "sso_subject"),
)

job_skip = Table(
    "job_skip",
    metadata,
    Column("project_id", Id, nullable=False),
    Column("job_id", Id, nullable=False),
    Column("worker_id", Id, nullable=False),
    Column("created_at", Timestamp, nullable=False),
    PrimaryKeyConstraint("project_id", "job_id", "worker_id"),
)

# Who did the annotate work of a job (any step): they never review it; gold jobs once each.
job_annotator = Table(
    "job_annotator",
    metadata,
    Column("project_id", Id, nullable=False),
    Column("job_id", Id, nullable=False),
    Column("worker_id", Id, nullable=False),
    Column("created_at", Timestamp, nullable=False),
    PrimaryKeyConstraint("project_id", "job_id", "worker_id"),
)

# Consensus: the independent versions of a job's current round (one per annotator).
job_version = Table(
    "job_version",
    metadata,
    Column("project_id", Id, nullable=False),
    Column("job_id", Id, nullable=False),
    Column("worker_id", Id, nullable=False),
    Column("annotations", Json, nullable=False),
    Column("created_at", Timestamp, nullable=False),
    PrimaryKeyConstraint("project_id", "job_id", "worker_id"),
)

# Worker groups (pools) of a project, and their members.
worker_group = Table(
    "worker_group",
    metadata,
    Column("project_id", Id, nullable=False),
    Column("id", Id, nullable=False),
    Column("name", String(255), nullable=False),
    Column("created_at", Timestamp, nullable=False),
    PrimaryKeyConstraint("project_id", "id"),
    UniqueConstraint("project_id", "name"),
    ForeignKeyConstraint(["project_id"], ["project.id"]),
)

worker_group_member = Table(
    "worker_group_member",
    metadata,
    Column("project_id", Id, nullable=False),
    Column("group_id", Id, nullable=False),
    Column("worker_id", Id, nullable=False),
    PrimaryKeyConstraint("project_id", "group_id", "worker_id"),
    Index(None, "project_id", "worker_id"),
)

# Each scored gold submission.
gold_score = Table(
    "gold_score",
    metadata,
    Column("project_id", Id, nullable=False),
    Column("id", Id, nullable=False),
    Column("job_id", Id, nullable=False),
    Column("worker_id", Id, nullable=False),
    Column("score", Float, nullable=False),
    Column("parts", Json, nullable=False),
    Column("created_at", Timestamp, nullable=False),
    PrimaryKeyConstraint("project_id", "id"),
    Index(None, "project_id", "worker_id", "created_at"),
)

# Per project and worker, kept in the transaction of each change: accepted jobs (sampling
# reads it) and gold submissions with their score sum.
worker_tally = Table(
    "worker_tally",
    metadata,
    Column("project_id", Id, nullable=False),
    Column("worker_id", Id, nullable=False),
    Column("accepted", BigInteger, nullable=False, default=0),
    Column("rejected", BigInteger, nullable=False, default=0),
    Column("gold_jobs", BigInteger, nullable=False, default=0),
    Column("gold_score_sum", Float, nullable=False, default=0.0),
    PrimaryKeyConstraint("project_id", "worker_id"),
)

# Each worker's latest activity event in a project (analytics: active time). A table of its
# own: a reviewer's accept locks their activity row and the annotator's tally row, and two
# reviewers accepting each other's work must not lock two rows of one table in opposite orders.
worker_activity = Table(
    "worker_activity",
    metadata,
    Column("project_id", Id, nullable=False),
    Column("worker_id", Id, nullable=False),
    Column("last_active_at", Timestamp, nullable=False),
    PrimaryKeyConstraint("project_id", "worker_id"),
)

# Every transition of a job, written in the transaction of the change (the events to publish).
job_transition = Table(
    "job_transition",
    metadata,
    Column("project_id", Id, nullable=False),
    Column("id", Id, nullable=False),
    Column("job_id", Id, nullable=False),
    Column("action", String(32), nullable=False),
    Column("from_status", String(16), nullable=False),
    Column("to_status", String(16), nullable=False),
    Column("from_step", String(64)),
    Column("to_step", String(64)),
    Column("worker_id", Id),
    Column("comment", Text),
    # What decided (sampling rule, reject reasons, gold score, agreement...), when anything did.
    Column("detail", Json),
    Column("created_at", Timestamp, nullable=False),
    PrimaryKeyConstraint("project_id", "id"),
    Index(None, "project_id", "job_id", "created_at"),
)

# --- Events out: the outbox, webhook endpoints and deliveries, exports ---------------------------

# Per project: the last event sequence number handed out, and how far the fan-out to webhook
# deliveries has got. Events take their numbers under this row's lock, so numbers are handed
# out in commit order and the change feed never skips one.
project_feed = Table(
    "project_feed",
    metadata,
    Column("project_id", Id, primary_key=True),
    Column("last_seq", BigInteger, nullable=False, default=0),
    Column("fanout_seq", BigInteger, nullable=False, default=0),
    ForeignKeyConstraint(["project_id"], ["project.id"]),
)

event = Table(
    "event",
    metadata,
    Column("project_id", Id, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("id", Id, nullable=False),
    Column("type", String(64), nullable=False),
    Column("body", Json, nullable=False),
    Column("created_at", Timestamp, nullable=False),
    PrimaryKeyConstraint("project_id", "seq"),
    UniqueConstraint("project_id", "id"),
)

webhook_endpoint = Table(
    "webhook_endpoint",
    metadata,
    Column("project_id", Id, nullable=False),
    Column("id", Id, nullable=False),
    Column("kind", String(16), nullable=False),  # "webhook" or the legacy "callback"
    Column("url", Text, nullable=False),
    Column("event_types", Json, nullable=False),
    Column("description", Text, nullable=False, default=""),
    # Needed in the clear to sign deliveries; never returned after creation or rotation.
    Column("secret", String(512), nullable=False),  # sealed (labelyard.secretbox)
    Column("enabled", Boolean, nullable=False, default=True),
    Column("disabled_reason", Text),
    Column("failing_since", Timestamp),
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    PrimaryKeyConstraint("project_id", "id"),
    ForeignKeyConstraint(["project_id"], ["project.id"]),
)

webhook_delivery = Table(
    "webhook_delivery",
    metadata,
    Column("project_id", Id, nullable=False),
    Column("id", Id, nullable=False),
    Column("endpoint_id", Id, nullable=False),
    Column("event_seq", BigInteger, nullable=False),
    Column("event_id", Id, nullable=False),
    Column("status", String(16), nullable=False),  # pending, succeeded, failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", Timestamp, nullable=False),
    Column("locked_until", Timestamp),
    Column("last_status_code", Integer),
    Column("last_error", Text),
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    PrimaryKeyConstraint("project_id", "id"),
    UniqueConstraint("project_id", "endpoint_id", "event_seq"),
)
# The workers' queue of due deliveries, across projects.
Index(
    "ix_webhook_delivery_due",
    webhook_delivery.c.status,
    webhook_delivery.c.next_attempt_at,
)

webhook_attempt = Table(
    "webhook_attempt",
    metadata,
    Column("project_id", Id, nullable=False),
    Column("id", Id, nullable=False),
    Column("delivery_id", Id, nullable=False),
    Column("endpoint_id", Id, nullable=False),
    Column("event_id", Id, nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("status_code", Integer),
    Column("latency_ms", Integer, nullable=False),
    Column("response_snippet", Text),
    Column("error", Text),
    Column("created_at", Timestamp, nullable=False),
    PrimaryKeyConstraint("project_id", "id"),
    Index(None, "project_id", "endpoint_id", "created_at"),
)

export = Table(
    "export",
    metadata,
    Column("project_id", Id, nullable=False),
    Column("id", Id, nullable=False),
    Column("format", String(16), nullable=False),
    Column("batch_id", Id),
    Column("statuses", Json, nullable=False),
    Column("status", String(16), nullable=False),  # queued, running, done, failed
    Column("total_jobs", BigInteger, nullable=False, default=0),
    Column("done_jobs", BigInteger, nullable=False, default=0),
    Column("skipped_jobs", BigInteger, nullable=False, default=0),
    Column("report", Json),
    Column("result_key", String(255)),
    Column("error", Text),
    Column("locked_until", Timestamp),
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    Column("finished_at", Timestamp),
    PrimaryKeyConstraint("project_id", "id"),
)
Index("ix_export_queue", export.c.status, export.c.created_at)

# --- Media: lidar files converted once for the 3D editor ---------------------------------------

# One row per lidar file of a SENSOR_FUSION / POINT_CLOUD_SEGMENTATION job, written with the job;
# the worker fetches and converts it (status queued -> running -> ready | failed).
point_cloud = Table(
    "point_cloud",
    metadata,
    Column("project_id", Id, nullable=False),
    Column("job_id", Id, nullable=False),
    Column("position", Integer, nullable=False),  # frame order, then sensor order
    Column("frame_id", Text, nullable=False),
    Column("sensor_id", Text, nullable=False),
    Column("field", Text, nullable=False),  # the JSON path of the URL in the job's data
    Column("source_url", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", Timestamp, nullable=False),
    Column("locked_until", Timestamp),
    Column("blob_key", String(255)),
    Column("points", BigInteger),
    Column("source_points", BigInteger),
    Column("error", Text),
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    PrimaryKeyConstraint("project_id", "job_id", "position"),
)
# The workers' queue of lidar files to convert, across projects.
Index("ix_point_cloud_due", point_cloud.c.status, point_cloud.c.next_attempt_at)

# Pulls of a whole project from a hosted-API server queued through /admin/v1/migrations and run
# by ``labelyard worker`` (services.pull_runs). The source's API key is kept sealed only while
# the pull may still need it.
pull_run = Table(
    "pull_run",
    metadata,
    Column("id", Id, primary_key=True),
    Column("source_url", Text, nullable=False),
    Column("source_project", String(255), nullable=False),
    Column("into_project", Id),
    Column("api_key_sealed", Text),
    Column("data_from", Json),
    Column("concurrency", Integer, nullable=False),
    Column("status", String(16), nullable=False),  # queued, running, done, failed
    Column("project_id", Id),
    Column("total_jobs", BigInteger, nullable=False, default=0),
    Column("done_jobs", BigInteger, nullable=False, default=0),
    Column("summary", Json),
    Column("error", Text),
    Column("locked_until", Timestamp),
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    Column("finished_at", Timestamp),
)
Index("ix_pull_run_queue", pull_run.c.status, pull_run.c.created_at)


# --- Team operations: the audit log and the analytics rollups ------------------------------------

# Every admin and owner action, appended in the transaction of the action. There is no update
# or delete path: the store has none, and the database refuses both (triggers, see the
# migration). ``seq`` orders the log and is its keyset position.
audit_entry = Table(
    "audit_entry",
    metadata,
    Column(
        "seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("id", Id, nullable=False, unique=True),
    Column("account_id", Id),
    Column("project_id", Id),
    Column("actor_kind", String(16), nullable=False),
    Column("actor_id", String(64), nullable=False, default=""),
    Column("address", String(64), nullable=False, default=""),
    Column("action", String(64), nullable=False),
    Column("target_type", String(32), nullable=False),
    Column("target_id", String(64), nullable=False, default=""),
    Column("summary", Json, nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Index(None, "account_id", "seq"),
    Index(None, "project_id", "seq"),
)

# Per project, worker, UTC day and step: what the worker did (as the actor of a transition) and
# what became of the work they handed in (``accepted_work``/``rejected_work``, counted when a
# reviewer decides). ``work_seconds``: from their claim of a job to their submit, review or skip
# of it; ``active_seconds``: the gaps between their consecutive activity events (claims,
# heartbeats, draft saves, hand-ins), each capped at ``core.analytics.IDLE_SECONDS``;
# ``gold_jobs``/``gold_score_sum``: gold submissions scored; ``agreement_jobs``/
# ``agreement_sum``: consensus rounds closed with one of their versions, and that version's
# agreement with the others. Updated in the transaction of each change; ``worker_month`` holds
# the same sums per calendar month (``YYYY-MM``), so long ranges read few rows.
WORKER_COUNT_NAMES = (
    "claims",
    "submits",
    "accepts",
    "rejects",
    "skips",
    "accepted_work",
    "rejected_work",
    "finished",
    "work_seconds",
    "active_seconds",
    "gold_jobs",
    "gold_score_sum",
    "agreement_jobs",
    "agreement_sum",
)
_WORKER_FLOATS = ("gold_score_sum", "agreement_sum")
BATCH_COUNT_NAMES = (
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


def _count_columns(names: tuple[str, ...]) -> list[Column[Any]]:
    return [
        Column(name, Float if name in _WORKER_FLOATS else BigInteger, nullable=False, default=0)
        for name in names
    ]


def _worker_rollup(name: str, period: str, width: int) -> Table:
    table = Table(
        name,
        metadata,
        Column("project_id", Id, nullable=False),
        Column("worker_id", Id, nullable=False),
        Column(period, String(width), nullable=False),
        Column("step", String(64), nullable=False),
        *_count_columns(WORKER_COUNT_NAMES),
        PrimaryKeyConstraint("project_id", "worker_id", period, "step"),
    )
    # Reports sum a range: this index covers every column they read, so a report reads the
    # index alone, in order, never the table.
    Index(
        f"ix_{name}_range",
        table.c.project_id,
        table.c[period],
        table.c.worker_id,
        table.c.step,
        *(table.c[n] for n in WORKER_COUNT_NAMES),
    )
    return table


worker_day = _worker_rollup("worker_day", "day", 10)
worker_month = _worker_rollup("worker_month", "month", 7)


# Per project, batch and UTC day (``batch_month``: calendar month): transitions of the batch's
# jobs and the jobs finished.
def _batch_rollup(name: str, period: str, width: int) -> Table:
    table = Table(
        name,
        metadata,
        Column("project_id", Id, nullable=False),
        Column("batch_id", Id, nullable=False),
        Column(period, String(width), nullable=False),
        *_count_columns(BATCH_COUNT_NAMES),
        PrimaryKeyConstraint("project_id", "batch_id", period),
    )
    # Covering, like the worker rollups': a year of the project's days reads the index alone.
    Index(
        f"ix_{name}_range",
        table.c.project_id,
        table.c[period],
        table.c.batch_id,
        *(table.c[n] for n in BATCH_COUNT_NAMES),
    )
    return table


batch_day = _batch_rollup("batch_day", "day", 10)
batch_month = _batch_rollup("batch_month", "month", 7)

# An account's OpenID Connect provider for single sign-on (one per account). The client secret
# is kept encrypted under the server's secret key (``labelyard.secretbox``).
sso_provider = Table(
    "sso_provider",
    metadata,
    Column("account_id", Id, primary_key=True),
    Column("name", String(255), nullable=False),
    Column("issuer", Text, nullable=False),
    Column("client_id", String(255), nullable=False),
    Column("client_secret_sealed", Text, nullable=False),
    Column("match", String(16), nullable=False),
    Column("owners", Json, nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    ForeignKeyConstraint(["account_id"], ["account.id"]),
)
