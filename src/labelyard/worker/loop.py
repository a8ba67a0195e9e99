"""The worker's loop: fan events out to deliveries, deliver due webhooks, run queued exports,
convert lidar files for the 3D editor.

Any number of workers may run, on SQLite and PostgreSQL: every piece of work is claimed from the
database (``FOR UPDATE SKIP LOCKED`` / ``BEGIN IMMEDIATE``) with a lease, so a worker that dies
leaves its work to be taken again when the lease runs out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

from labelyard.blobs import BlobStore
from labelyard.blobs.config import from_settings as blob_store
from labelyard.config import Settings
from labelyard.services import exports, point_clouds
from labelyard.store.engine import Database
from labelyard.store.migrate import migrate
from labelyard.worker import webhooks

log = logging.getLogger("labelyard.worker")


async def run_worker(settings: Settings, *, stop: asyncio.Event | None = None) -> None:
    """Work until ``stop`` is set (or SIGTERM/SIGINT)."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # not the main thread
            loop.add_signal_handler(sig, stop.set)
    Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
    db = Database(settings.resolved_database_url(), pool_size=4)
    blobs = blob_store(settings)
    timeout = httpx.Timeout(settings.webhook_timeout_seconds)
    client = httpx.AsyncClient(timeout=timeout, follow_redirects=False)
    # Lidar files: one client of their own (a longer timeout); to move onto the pinned outbound
    # client (labelyard.outbound) with the webhooks.
    media_client = httpx.AsyncClient(
        timeout=httpx.Timeout(settings.point_cloud_timeout_seconds), follow_redirects=False
    )
    fetcher = point_clouds.HttpFetcher(media_client)
    rng = random.Random()
    try:
        await migrate(db)
        if swept := exports.sweep_scratch(settings):
            log.info("removed %d scratch folders of exports that were interrupted", swept)
        while not stop.is_set():
            busy = await work_once(db, blobs, settings, client, rng, fetcher)
            if not busy:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=settings.worker_poll_seconds)
    finally:
        await client.aclose()
        await media_client.aclose()
        await db.dispose()


async def work_once(
    db: Database,
    blobs: BlobStore,
    settings: Settings,
    client: httpx.AsyncClient,
    rng: random.Random,
    fetcher: point_clouds.Fetcher | None = None,
) -> bool:
    """One round of every kind of work; True if anything was done."""
    steps: list[tuple[str, Callable[[], Awaitable[object]]]] = [
        ("fan-out", lambda: webhooks.fan_out(db)),
        ("deliveries", lambda: webhooks.deliver_due(db, client, settings, rng)),
        ("exports", lambda: exports.run_next_export(db, blobs, settings)),
    ]
    if fetcher is not None:
        steps.append(
            ("point clouds", lambda: point_clouds.convert_next(db, blobs, settings, fetcher))
        )
    busy = False
    for name, step in steps:
        try:
            busy |= bool(await step())
        except Exception:
            # One failing kind of work must not stop the others; the next round retries it.
            log.exception("worker: %s failed", name)
    return busy
