"""The worker's loop: fan events out to deliveries, deliver due webhooks, run queued exports,
convert lidar files for the 3D editor; and beside it, in a loop of its own, check new jobs' media.

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
from concurrent.futures import ThreadPoolExecutor

from labelyard.blobs import BlobStore
from labelyard.blobs.config import from_settings as blob_store
from labelyard.config import Settings
from labelyard.datadir import prepare_data_dir
from labelyard.outbound import Outbound, outbound_from_settings
from labelyard.secretbox import SecretBox, secret_box
from labelyard.services import deliveries, export_runs, point_clouds
from labelyard.services.media import MediaSigner
from labelyard.store.engine import Database
from labelyard.store.migrate import migrate
from labelyard.worker import webhooks
from labelyard.worker.media import MediaChecker, run_checks

log = logging.getLogger("labelyard.worker")
# Threads for name lookups (the loop's default pool): media checks resolve at most
# ``media_check_concurrency`` names at once, and a name that does not resolve can hold a thread
# for the resolver's whole timeout; the rest are left for webhook deliveries and exports.
SPARE_RESOLVER_THREADS = 16


async def run_worker(settings: Settings, *, stop: asyncio.Event | None = None) -> None:
    """Work until ``stop`` is set (or SIGTERM/SIGINT)."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # not the main thread
            loop.add_signal_handler(sig, stop.set)
    prepare_data_dir(settings)
    loop.set_default_executor(
        ThreadPoolExecutor(max(1, settings.media_check_concurrency) + SPARE_RESOLVER_THREADS)
    )
    db = Database(settings.resolved_database_url(), pool_size=4)
    blobs = blob_store(settings)
    outbound = outbound_from_settings(settings)
    rng = random.Random()
    box = secret_box(settings)
    signer = MediaSigner(box, link_seconds=settings.media_link_seconds)
    media = MediaChecker(db, signer, outbound, settings)
    checks: asyncio.Task[None] | None = None
    try:
        await migrate(db)
        if swept := export_runs.sweep_scratch(settings):
            log.info("removed %d scratch folders of exports that were interrupted", swept)
        checks = asyncio.create_task(run_checks(media, stop, settings.worker_poll_seconds))
        while not stop.is_set():
            busy = await work_once(db, blobs, settings, outbound, box, rng, signer)
            if not busy:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=settings.worker_poll_seconds)
    finally:
        if checks is not None:
            # Checks under way stay leased and are taken again when their lease runs out.
            checks.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await checks
        await outbound.aclose()
        await db.dispose()


async def work_once(
    db: Database,
    blobs: BlobStore,
    settings: Settings,
    outbound: Outbound,
    box: SecretBox,
    rng: random.Random,
    signer: MediaSigner | None = None,
) -> bool:
    """One round of every kind of work; True if anything was done."""
    fetcher = point_clouds.OutboundFetcher(outbound)
    steps: list[tuple[str, Callable[[], Awaitable[object]]]] = [
        ("fan-out", lambda: deliveries.fan_out(db)),
        ("deliveries", lambda: webhooks.deliver_due(db, outbound, box, settings, rng)),
        ("exports", lambda: export_runs.run_next_export(db, blobs, settings, outbound)),
        (
            "point clouds",
            lambda: point_clouds.convert_next(db, blobs, settings, fetcher, signer=signer),
        ),
    ]
    busy = False
    for name, step in steps:
        try:
            busy |= bool(await step())
        except Exception:
            # One failing kind of work must not stop the others; the next round retries it.
            log.exception("worker: %s failed", name)
    return busy
