"""Figures for operators (Prometheus gauges), read when /metrics is scraped."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from labelyard.store.tables import job, project_feed, webhook_delivery


async def queue_depths(conn: AsyncConnection) -> dict[str, int]:
    """Jobs waiting in or being worked at each step kind, over all projects."""
    query = select(job.c.queue, func.count()).where(job.c.queue.is_not(None)).group_by(job.c.queue)
    return {str(row[0]): int(row[1]) for row in await conn.execute(query)}


async def outbox_lag(conn: AsyncConnection) -> int:
    """Events written but not yet fanned out to webhook deliveries."""
    lag = await conn.scalar(select(func.sum(project_feed.c.last_seq - project_feed.c.fanout_seq)))
    return int(lag or 0)


async def delivery_counts(conn: AsyncConnection) -> dict[str, int]:
    """Webhook deliveries by status (pending, succeeded, failed)."""
    query = select(webhook_delivery.c.status, func.count()).group_by(webhook_delivery.c.status)
    return {str(row[0]): int(row[1]) for row in await conn.execute(query)}
