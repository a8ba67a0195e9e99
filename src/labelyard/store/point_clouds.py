"""Point clouds: the queue of lidar files to convert, and what came of each."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from labelyard.store import Record
from labelyard.store.tables import point_cloud

QUEUED, RUNNING, READY, FAILED = "queued", "running", "ready", "failed"


async def insert_point_clouds(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    """Queue lidar files (in the transaction that creates their jobs)."""
    if rows:
        await conn.execute(point_cloud.insert(), list(rows))


async def next_due(conn: AsyncConnection, *, now: datetime) -> Record | None:
    """The queued file due first, or a running one whose worker's lock expired; locked.

    Call in a write transaction: on PostgreSQL the row is taken ``FOR UPDATE SKIP LOCKED``;
    on SQLite the write transaction holds the database lock.
    """
    query = (
        select(point_cloud)
        .where(
            or_(
                (point_cloud.c.status == QUEUED) & (point_cloud.c.next_attempt_at <= now),
                (point_cloud.c.status == RUNNING) & (point_cloud.c.locked_until < now),
            )
        )
        .order_by(point_cloud.c.next_attempt_at)
        .limit(1)
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return (await conn.execute(query)).first()


async def update_point_cloud(
    conn: AsyncConnection,
    *,
    project_id: str,
    job_id: str,
    position: int,
    holding: datetime | None = None,
    **values: Any,
) -> bool:
    """Set columns of one file's row; with ``holding``, only while that lock is still held."""
    query = update(point_cloud).where(
        point_cloud.c.project_id == project_id,
        point_cloud.c.job_id == job_id,
        point_cloud.c.position == position,
    )
    if holding is not None:
        query = query.where(point_cloud.c.status == RUNNING, point_cloud.c.locked_until == holding)
    result = await conn.execute(query.values(**values))
    return result.rowcount == 1


async def job_point_clouds(conn: AsyncConnection, *, project_id: str, job_id: str) -> list[Record]:
    """Every lidar file of a job, in position order."""
    query = (
        select(point_cloud)
        .where(point_cloud.c.project_id == project_id, point_cloud.c.job_id == job_id)
        .order_by(point_cloud.c.position)
    )
    return list((await conn.execute(query)).all())


async def failed_point_clouds(
    conn: AsyncConnection, *, project_id: str, job_ids: Sequence[str]
) -> list[Record]:
    """The failed lidar files of some jobs of a project."""
    if not job_ids:
        return []
    query = (
        select(point_cloud)
        .where(
            point_cloud.c.project_id == project_id,
            point_cloud.c.job_id.in_(list(job_ids)),
            point_cloud.c.status == FAILED,
        )
        .order_by(point_cloud.c.job_id, point_cloud.c.position)
    )
    return list((await conn.execute(query)).all())
