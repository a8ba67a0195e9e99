"""Media checks: the queue of jobs whose media the worker has to read, and their outcome."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from labelyard.store import Record
from labelyard.store.bulk import Same, insert_columns
from labelyard.store.tables import job, media_check, project


async def queue_checks(
    conn: AsyncConnection, *, project_id: str, job_ids: Iterable[str], now: datetime
) -> None:
    """Ask for a check of these jobs' media (a check already waiting is kept as it is)."""
    ids = list(job_ids)
    # One driver call for a bulk create's checks (store.bulk).
    await insert_columns(
        conn,
        media_check,
        {
            "project_id": Same(project_id),
            "job_id": ids,
            "attempts": Same(0),
            "next_attempt_at": Same(now),
            "created_at": Same(now),
        },
        count=len(ids),
        unique=("project_id", "job_id"),
    )


async def claim_due(
    conn: AsyncConnection, *, now: datetime, until: datetime, limit: int
) -> list[Record]:
    """Lease up to ``limit`` due checks (until ``until``); each with its job's data, project
    base and account."""
    query = (
        select(media_check.c.project_id, media_check.c.job_id)
        .where(
            media_check.c.next_attempt_at <= now,
            or_(media_check.c.locked_until.is_(None), media_check.c.locked_until <= now),
        )
        .order_by(media_check.c.next_attempt_at)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    keys = list((await conn.execute(query)).all())
    for key in keys:
        await conn.execute(
            update(media_check)
            .where(media_check.c.project_id == key.project_id, media_check.c.job_id == key.job_id)
            .values(locked_until=until)
        )
    found: list[Record] = []
    for key in keys:
        row = (
            await conn.execute(
                select(
                    media_check.c.project_id,
                    media_check.c.job_id,
                    media_check.c.attempts,
                    job.c.data,
                    project.c.account_id,
                    project.c.base,
                )
                .select_from(
                    media_check.join(
                        job,
                        (job.c.project_id == media_check.c.project_id)
                        & (job.c.id == media_check.c.job_id),
                    ).join(project, project.c.id == media_check.c.project_id)
                )
                .where(
                    media_check.c.project_id == key.project_id,
                    media_check.c.job_id == key.job_id,
                )
            )
        ).first()
        if row is not None:
            found.append(row)
    return found


async def lock_job_for_outcome(
    conn: AsyncConnection, *, project_id: str, job_id: str
) -> Record | None:
    """The job a check is about (locked on PostgreSQL), with what its event needs."""
    query = select(
        job.c.id,
        job.c.project_id,
        job.c.reference_id,
        job.c.batch_id,
        job.c.tag,
        job.c.status,
        job.c.media_error,
    ).where(job.c.project_id == project_id, job.c.id == job_id)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(of=job)
    return (await conn.execute(query)).first()


async def drop_checks(conn: AsyncConnection, *, project_id: str, job_ids: list[str]) -> None:
    """Remove the checks of these jobs (queued for creates that made no job)."""
    await conn.execute(
        delete(media_check).where(
            media_check.c.project_id == project_id, media_check.c.job_id.in_(job_ids)
        )
    )


async def finish_check(conn: AsyncConnection, *, project_id: str, job_id: str) -> None:
    """The check has its outcome: remove it from the queue."""
    await conn.execute(
        delete(media_check).where(
            media_check.c.project_id == project_id, media_check.c.job_id == job_id
        )
    )


async def reschedule_check(
    conn: AsyncConnection,
    *,
    project_id: str,
    job_id: str,
    attempts: int,
    at: datetime,
    error: str,
) -> None:
    """Check again at ``at`` (the store did not answer properly this time)."""
    await conn.execute(
        update(media_check)
        .where(media_check.c.project_id == project_id, media_check.c.job_id == job_id)
        .values(attempts=attempts, next_attempt_at=at, locked_until=None, last_error=error)
    )


async def set_media_error(
    conn: AsyncConnection, *, project_id: str, job_id: str, error: str | None, now: datetime
) -> None:
    """Set (or clear, with None) a job's media error."""
    await conn.execute(
        update(job)
        .where(job.c.project_id == project_id, job.c.id == job_id)
        .values(media_error=error, updated_at=now)
    )
