"""Exports: the export queue, and the keyset reads that stream a project's jobs out."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from labelyard.store import Record
from labelyard.store.tables import export, job

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"


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


JobRow = tuple[int, str, str, str, str, bytes | str, bytes | str | None]
"""A job as exports read it: ``(seq, id, reference_id, batch_id, status, data, draft)``, the
last two as their stored JSON text (bytes on SQLite, as stored: compact, written by orjson;
text on PostgreSQL, as ``jsonb`` prints it)."""

_JOB_ROWS = {
    # The JSON columns come back as text: exports parse them with orjson themselves (or not at
    # all) instead of through SQLAlchemy's result processors.
    "sqlite": (
        "SELECT seq, id, reference_id, batch_id, status, CAST(data AS BLOB), CAST(draft AS BLOB)"
        " FROM job"
        " WHERE project_id = ? AND batch_id = ? AND seq > ?{statuses} ORDER BY seq LIMIT ?"
    ),
    "postgresql": (
        "SELECT seq, id, reference_id, batch_id, status, data::text, draft::text FROM job"
        " WHERE project_id = $1 AND batch_id = $2 AND seq > $3{statuses} ORDER BY seq LIMIT $4"
    ),
}


async def job_rows(
    conn: AsyncConnection,
    *,
    project_id: str,
    batch_id: str,
    after: int,
    statuses: Sequence[str],
    limit: int,
) -> list[JobRow]:
    """Up to ``limit`` of the batch's jobs in ``statuses`` after keyset position ``after``.

    A ``LIMIT``-ed range read of the ``(project_id, batch_id, seq)`` index: every page costs
    the same, however deep, and nothing holds a transaction open between pages. Rows come
    straight from the driver: plain tuples, or asyncpg's records, which unpack and index alike
    (an export reads millions of them; SQLAlchemy's row objects and JSON processing cost more
    than the query).
    """
    raw = await conn.get_raw_connection()
    driver: Any = raw.driver_connection
    if conn.dialect.name == "sqlite":
        marks = ", ".join("?" for _ in statuses)
        sql = _JOB_ROWS["sqlite"].format(statuses=f" AND status IN ({marks})" if statuses else "")
        # On a thread (aiosqlite's, or one of asyncio's for the inline connections of the read
        # pool): SQLite leaves the GIL while it reads, so the next page is read while this one
        # is written.
        params = (project_id, batch_id, after, *statuses, limit)
        return list(await driver.execute_fetchall(sql, params))
    filter_ = " AND status = ANY($5::varchar[])" if statuses else ""
    args: list[Any] = [project_id, batch_id, after, limit]
    if statuses:
        args.append(list(statuses))
    # asyncpg's records as they are: they unpack and index as the tuples they stand for.
    return cast(
        list[JobRow], await driver.fetch(_JOB_ROWS["postgresql"].format(statuses=filter_), *args)
    )


SPLICES_JSON = sqlite3.sqlite_version_info >= (3, 38, 0)
"""True if ``image_text_rows`` can run here (SQLite's ``->`` operator came with 3.38)."""

ImageTextRow = tuple[Any, ...]
"""An IMAGE job with what its NDJSON line takes from its JSON, as stored text: ``(seq, id,
reference_id, batch_id, status, data, json_type(data) = 'object' (1 or 0), data -> '$.image_url',
draft, keys)``,
``data`` and ``draft`` as in ``JobRow`` (bytes), the image URL's JSON text (bytes, None if
the key is missing) and ``keys`` the draft's top-level ``key:type``s in order, comma-separated
(None if it has none)."""

_IMAGE_TEXT_ROWS = (
    # SQLite gives a value's text as it is in the stored document (numbers, strings and their
    # escapes verbatim), and json_each the keys of an object in the document's order.
    "SELECT seq, id, reference_id, batch_id, status, CAST(data AS BLOB),"
    " json_type(data) = 'object', CAST(data -> '$.image_url' AS BLOB), CAST(draft AS BLOB),"
    " (SELECT group_concat(key || ':' || type) FROM json_each(job.draft))"
    " FROM job"
    " WHERE project_id = ? AND batch_id = ? AND seq > ?{statuses} ORDER BY seq LIMIT ?"
)


async def image_text_rows(
    conn: AsyncConnection,
    *,
    project_id: str,
    batch_id: str,
    after: int,
    statuses: Sequence[str],
    limit: int,
) -> list[ImageTextRow]:
    """As ``job_rows``, with what an IMAGE job's NDJSON line takes from its JSON (SQLite only,
    where ``SPLICES_JSON``): SQLite looks into the JSON, on the thread that reads, so that
    Python need not parse it and encode it again."""
    if conn.dialect.name != "sqlite" or not SPLICES_JSON:
        raise ValueError("image_text_rows needs SQLite 3.38 or later")
    raw = await conn.get_raw_connection()
    driver: Any = raw.driver_connection
    marks = ", ".join("?" for _ in statuses)
    sql = _IMAGE_TEXT_ROWS.format(statuses=f" AND status IN ({marks})" if statuses else "")
    return list(await driver.execute_fetchall(sql, (project_id, batch_id, after, *statuses, limit)))


async def count_jobs(
    conn: AsyncConnection, *, project_id: str, batch_id: str, statuses: Sequence[str]
) -> int:
    """How many jobs of the batch are in ``statuses`` (when its counters cannot tell)."""
    query = select(func.count()).where(job.c.project_id == project_id, job.c.batch_id == batch_id)
    if statuses:
        query = query.where(job.c.status.in_(statuses))
    return int(await conn.scalar(query) or 0)
