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
import socket
import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
import orjson

from labelyard.config import Settings
from labelyard.core import events as rules
from labelyard.services import deliveries, utcnow
from labelyard.services.deliveries import payload

if TYPE_CHECKING:  # rows and the database are passed in by the worker loop
    from labelyard.store import Record
    from labelyard.store.engine import Database

log = logging.getLogger("labelyard.worker.webhooks")
DELIVERY_BATCH = 50
USER_AGENT = "labelyard-webhooks/1"


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
    due = await deliveries.claim_due(db, now=now, until=now + lease, limit=DELIVERY_BATCH)
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
        await deliveries.drop(db, delivery, reason="endpoint deleted or disabled")
        return 0
    status, error, snippet, latency, refused = await _send(client, delivery, settings)
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
