"""Figures for operators: the work queues, the outbox and webhook deliveries."""

from __future__ import annotations

from dataclasses import dataclass

from labelyard.store import stats
from labelyard.store.engine import Database


@dataclass(frozen=True, slots=True)
class WorkFigures:
    """What the /metrics gauges show about work shared by all processes."""

    queue_jobs: dict[str, int]
    outbox_lag: int
    webhook_deliveries: dict[str, int]


async def work_figures(db: Database) -> WorkFigures:
    """Read the shared figures (a few aggregate queries; run at scrape time, off the event loop
    on SQLite: they count over every job)."""
    async with db.scan() as conn:
        return WorkFigures(
            queue_jobs=await stats.queue_depths(conn),
            outbox_lag=await stats.outbox_lag(conn),
            webhook_deliveries=await stats.delivery_counts(conn),
        )
