"""Queued pulls (``pull_run``): insert, read, claim the next one, update under its lock; and the
source side of a pull, a batch's jobs a page at a time with their result keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, text, true, update
from sqlalchemy.ext.asyncio import AsyncConnection

from labelyard.store import Record
from labelyard.store.jobs import PAGE_COLUMNS
from labelyard.store.tables import batch, job, pull_run

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"


async def insert_run(conn: AsyncConnection, **values: Any) -> None:
    """Store a new pull request."""
    await conn.execute(pull_run.insert().values(**values))


async def get_run(conn: AsyncConnection, *, id: str) -> Record | None:
    """One pull."""
    return (await conn.execute(select(pull_run).where(pull_run.c.id == id))).first()


async def next_run(conn: AsyncConnection, *, now: datetime) -> Record | None:
    """The oldest queued pull, else the oldest running one whose lock expired; locked (call in
    a write transaction: ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, the database lock on
    SQLite)."""
    for condition in (
        pull_run.c.status == QUEUED,
        (pull_run.c.status == RUNNING) & (pull_run.c.locked_until < now),
    ):
        query = select(pull_run).where(condition).order_by(pull_run.c.created_at).limit(1)
        if conn.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        row = (await conn.execute(query)).first()
        if row is not None:
            return row
    return None


async def update_run(conn: AsyncConnection, *, id: str, **values: Any) -> None:
    """Set columns of a pull."""
    await conn.execute(update(pull_run).where(pull_run.c.id == id).values(**values))


def _results_page() -> Any:
    rows = (
        select(*PAGE_COLUMNS, job.c.result_key)
        .where(
            job.c.project_id == bindparam("project_id"),
            job.c.batch_id == bindparam("batch_id"),
            job.c.seq > bindparam("after"),
        )
        .order_by(job.c.seq)
        .limit(bindparam("limit"))
        .subquery("page")
    )
    return (
        select(batch.c.name.label("batch_name"), *rows.c)
        .select_from(batch.outerjoin(rows, true()))
        .where(batch.c.project_id == bindparam("project_id"), batch.c.id == bindparam("batch_id"))
        .order_by(rows.c.seq)
    )


_RESULTS_PAGE = _results_page()


async def page_results(
    conn: AsyncConnection, *, project_id: str, batch_id: str, after: int, limit: int
) -> tuple[str, list[Record]] | None:
    """The batch's name and up to ``limit`` of its jobs after keyset position ``after``, each
    with its ``result_key`` (as ``store.jobs.page_jobs``, one range read of the batch's
    ``seq`` index); ``None`` if the project has no such batch."""
    values = {"project_id": project_id, "batch_id": batch_id, "after": after, "limit": limit}
    found = list((await conn.execute(_RESULTS_PAGE, values)).all())
    if not found:
        return None
    return found[0].batch_name, [row for row in found if row.id is not None]


async def refresh_statistics(conn: AsyncConnection) -> None:
    """Let PostgreSQL's planner see the jobs a pull has written so far (``ANALYZE job``), as
    autovacuum would, and without waiting for it (it may be off, or a minute away): with the
    statistics of an empty table, each page's lookup of its jobs by id read every job of the
    project, so a pull slowed with the square of its size. SQLite reads these by index
    without statistics."""
    if conn.dialect.name == "postgresql":
        await conn.execute(text("ANALYZE job"))
