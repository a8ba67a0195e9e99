"""Webhook delivery: send the due deliveries, signed, with retries (bookkeeping in
``services.deliveries``).

At least once: a delivery is leased to one worker (``locked_until``) before it is sent, so two
workers never send the same attempt at once; a worker that dies mid-delivery leaves the lease to
run out, and another worker sends it again. Receivers dedupe by ``webhook-id`` (the event id).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from datetime import timedelta
from typing import TYPE_CHECKING

import httpx
import orjson

from labelyard.config import Settings
from labelyard.core import events as rules
from labelyard.outbound import Outbound, OutboundRefused, OutboundUnreachable
from labelyard.secretbox import SecretBox
from labelyard.services import deliveries, utcnow
from labelyard.services.deliveries import payload
from labelyard.services.webhooks import signing_secret

if TYPE_CHECKING:  # rows and the database are passed in by the worker loop
    from labelyard.store import Record
    from labelyard.store.engine import Database

log = logging.getLogger("labelyard.worker.webhooks")
DELIVERY_BATCH = 50
USER_AGENT = "labelyard-webhooks/1"


async def _send(
    outbound: Outbound, box: SecretBox, delivery: Record, settings: Settings
) -> tuple[int | None, str | None, str, int, bool]:
    """POST one delivery; (status, error, response snippet, latency ms, refused for good)."""
    body = orjson.dumps(payload(delivery))
    timestamp = int(time.time())
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": delivery.event_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": rules.sign(
            signing_secret(box, delivery.secret), delivery.event_id, timestamp, body
        ),
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
    db: Database, outbound: Outbound, box: SecretBox, settings: Settings, rng: random.Random
) -> int:
    """Lease, send and settle the deliveries that are due; how many were attempted."""
    now = utcnow()
    # Long enough for the send (bounded by the timeout) and the bookkeeping after it.
    lease = timedelta(seconds=2 * settings.webhook_timeout_seconds + 1)
    due = await deliveries.claim_due(db, now=now, until=now + lease, limit=DELIVERY_BATCH)
    if not due:
        return 0
    results = await asyncio.gather(
        *(_attempt(db, outbound, box, d, settings, rng) for d in due), return_exceptions=True
    )
    for result in results:
        if isinstance(result, BaseException):
            # Left leased: retried when the lease runs out, like a worker that died.
            log.error("webhook delivery failed unexpectedly", exc_info=result)
    return sum(r for r in results if isinstance(r, int))


async def _attempt(
    db: Database,
    outbound: Outbound,
    box: SecretBox,
    delivery: Record,
    settings: Settings,
    rng: random.Random,
) -> int:
    if delivery.url is None or not delivery.enabled:
        await deliveries.drop(db, delivery, reason="endpoint deleted or disabled")
        return 0
    status, error, snippet, latency, refused = await _send(outbound, box, delivery, settings)
    await deliveries.settle(
        db,
        delivery,
        deliveries.Attempt(
            status_code=status, error=error, snippet=snippet, latency_ms=latency, refused=refused
        ),
        settings=settings,
        rng=rng,
    )
    return 1
