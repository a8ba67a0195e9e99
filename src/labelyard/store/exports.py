"""Exports: the export queue, and the keyset reads that stream a project's jobs out."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from labelyard.store import Record
from labelyard.store.tables import export, job

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"

EXPORT_JOB_COLUMNS = (
    job.c.seq,
    job.c.id,
    job.c.reference_id,
    job.c.batch_id,
    job.c.status,
    job.c.data,
    job.c.draft,
)


async def insert_export(conn: AsyncConnection, **values: Any) -> None:
    """Store a new export request."""
    await conn.execute(export.insert().values(**values))


async def get_export(conn: AsyncConnection, *, project_id: str, id: str) -> Record | None:
    """One export of the project."""
    query = select(export).where(export.c.project_id == project_id, export.c.id == id)
    return (await conn.execute(query)).first()


async def next_export(conn: AsyncConnection, *, now: datetime) -> Record | None:
    """The oldest queued export, else the oldest running one whose lock has expired; locked.

    Call in a write transaction: on PostgreSQL the row is taken ``FOR UPDATE SKIP LOCKED``, so
    concurrent workers take different exports; on SQLite the write transaction already holds
    the database lock.
    """
    for condition in (
        export.c.status == QUEUED,
        (export.c.status == RUNNING) & (export.c.locked_until < now),
    ):
        query = select(export).where(condition).order_by(export.c.created_at).limit(1)
        if conn.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        row = (await conn.execute(query)).first()
        if row is not None:
            return row
    return None


async def update_export(
    conn: AsyncConnection,
    *,
    project_id: str,
    id: str,
    holding: datetime | None = None,
    **values: Any,
) -> bool:
    """Set columns of an export; with ``holding``, only while its lock is still that one.

    The lock a worker took is its fence: once another worker has taken the export over (the
    lock expired), the first one's updates change nothing and it learns it lost the export.
    """
    query = update(export).where(export.c.project_id == project_id, export.c.id == id)
    if holding is not None:
        query = query.where(export.c.status == RUNNING, export.c.locked_until == holding)
    result = await conn.execute(query.values(**values))
    return result.rowcount == 1


async def job_page(
    conn: AsyncConnection,
    *,
    project_id: str,
    batch_id: str,
    after: int,
    statuses: Sequence[str],
    limit: int,
) -> list[Record]:
    """Up to ``limit`` of the batch's jobs in ``statuses`` after keyset position ``after``.

    A ``LIMIT``-ed range read of the ``(project_id, batch_id, seq)`` index: every page costs
    the same, however deep, and nothing holds a transaction open between pages.
    """
    query = select(*EXPORT_JOB_COLUMNS).where(
        job.c.project_id == project_id, job.c.batch_id == batch_id, job.c.seq > after
    )
    if statuses:
        query = query.where(job.c.status.in_(statuses))
    query = query.order_by(job.c.seq).limit(limit)
    return list((await conn.execute(query)).all())


async def count_jobs(
    conn: AsyncConnection, *, project_id: str, batch_id: str, statuses: Sequence[str]
) -> int:
    """How many jobs of the batch are in ``statuses`` (when its counters cannot tell)."""
    query = select(func.count()).where(job.c.project_id == project_id, job.c.batch_id == batch_id)
    if statuses:
        query = query.where(job.c.status.in_(statuses))
    return int(await conn.scalar(query) or 0)
