"""Webhook deliveries' bookkeeping: fan events out, lease the due ones, settle each attempt.

The worker sends (``worker.webhooks``); every write around a send happens here, each in its
own transaction: a delivery is leased (``locked_until``) before it is sent, so two workers never
send the same attempt at once, and a worker that dies mid-delivery leaves the lease to run out.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from labelyard.config import Settings
from labelyard.core import events as rules
from labelyard.core.ids import new_id
from labelyard.core.model import as_utc, rfc3339
from labelyard.services import utcnow
from labelyard.services.webhooks import CALLBACK, delivery_row
from labelyard.store import Record
from labelyard.store import events as event_store
from labelyard.store import webhooks as store
from labelyard.store.engine import Database

FANOUT_PROJECTS, FANOUT_EVENTS = 20, 1000


@dataclass(frozen=True, slots=True)
class Attempt:
    """What one send gave: the receiver's status (None: no answer), the error, an excerpt of
    the answer, how long it took, and whether the address was refused (final)."""

    status_code: int | None
    error: str | None
    snippet: str | None
    latency_ms: int | None
    refused: bool


async def claim_due(db: Database, *, now: datetime, until: datetime, limit: int) -> list[Record]:
    """Lease up to ``limit`` deliveries that are due, until ``until``."""
    async with db.write() as conn:
        return list(await store.claim_due(conn, now=now, until=until, limit=limit))


async def fan_out(db: Database) -> int:
    """Turn new events into pending deliveries for the endpoints subscribed to them."""
    made = 0
    now = utcnow()
    async with db.write() as conn:
        for feed in await event_store.feeds_to_fan_out(conn, limit=FANOUT_PROJECTS):
            events = await event_store.list_events(
                conn, project_id=feed.project_id, after=feed.fanout_seq, limit=FANOUT_EVENTS
            )
            endpoints = [
                e for e in await store.list_endpoints(conn, project_id=feed.project_id) if e.enabled
            ]
            rows = [
                delivery_row(feed.project_id, endpoint.id, ev.seq, ev.id, now)
                for ev in events
                for endpoint in endpoints
                if rules.subscribed(endpoint.event_types, ev.type)
            ]
            await store.insert_deliveries(conn, rows)
            if events:
                await event_store.set_fanout(conn, project_id=feed.project_id, seq=events[-1].seq)
            made += len(rows)
    return made


def payload(delivery: Record) -> dict[str, Any]:
    """What is posted: the event, or for the legacy callback the hosted API's shape."""
    body = delivery.event_body
    if delivery.kind == CALLBACK and delivery.event_type == rules.JOB_MEDIA_FAILED:
        return {
            "annotations": [
                {
                    "reference_id": body.get("reference_id"),
                    "job_id": body.get("job_id"),
                    "status": "FAILED",
                    "tag": body.get("tag"),
                    "result": "",
                    "error": {
                        "meta_data": {
                            "failures": [
                                {"field": f.get("field"), "type": f.get("type")}
                                for f in body.get("failures", [])
                            ]
                        }
                    },
                }
            ]
        }
    if delivery.kind == CALLBACK:
        return {
            "annotations": [
                {
                    "reference_id": body.get("reference_id"),
                    "job_id": body.get("job_id"),
                    "status": "COMPLETED",
                    "tag": body.get("tag"),
                    "result": body.get("result", ""),
                }
            ]
        }
    return {
        "id": delivery.event_id,
        "type": delivery.event_type,
        "created_at": rfc3339(delivery.event_created_at),
        "data": body,
    }


async def drop(db: Database, delivery: Record, *, reason: str) -> None:
    """Give a delivery up without sending it (its endpoint is gone or disabled)."""
    async with db.write() as conn:
        await store.update_delivery(
            conn,
            project_id=delivery.project_id,
            id=delivery.id,
            status="failed",
            locked_until=None,
            last_error=reason,
            updated_at=utcnow(),
        )


async def settle(
    db: Database, delivery: Record, sent: Attempt, *, settings: Settings, rng: random.Random
) -> None:
    """Record an attempt and decide: delivered, retried later, or given up; the endpoint's
    health follows."""
    status, error = sent.status_code, sent.error
    attempt = delivery.attempts + 1
    now = utcnow()
    result = rules.outcome(
        status=status,
        error=error,
        attempt=attempt,
        max_attempts=settings.webhook_max_attempts,
        base_seconds=settings.webhook_retry_base_seconds,
        now=now,
        rng=rng,
    )
    if sent.refused and error:
        result = rules.GiveUp(error)
    async with db.write() as conn:
        await store.insert_attempt(
            conn,
            project_id=delivery.project_id,
            id=new_id(),
            delivery_id=delivery.id,
            endpoint_id=delivery.endpoint_id,
            event_id=delivery.event_id,
            attempt=attempt,
            status_code=status,
            latency_ms=sent.latency_ms,
            response_snippet=sent.snippet,
            error=error,
            created_at=now,
        )
        values: dict[str, Any] = {
            "attempts": attempt,
            "locked_until": None,
            "last_status_code": status,
            "last_error": error,
            "updated_at": now,
        }
        if isinstance(result, rules.Delivered):
            values["status"] = "succeeded"
        elif isinstance(result, rules.Retry):
            values["next_attempt_at"] = result.at
        else:
            values |= {"status": "failed", "last_error": result.reason}
        await store.update_delivery(conn, project_id=delivery.project_id, id=delivery.id, **values)
        await _endpoint_health(
            conn, delivery, ok=isinstance(result, rules.Delivered), now=now, settings=settings
        )


async def _endpoint_health(
    conn: Any, delivery: Record, *, ok: bool, now: datetime, settings: Settings
) -> None:
    """Track continuous failure; disable an endpoint that has failed for too long."""
    if ok:
        if delivery.failing_since is not None:
            await store.update_endpoint(
                conn, project_id=delivery.project_id, id=delivery.endpoint_id, failing_since=None
            )
        return
    since = as_utc(delivery.failing_since) if delivery.failing_since else None
    if since is None:
        await store.update_endpoint(
            conn, project_id=delivery.project_id, id=delivery.endpoint_id, failing_since=now
        )
        return
    if (now - since).total_seconds() >= settings.webhook_disable_after_seconds:
        await store.update_endpoint(
            conn,
            project_id=delivery.project_id,
            id=delivery.endpoint_id,
            enabled=False,
            disabled_reason=f"every delivery failed since {rfc3339(since)}",
            updated_at=now,
        )
