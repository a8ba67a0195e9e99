"""Job transitions: one row per change of a job, written in the change's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from labelyard.store import Record
from labelyard.store.bulk import insert_many
from labelyard.store.tables import job_transition


async def insert_transitions(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    """Record transitions (each a dict of the table's columns; one executemany for many)."""
    if len(rows) > 1:
        await insert_many(conn, job_transition, rows)
    elif rows:
        await conn.execute(job_transition.insert(), list(rows))


async def list_transitions(conn: AsyncConnection, *, project_id: str, job_id: str) -> list[Record]:
    """A job's transitions, oldest first."""
    query = (
        select(job_transition)
        .where(job_transition.c.project_id == project_id, job_transition.c.job_id == job_id)
        .order_by(job_transition.c.created_at, job_transition.c.id)
    )
    return list((await conn.execute(query)).all())
