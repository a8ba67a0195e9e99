"""Webhook delivery: fan events out to deliveries, then send the due ones, signed, with retries.

At least once: a delivery is leased to one worker (``locked_until``) before it is sent, so two
workers never send the same attempt at once; a worker that dies mid-delivery leaves the lease to
run out, and another worker sends it again. Receivers dedupe by ``webhook-id`` (the event id).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from datetime import datetime, timedelta
from typing import Any

import httpx
import orjson

from labelyard.config import Settings
from labelyard.core import events as rules
from labelyard.core.ids import new_id
from labelyard.core.model import as_utc, rfc3339
from labelyard.outbound import Outbound, OutboundRefused, OutboundUnreachable
from labelyard.services import utcnow
from labelyard.services.webhooks import CALLBACK, delivery_row
from labelyard.store import Record
from labelyard.store import events as event_store
from labelyard.store import webhooks as store
from labelyard.store.engine import Database

log = logging.getLogger("labelyard.worker.webhooks")
FANOUT_PROJECTS, FANOUT_EVENTS = 20, 1000
DELIVERY_BATCH = 50
USER_AGENT = "labelyard-webhooks/1"


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


async def _send(
    outbound: Outbound, delivery: Record, settings: Settings
) -> tuple[int | None, str | None, str, int, bool]:
    """POST one delivery; (status, error, response snippet, latency ms, refused for good)."""
    body = orjson.dumps(payload(delivery))
    timestamp = int(time.time())
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": delivery.event_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": rules.sign(delivery.secret, delivery.event_id, timestamp, body),
    }
    started = time.perf_counter()
    limit = settings.webhook_timeout_seconds
    try:
        async with asyncio.timeout(limit):
            sending = outbound.stream(
                "POST", delivery.url, headers=headers, content=body, timeout=limit
            )
            async with sending as response:
                snippet = await _snippet(response)
    except OutboundRefused as exc:
        return None, str(exc), "", 0, True
    except OutboundUnreachable as exc:
        return None, str(exc), "", int((time.perf_counter() - started) * 1000), False
    except TimeoutError:
        return None, "timed out", "", int((time.perf_counter() - started) * 1000), False
    latency = int((time.perf_counter() - started) * 1000)
    return response.status_code, None, snippet, latency, False


async def _snippet(response: httpx.Response) -> str:
    """The start of the receiver's answer, shown to the project owner in ``/attempts``.

    At most ``SNIPPET_BYTES`` are read, so a receiver cannot make the worker hold a large body,
    and an internal (allow-listed) service shows no more than a short excerpt.
    """
    read = bytearray()
    async for chunk in response.aiter_bytes():
        read += chunk
        if len(read) >= rules.SNIPPET_BYTES:
            break
    return read[: rules.SNIPPET_BYTES].decode("utf-8", "replace")[: rules.SNIPPET_CHARS]


async def deliver_due(
    db: Database, outbound: Outbound, settings: Settings, rng: random.Random
) -> int:
    """Lease, send and settle the deliveries that are due; how many were attempted."""
    now = utcnow()
    # Long enough for the send (bounded by the timeout) and the bookkeeping after it.
    lease = timedelta(seconds=2 * settings.webhook_timeout_seconds + 1)
    async with db.write() as conn:
        due = await store.claim_due(conn, now=now, until=now + lease, limit=DELIVERY_BATCH)
    if not due:
        return 0
    results = await asyncio.gather(
        *(_attempt(db, outbound, d, settings, rng) for d in due), return_exceptions=True
    )
    for result in results:
        if isinstance(result, BaseException):
            # Left leased: retried when the lease runs out, like a worker that died.
            log.error("webhook delivery failed unexpectedly", exc_info=result)
    return sum(r for r in results if isinstance(r, int))


async def _attempt(
    db: Database,
    outbound: Outbound,
    delivery: Record,
    settings: Settings,
    rng: random.Random,
) -> int:
    if delivery.url is None or not delivery.enabled:
        async with db.write() as conn:
            await store.update_delivery(
                conn,
                project_id=delivery.project_id,
                id=delivery.id,
                status="failed",
                locked_until=None,
                last_error="endpoint deleted or disabled",
                updated_at=utcnow(),
            )
        return 0
    status, error, snippet, latency, refused = await _send(outbound, delivery, settings)
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
    if refused and error:
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
            latency_ms=latency,
            response_snippet=snippet,
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
    return 1


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
