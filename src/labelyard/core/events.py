"""Events: which changes of a job become which events, and how webhooks are signed and retried.

Event types:
    job.created          a job was created (replays of a create emit nothing)
    job.status_changed   a job's status changed (created → in_progress → completed, aborted...)
    job.completed        a job left its last step; its result is available
    job.aborted          the owner aborted a job
    job.reopened         the owner sent a completed or aborted job back into a step
    batch.completed      every job of a batch is completed or aborted
    job.media_failed     the worker could not read a job's media; it is not handed out

Deliveries follow the Standard Webhooks scheme: headers ``webhook-id`` (the event id, the same
on every retry, so receivers dedupe by it), ``webhook-timestamp`` (Unix seconds) and
``webhook-signature`` (``v1,`` + base64 HMAC-SHA256 of ``id.timestamp.body`` under the secret).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson

from labelyard.core.model import BatchCounters
from labelyard.core.urls import url_problem
from labelyard.errors import InvalidInput

JOB_CREATED = "job.created"
JOB_STATUS_CHANGED = "job.status_changed"
JOB_COMPLETED = "job.completed"
JOB_ABORTED = "job.aborted"
JOB_REOPENED = "job.reopened"
BATCH_COMPLETED = "batch.completed"
JOB_MEDIA_FAILED = "job.media_failed"
EVENT_TYPES = (
    JOB_CREATED,
    JOB_STATUS_CHANGED,
    JOB_COMPLETED,
    JOB_ABORTED,
    JOB_REOPENED,
    BATCH_COMPLETED,
    JOB_MEDIA_FAILED,
)
CALLBACK_EVENT_TYPES = (JOB_COMPLETED, JOB_MEDIA_FAILED)
"""What the legacy callback_url receives: completed jobs, and jobs whose media failed."""
ALL = "*"
SECRET_PREFIX = "whsec_"
SNIPPET_CHARS = 200
"""How much of a receiver's answer ``/attempts`` shows: a short excerpt, so that an allow-listed
internal service cannot be read through the webhook log."""
SNIPPET_BYTES = 4 * SNIPPET_CHARS


def job_events(
    transition: Mapping[str, Any], job: Mapping[str, Any]
) -> list[tuple[str, dict[str, Any]]]:
    """The events one recorded transition of ``job`` emits (type, body)."""
    body = {
        "job_id": job["id"],
        "reference_id": job["reference_id"],
        "batch_id": job["batch_id"],
        "tag": job["tag"],
        "action": transition["action"],
        "status": transition["to_status"],
        "previous_status": transition["from_status"],
        "step": transition["to_step"],
        "worker_id": transition["worker_id"],
    }
    events: list[tuple[str, dict[str, Any]]] = []
    if transition["from_status"] != transition["to_status"]:
        events.append((JOB_STATUS_CHANGED, body))
    if transition["to_status"] == "completed":
        events.append((JOB_COMPLETED, body | {"result": job.get("result", "")}))
    if transition["action"] == "abort":
        events.append((JOB_ABORTED, body))
    if transition["action"] == "reopen":
        events.append((JOB_REOPENED, body))
    return events


def created_bodies(
    *,
    job_ids: Sequence[str],
    reference_ids: Sequence[str],
    batch_ids: Sequence[str],
    tags: Sequence[str],
    status: str,
    priorities: Sequence[int],
) -> list[str]:
    """The bodies of ``job.created`` events of new jobs (given column by column), as JSON text:
    ``{"job_id", "reference_id", "batch_id", "tag", "status", "priority_weight"}``."""
    dumps = orjson.dumps
    return [
        dumps(
            {
                "job_id": job_id,
                "reference_id": reference_id,
                "batch_id": batch_id,
                "tag": tag,
                "status": status,
                "priority_weight": priority,
            }
        ).decode()
        for job_id, reference_id, batch_id, tag, priority in zip(
            job_ids, reference_ids, batch_ids, tags, priorities, strict=True
        )
    ]


def media_failed_event(
    job: Mapping[str, Any], *, media_error: str, failures: Iterable[Mapping[str, str]]
) -> tuple[str, dict[str, Any]]:
    """The event of a job whose media the worker could not read."""
    return JOB_MEDIA_FAILED, {
        "job_id": job["id"],
        "reference_id": job["reference_id"],
        "batch_id": job["batch_id"],
        "tag": job["tag"],
        "status": job["status"],
        "media_error": media_error,
        "failures": [dict(failure) for failure in failures],
    }


def batch_completed(
    batch_id: str, before: BatchCounters, after: BatchCounters
) -> tuple[str, dict[str, Any]] | None:
    """``batch.completed`` if this change made the batch complete."""
    if before.status == "Complete" or after.status != "Complete":
        return None
    return BATCH_COMPLETED, {
        "batch_id": batch_id,
        "total_jobs": after.total_jobs,
        "completed_jobs": after.completed_jobs,
        "aborted_jobs": after.aborted_jobs,
    }


def parse_event_types(value: object) -> list[str]:
    """A subscription: a non-empty list of event types, or ``["*"]`` for all."""
    if not isinstance(value, list) or not value or any(not isinstance(v, str) for v in value):
        raise InvalidInput(f"event_types must be a non-empty list of {', '.join(EVENT_TYPES)} or *")
    unknown = [v for v in value if v != ALL and v not in EVENT_TYPES]
    if unknown:
        raise InvalidInput(f"unknown event types: {', '.join(unknown)}")
    return [ALL] if ALL in value else list(dict.fromkeys(value))


def subscribed(event_types: Iterable[str], event_type: str) -> bool:
    """True if a subscription covers this event type."""
    return any(t in (ALL, event_type) for t in event_types)


def parse_url(value: object) -> str:
    """A webhook URL: http or https with a host, no spaces or control characters."""
    problem = url_problem(value)
    if problem is not None or not isinstance(value, str):
        raise InvalidInput(f"url must be an http(s) URL: {problem}")
    return value


def new_secret(raw: bytes) -> str:
    """A signing secret from random bytes, in the Standard Webhooks form ``whsec_<base64>``."""
    return SECRET_PREFIX + base64.b64encode(raw).decode()


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header value for a delivery."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


@dataclass(frozen=True, slots=True)
class Delivered:
    """The receiver answered 2xx."""


@dataclass(frozen=True, slots=True)
class Retry:
    """Try again at ``at``."""

    at: datetime
    reason: str


@dataclass(frozen=True, slots=True)
class GiveUp:
    """Stop delivering this event to this endpoint."""

    reason: str


Outcome = Delivered | Retry | GiveUp
RETRYABLE_STATUSES = frozenset({408, 429})


def outcome(
    *,
    status: int | None,
    error: str | None,
    attempt: int,
    max_attempts: int,
    base_seconds: float,
    now: datetime,
    rng: random.Random,
) -> Outcome:
    """Sort one attempt's result: delivered, retry later (with backoff and jitter), or give up.

    Network errors, timeouts, 408, 429 and 5xx are retried; any other answer ends it.
    """
    if status is not None and 200 <= status < 300:
        return Delivered()
    retryable = status is None or status in RETRYABLE_STATUSES or status >= 500
    reason = error or f"HTTP {status}"
    if not retryable:
        return GiveUp(reason)
    if attempt >= max_attempts:
        return GiveUp(f"{reason} (after {attempt} attempts)")
    delay = base_seconds * 3 ** (attempt - 1)
    jitter = delay * rng.uniform(-0.2, 0.2)
    return Retry(at=now + timedelta(seconds=delay + jitter), reason=reason)
