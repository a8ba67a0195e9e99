"""Queued pulls (``pull_run``): insert, read, claim the next one, update under its lock."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from labelyard.store import Record
from labelyard.store.tables import pull_run

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
