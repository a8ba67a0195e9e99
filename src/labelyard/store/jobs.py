"""Jobs: inserts that let the database decide uniqueness, and keyset reads."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Select, bindparam, select, true
from sqlalchemy.ext.asyncio import AsyncConnection

from labelyard.store import Record
from labelyard.store.bulk import Column, insert_columns
from labelyard.store.tables import batch, job

# Keeps IN lists well under SQLite's and asyncpg's bound-parameter limits.
_IN_CHUNK = 1000

JOB_READ_COLUMNS = (
    job.c.id,
    job.c.project_id,
    job.c.reference_id,
    job.c.batch_id,
    job.c.status,
    job.c.workflow_id,
    job.c.priority_weight,
    job.c.tag,
    job.c.payload_hash,
    job.c.result_key,
    job.c.media_error,
)

PAGE_COLUMNS = (
    job.c.seq,
    job.c.id,
    job.c.reference_id,
    job.c.status,
    job.c.frames,
    job.c.annotations,
    job.c.priority_weight,
    job.c.tag,
)


async def insert_jobs(
    conn: AsyncConnection, columns: Mapping[str, Column], *, project_id: str, count: int
) -> set[str]:
    """Insert ``count`` jobs given column by column (``store.bulk.insert_columns``) whose
    ``(project_id, reference_id)`` is new; returns the ids inserted.

    The unique constraint decides, so concurrent creates of one reference id insert one row.
    One driver call for all rows; only when some collided are the ids that made it read back.
    """
    if not count:
        return set()
    inserted = await insert_columns(
        conn, job, columns, count=count, unique=("project_id", "reference_id")
    )
    ids = [str(i) for i in columns["id"]]  # type: ignore[union-attr]
    if inserted == count:
        return set(ids)
    found: set[str] = set()
    for start in range(0, len(ids), _IN_CHUNK):
        chunk = ids[start : start + _IN_CHUNK]
        query = select(job.c.id).where(job.c.project_id == project_id, job.c.id.in_(chunk))
        found.update(str(i) for i in (await conn.execute(query)).scalars())
    return found


async def jobs_by_reference(
    conn: AsyncConnection, *, project_id: str, reference_ids: Iterable[str]
) -> dict[str, Record]:
    """The project's jobs with these reference ids, by reference id."""
    wanted = list(dict.fromkeys(reference_ids))
    found: dict[str, Record] = {}
    for start in range(0, len(wanted), _IN_CHUNK):
        chunk = wanted[start : start + _IN_CHUNK]
        query = select(*JOB_READ_COLUMNS).where(
            job.c.project_id == project_id, job.c.reference_id.in_(chunk)
        )
        for row in await conn.execute(query):
            found[row.reference_id] = row
    return found


# The hot reads are built once, with bound parameters: a request only binds values (SQLAlchemy's
# compiled cache finds the statement by identity, with no per-request construction).
_GET_JOB = select(*JOB_READ_COLUMNS).where(
    job.c.project_id == bindparam("project_id"), job.c.id == bindparam("id")
)


async def get_job(conn: AsyncConnection, *, project_id: str, id: str) -> Record | None:
    """One job of the project."""
    return (await conn.execute(_GET_JOB, {"project_id": project_id, "id": id})).first()


def _page_statement(*, by_status: bool) -> Select[Any]:
    page = select(*PAGE_COLUMNS).where(
        job.c.project_id == bindparam("project_id"),
        job.c.batch_id == bindparam("batch_id"),
        job.c.seq > bindparam("after"),
    )
    if by_status:
        page = page.where(job.c.status.in_(bindparam("statuses", expanding=True)))
    rows_of_page = page.order_by(job.c.seq).limit(bindparam("limit")).subquery("page")
    return (
        select(batch.c.project_id, batch.c.name.label("batch_name"), *rows_of_page.c)
        .select_from(batch.outerjoin(rows_of_page, true()))
        .where(batch.c.project_id == bindparam("project_id"), batch.c.id == bindparam("batch_id"))
        .order_by(rows_of_page.c.seq)
    )


_PAGE = _page_statement(by_status=False)
_PAGE_BY_STATUS = _page_statement(by_status=True)


async def page_jobs(
    conn: AsyncConnection,
    *,
    project_id: str,
    batch_id: str,
    after: int,
    statuses: Sequence[str],
    limit: int,
) -> tuple[str, list[Record]] | None:
    """The batch's name and up to ``limit`` of its jobs after keyset position ``after``: rows of
    the project id, the batch name, ``PAGE_COLUMNS`` (as ``store.keyed.page_for_key``'s).

    ``None`` if the project has no such batch. One statement: the batch row outer-joined to the
    page, which is a ``LIMIT``-ed range read of the ``(project_id, batch_id, seq)`` index, so it
    costs the same at any depth on both engines.
    """
    values: dict[str, Any] = {
        "project_id": project_id,
        "batch_id": batch_id,
        "after": after,
        "limit": limit,
    }
    if statuses:
        values["statuses"] = list(statuses)
    rows = list((await conn.execute(_PAGE_BY_STATUS if statuses else _PAGE, values)).all())
    if not rows:
        return None
    return rows[0].batch_name, [row for row in rows if row.id is not None]
