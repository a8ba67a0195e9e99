"""Media checks: queued with every new job, run by ``labelyard worker``, retried by the owner.

A job whose media cannot be read gets a ``media_error`` and the event ``job.media_failed`` in
one transaction, and is not handed to annotators (``store.work`` skips it) until a retried check
passes. The reading itself (HTTP, concurrency, rate limits) is the worker's: ``worker/media.py``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from labelyard.core.events import media_failed_event
from labelyard.core.ids import require_uuid
from labelyard.core.media import INVALID_IMAGE_LINK, MediaItem, media_error_text
from labelyard.core.model import Base, Project
from labelyard.errors import NotFound
from labelyard.services import utcnow
from labelyard.services.events import emit
from labelyard.store import media as store
from labelyard.store.engine import Database


@dataclass(frozen=True, slots=True)
class CheckTask:
    """A leased check: the job's data, and whose connections sign its private media."""

    project_id: str
    job_id: str
    account_id: str
    base: Base
    data: Any
    attempts: int


async def queue_for_new_jobs(
    conn: AsyncConnection, *, project_id: str, job_ids: Iterable[str], now: datetime
) -> None:
    """Ask the worker to check new jobs' media (in the creating transaction)."""
    await store.queue_checks(conn, project_id=project_id, job_ids=job_ids, now=now)


async def claim(db: Database, *, lease_seconds: float, limit: int) -> list[CheckTask]:
    """Lease up to ``limit`` due checks to this worker."""
    now = utcnow()
    async with db.write() as conn:
        rows = await store.claim_due(
            conn, now=now, until=now + timedelta(seconds=lease_seconds), limit=limit
        )
    return [
        CheckTask(
            project_id=row.project_id,
            job_id=row.job_id,
            account_id=row.account_id,
            base=Base(row.base),
            data=row.data,
            attempts=row.attempts,
        )
        for row in rows
    ]


async def settle(
    db: Database,
    task: CheckTask,
    *,
    failures: Sequence[tuple[MediaItem, str]],
    later: Sequence[tuple[MediaItem, str]],
    max_attempts: int,
    retry_base_seconds: float,
) -> str:
    """Record a check's outcome: ``failed`` (media error and event), ``retry`` (checked again
    later) or ``passed`` (a former media error cleared)."""
    now = utcnow()
    attempts = task.attempts + 1
    async with db.write() as conn:
        job = await store.lock_job_for_outcome(conn, project_id=task.project_id, job_id=task.job_id)
        if job is None:  # deleted meanwhile
            await store.finish_check(conn, project_id=task.project_id, job_id=task.job_id)
            return "passed"
        if not failures and later and attempts < max_attempts:
            delay = retry_base_seconds * 4 ** (attempts - 1)
            await store.reschedule_check(
                conn,
                project_id=task.project_id,
                job_id=task.job_id,
                attempts=attempts,
                at=now + timedelta(seconds=delay),
                error=media_error_text(later),
            )
            return "retry"
        await store.finish_check(conn, project_id=task.project_id, job_id=task.job_id)
        if not failures and not later:
            if job.media_error is not None:
                await store.set_media_error(
                    conn, project_id=task.project_id, job_id=task.job_id, error=None, now=now
                )
            return "passed"
        if not failures:
            failures = [(item, f"{reason} (after {attempts} attempts)") for item, reason in later]
        error = media_error_text(failures)
        await store.set_media_error(
            conn, project_id=task.project_id, job_id=task.job_id, error=error, now=now
        )
        listed = [
            {"field": item.field, "type": INVALID_IMAGE_LINK, "url": item.url, "reason": reason}
            for item, reason in failures
        ]
        event = media_failed_event(dict(job._mapping), media_error=error, failures=listed)
        await emit(conn, project_id=task.project_id, events=[event], now=now)
        return "failed"


async def retry(db: Database, project: Project, *, job_id: str) -> dict[str, Any]:
    """The owner fixed a job's media: check it again (the job stays out of the queue until the
    check passes)."""
    job_id = require_uuid(job_id, "job_id")
    now = utcnow()
    async with db.write() as conn:
        job = await store.lock_job_for_outcome(conn, project_id=project.id, job_id=job_id)
        if job is None:
            raise NotFound(f"no job {job_id} in this project")
        await store.queue_checks(conn, project_id=project.id, job_ids=[job_id], now=now)
        await store.reschedule_check(
            conn, project_id=project.id, job_id=job_id, attempts=0, at=now, error=""
        )
    return {"job_id": job_id, "media_error": job.media_error or "", "media_check": "queued"}
