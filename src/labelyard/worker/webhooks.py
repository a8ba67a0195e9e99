"""Webhook delivery: fan events out to deliveries, then send the due ones, signed, with retries.

At least once: a delivery is leased to one worker (``locked_until``) before it is sent, so two
workers never send the same attempt at once; a worker that dies mid-delivery leaves the lease to
run out, and another worker sends it again. Receivers dedupe by ``webhook-id`` (the event id).
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
import time
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson

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


class Refused(Exception):
    """The URL may not be called: a private address, or a host no resolver takes (final)."""


class Unresolved(Exception):
    """The host did not resolve this time (retried like a network error)."""


async def _pinned(url: str, *, allow_private: bool) -> tuple[str, dict[str, str], dict[str, Any]]:
    """The URL to call, rewritten to an address checked against the private-range policy.

    The request goes to that very address (with the original Host header, and the original
    name for TLS), so a name that resolves differently a moment later cannot redirect it.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (UnicodeError, ValueError) as exc:
        raise Refused(f"invalid host {host!r}: {exc}") from None
    except OSError as exc:
        raise Unresolved(f"cannot resolve {host}: {exc}") from None
    addresses = [str(info[4][0]) for info in infos]
    for address in addresses:
        if not rules.address_allowed(address, allow_private=allow_private):
            raise Refused(f"{host} resolves to {address}, a private or local address (not allowed)")
    if not addresses:
        raise Unresolved(f"cannot resolve {host}")
    address = addresses[0]
    netloc = f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
    pinned = parts._replace(netloc=netloc).geturl()
    extensions: dict[str, Any] = {"sni_hostname": host} if parts.scheme == "https" else {}
    return pinned, {"host": parts.netloc.rpartition("@")[2]}, extensions


async def _send(
    client: httpx.AsyncClient, delivery: Record, settings: Settings
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
    try:
        pinned, host, extensions = await _pinned(
            delivery.url, allow_private=settings.webhooks_allow_private
        )
    except Refused as exc:
        return None, str(exc), "", 0, True
    except Unresolved as exc:
        return None, str(exc), "", 0, False
    try:
        response = await client.post(
            pinned, content=body, headers=headers | host, extensions=extensions
        )
    except httpx.TimeoutException:
        return None, "timed out", "", int((time.perf_counter() - started) * 1000), False
    except httpx.HTTPError as exc:
        latency = int((time.perf_counter() - started) * 1000)
        return None, f"{type(exc).__name__}: {exc}", "", latency, False
    latency = int((time.perf_counter() - started) * 1000)
    return response.status_code, None, response.text[: rules.SNIPPET_CHARS], latency, False


async def deliver_due(
    db: Database, client: httpx.AsyncClient, settings: Settings, rng: random.Random
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
        *(_attempt(db, client, d, settings, rng) for d in due), return_exceptions=True
    )
    for result in results:
        if isinstance(result, BaseException):
            # Left leased: retried when the lease runs out, like a worker that died.
            log.error("webhook delivery failed unexpectedly", exc_info=result)
    return sum(r for r in results if isinstance(r, int))


async def _attempt(
    db: Database,
    client: httpx.AsyncClient,
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
    status, error, snippet, latency, refused = await _send(client, delivery, settings)
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
