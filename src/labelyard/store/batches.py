"""Batches, their counters, and the per-batch sequence that orders their jobs."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from labelyard.errors import DuplicateBatchName
from labelyard.store import Record
from labelyard.store.tables import batch

COUNTER_COLUMNS = (
    "total_jobs",
    "completed_jobs",
    "aborted_jobs",
    "in_progress_jobs",
    "total_frames",
    "completed_frames",
    "annotations",
)


async def insert_batch(
    conn: AsyncConnection,
    *,
    id: str,
    project_id: str,
    name: str,
    description: str,
    label: str,
    is_default: bool,
    now: datetime,
) -> None:
    """Store a new, empty batch; ``DuplicateBatchName`` if the name is taken in the project."""
    try:
        await conn.execute(
            batch.insert().values(
                id=id,
                project_id=project_id,
                name=name,
                description=description,
                label=label,
                is_default=is_default,
                created_at=now,
                **dict.fromkeys(COUNTER_COLUMNS, 0),
                last_seq=0,
            )
        )
    except IntegrityError:
        raise DuplicateBatchName(f"a batch named {name!r} already exists") from None


async def get_batch(conn: AsyncConnection, *, project_id: str, id: str) -> Record | None:
    """One batch of the project."""
    query = select(batch).where(batch.c.project_id == project_id, batch.c.id == id)
    return (await conn.execute(query)).first()


_PROJECT_BATCHES = (
    select(batch)
    .where(batch.c.project_id == bindparam("project_id"))
    .order_by(batch.c.created_at, batch.c.id)
)


async def list_batches(conn: AsyncConnection, *, project_id: str) -> list[Record]:
    """Every batch of the project, oldest first, with its counters."""
    return list((await conn.execute(_PROJECT_BATCHES, {"project_id": project_id})).all())


_DEFAULT_BATCH = select(batch.c.id, batch.c.is_default).where(
    batch.c.project_id == bindparam("project_id"), batch.c.is_default.is_(True)
)


async def existing_batch_ids(
    conn: AsyncConnection, *, project_id: str, ids: set[str]
) -> tuple[set[str], str]:
    """Which of ``ids`` are batches of the project, and the id of its default batch."""
    if ids:
        query = select(batch.c.id, batch.c.is_default).where(
            batch.c.project_id == project_id,
            (batch.c.id.in_(ids)) | batch.c.is_default.is_(True),
        )
        rows = await conn.execute(query)
    else:  # the common case (no batch named), a statement built once
        rows = await conn.execute(_DEFAULT_BATCH, {"project_id": project_id})
    found: set[str] = set()
    default_id = ""
    for row in rows:
        if row.is_default:
            default_id = row.id
        if row.id in ids:
            found.add(row.id)
    return found, default_id


_RESERVE = (
    update(batch)
    .where(batch.c.project_id == bindparam("b_project_id"), batch.c.id == bindparam("b_id"))
    .values(last_seq=batch.c.last_seq + bindparam("count", type_=BigInteger))
    .returning(batch.c.last_seq)
)


_RESERVE_COUNTING = (
    update(batch)
    .where(batch.c.project_id == bindparam("b_project_id"), batch.c.id == bindparam("b_id"))
    .values(
        last_seq=batch.c.last_seq + bindparam("count", type_=BigInteger),
        total_jobs=batch.c.total_jobs + bindparam("jobs", type_=BigInteger),
        total_frames=batch.c.total_frames + bindparam("frames", type_=BigInteger),
    )
    .returning(batch.c.last_seq)
)


async def reserve_positions(
    conn: AsyncConnection, *, project_id: str, id: str, count: int, jobs: int = 0, frames: int = 0
) -> int:
    """Reserve ``count`` positions in the batch, adding ``jobs`` and ``frames`` to its counters
    in the same statement; returns the first.

    The update locks the batch row until commit, so positions are handed out in commit order.
    """
    values = {"b_project_id": project_id, "b_id": id, "count": count}
    if jobs or frames:
        values |= {"jobs": jobs, "frames": frames}
        last = (await conn.execute(_RESERVE_COUNTING, values)).scalar_one()
    else:
        last = (await conn.execute(_RESERVE, values)).scalar_one()
    return int(last) - count + 1


@functools.cache
def _add_to_counters_statement(names: tuple[str, ...]) -> Any:
    """``add_to_counters``'s update of ``names``, built once per set of counters."""
    return (
        update(batch)
        .where(batch.c.project_id == bindparam("b_project_id"), batch.c.id == bindparam("b_id"))
        .values(
            {
                name: batch.c[name] + bindparam(f"d_{name}", type_=batch.c[name].type)
                for name in names
            }
        )
        .returning(*(batch.c[name] for name in COUNTER_COLUMNS))
    )


async def add_to_counters(
    conn: AsyncConnection, *, project_id: str, id: str, **deltas: int
) -> Record:
    """Add ``deltas`` (counter name → amount) to the batch's counters; the counters after."""
    names = tuple(sorted(deltas))
    values: dict[str, Any] = {"b_project_id": project_id, "b_id": id}
    values |= {f"d_{name}": deltas[name] for name in names}
    result = await conn.execute(_add_to_counters_statement(names), values)
    return result.one()
