"""The worker's media checks: read the first bytes of each new job's media, judge them, and
record the outcome (``services.media_checks``).

Each URL is read with a ranged GET of its first bytes (``s3://``/``gs://`` URLs through a link
presigned with the job's own account's storage connection) through the outbound client
(``services.media_checks.read_item``), so the private-address rules of webhooks apply. Reads
are bounded in number at once (``LABELYARD_MEDIA_CHECK_CONCURRENCY``) and in rate per host
(``LABELYARD_MEDIA_CHECK_PER_HOST_PER_SECOND``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from labelyard.config import Settings
from labelyard.core.media import (
    MediaItem,
    TryLater,
    Unreadable,
    Verdict,
    media_items,
    parse_object_url,
    sample_items,
)
from labelyard.services import media_checks
from labelyard.services.media import Connection, MediaSigner
from labelyard.services.media_checks import CheckResult, CheckTask

if TYPE_CHECKING:
    from labelyard.outbound import Outbound
    from labelyard.store.engine import Database

log = logging.getLogger("labelyard.worker.media")
CHECK_BATCH = 64  # jobs leased per round


class HostPacer:
    """At most ``rate`` requests a second to any one host, spaced evenly (per worker)."""

    def __init__(self, rate: float, clock: Callable[[], float]) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.clock = clock
        self._next: dict[str, float] = {}

    async def wait(self, host: str) -> None:
        """Return when a request to ``host`` may go."""
        if not self.interval:
            return
        now = self.clock()
        slot = max(now, self._next.get(host, now))
        self._next[host] = slot + self.interval
        if slot > now:
            await asyncio.sleep(slot - now)


class MediaChecker:
    """Runs the due media checks, a batch of jobs at a time."""

    def __init__(
        self, db: Database, signer: MediaSigner, outbound: Outbound, settings: Settings
    ) -> None:
        self.db = db
        self.signer = signer
        self.outbound = outbound
        self.settings = settings
        self.pacer = HostPacer(
            settings.media_check_per_host_per_second, asyncio.get_running_loop().time
        )
        self.slots = asyncio.Semaphore(max(1, settings.media_check_concurrency))

    async def run_due(self) -> int:
        """Check the jobs whose check is due and record the outcomes together; how many."""
        if not self.settings.media_checks:
            return 0
        # Long enough for every read of a batch at the slowest rate, and the bookkeeping.
        lease = 4 * self.settings.media_check_timeout_seconds + 60
        tasks = await media_checks.claim(self.db, lease_seconds=lease, limit=CHECK_BATCH)
        if not tasks:
            return 0
        found = await asyncio.gather(*(self.check(t) for t in tasks), return_exceptions=True)
        results: list[CheckResult] = []
        for result in found:
            if isinstance(result, BaseException):
                # Left leased: checked again when the lease runs out.
                log.error("media check failed unexpectedly", exc_info=result)
            else:
                results.append(result)
        outcomes = await media_checks.settle(
            self.db,
            results,
            max_attempts=self.settings.media_check_max_attempts,
            retry_base_seconds=self.settings.media_check_retry_base_seconds,
        )
        failed = [
            r.task for r, outcome in zip(results, outcomes, strict=True) if outcome == "failed"
        ]
        for task in failed:
            log.info("job %s of project %s: media cannot be read", task.job_id, task.project_id)
        return len(tasks)

    async def check(self, task: CheckTask) -> CheckResult:
        """Read one job's media (a sample of at most ``media_check_max_urls`` URLs)."""
        items = sample_items(media_items(task.data), self.settings.media_check_max_urls)
        connections: list[Connection] = []
        if any(parse_object_url(item.url) for item in items):
            connections = await self.signer.connections(self.db, account_id=task.account_id)
        verdicts = await asyncio.gather(*(self.read(item, connections) for item in items))
        pairs = list(zip(items, verdicts, strict=True))
        return CheckResult(
            task=task,
            failures=[(item, v.reason) for item, v in pairs if isinstance(v, Unreadable)],
            later=[(item, v.reason) for item, v in pairs if isinstance(v, TryLater)],
        )

    async def read(self, item: MediaItem, connections: list[Connection]) -> Verdict:
        """The verdict on one media URL (at most ``concurrency`` reads at once, paced per host)."""
        async with self.slots:
            return await media_checks.read_item(
                item,
                signer=self.signer,
                connections=connections,
                outbound=self.outbound,
                timeout=self.settings.media_check_timeout_seconds,
                pace=self.pacer.wait,
            )


async def run_checks(checker: MediaChecker, stop: asyncio.Event, poll_seconds: float) -> None:
    """Media checks in a loop of their own until ``stop``: slow image hosts never hold up
    webhook deliveries or exports."""
    while not stop.is_set():
        try:
            busy = await checker.run_due()
        except Exception:
            log.exception("worker: media checks failed")  # the next round tries again
            busy = 0
        if not busy:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=poll_seconds)
