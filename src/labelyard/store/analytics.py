"""Analytics rollups: per worker and per batch, per UTC day; added to, then summed over ranges."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table, and_, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from labelyard.store import Record
from labelyard.store.tables import batch, batch_day, job_transition, worker, worker_day

WORKER_COUNTS = (
    "claims",
    "submits",
    "accepts",
    "rejects",
    "skips",
    "accepted_work",
    "rejected_work",
    "finished",
    "work_seconds",
)
BATCH_COUNTS = (
    "submits",
    "accepts",
    "rejects",
    "skips",
    "completed",
    "aborted",
    "reopened",
    "finished",
    "work_seconds",
)


async def _add(
    conn: AsyncConnection,
    table: Table,
    keys: Sequence[str],
    counts: Sequence[str],
    rows: Mapping[Any, Mapping[str, int]],
) -> None:
    """Add each row's counts to its rollup row (created at zero if missing), keys in order so
    concurrent writers lock rows in the same order."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    for key in sorted(rows):
        deltas = rows[key]
        values = {name: int(deltas.get(name, 0)) for name in counts}
        if not any(values.values()):
            continue
        statement = dialect.insert(table).values(**dict(zip(keys, key, strict=True)), **values)
        changed = {
            name: table.c[name] + statement.excluded[name] for name, v in values.items() if v
        }
        await conn.execute(statement.on_conflict_do_update(index_elements=list(keys), set_=changed))


async def add_worker_days(
    conn: AsyncConnection, rows: Mapping[tuple[str, str, str, str], Mapping[str, int]]
) -> None:
    """Add to ``worker_day`` rows keyed ``(project_id, worker_id, day, step)``."""
    keys = ("project_id", "worker_id", "day", "step")
    await _add(conn, worker_day, keys, WORKER_COUNTS, rows)


async def add_batch_days(
    conn: AsyncConnection, rows: Mapping[tuple[str, str, str], Mapping[str, int]]
) -> None:
    """Add to ``batch_day`` rows keyed ``(project_id, batch_id, day)``."""
    await _add(conn, batch_day, ("project_id", "batch_id", "day"), BATCH_COUNTS, rows)


async def last_transitions(
    conn: AsyncConnection, *, project_id: str, job_ids: Sequence[str], action: str
) -> dict[tuple[str, str | None], Record]:
    """Each job's latest transition of ``action``, per worker: keyed ``(job_id, worker_id)``,
    and ``(job_id, None)`` for the latest by anyone. One query for many jobs (walking the
    ``(project_id, job_id, created_at)`` index), in chunks of 1,000."""
    latest: dict[tuple[str, str | None], Record] = {}
    for start in range(0, len(job_ids), 1000):
        chunk = list(job_ids[start : start + 1000])
        query = (
            select(
                job_transition.c.job_id,
                job_transition.c.worker_id,
                job_transition.c.from_step,
                job_transition.c.created_at,
            )
            .where(
                job_transition.c.project_id == project_id,
                job_transition.c.job_id.in_(chunk),
                job_transition.c.action == action,
            )
            .order_by(job_transition.c.created_at)
        )
        for row in await conn.execute(query):
            latest[(row.job_id, row.worker_id)] = row
            latest[(row.job_id, None)] = row
    return latest


def _sums(table: Table, counts: Sequence[str]) -> list[Any]:
    return [func.coalesce(func.sum(table.c[name]), 0).label(name) for name in counts]


async def worker_totals(
    conn: AsyncConnection, *, project_id: str, since: str, until: str
) -> list[Record]:
    """Per worker and step, the sums over days ``since``..``until`` (inclusive)."""
    in_range = and_(worker_day.c.project_id == project_id, worker_day.c.day.between(since, until))
    query = (
        select(worker_day.c.worker_id, worker_day.c.step, *_sums(worker_day, WORKER_COUNTS))
        .where(in_range)
        .group_by(worker_day.c.worker_id, worker_day.c.step)
    )
    return list((await conn.execute(query)).all())


async def day_series(
    conn: AsyncConnection, *, project_id: str, since: str, until: str
) -> list[Record]:
    """Per day, the sums over every batch (fewer rows than over every worker, same counts)."""
    query = (
        select(batch_day.c.day, *_sums(batch_day, BATCH_COUNTS))
        .where(batch_day.c.project_id == project_id, batch_day.c.day.between(since, until))
        .group_by(batch_day.c.day)
        .order_by(batch_day.c.day)
    )
    return list((await conn.execute(query)).all())


async def batch_totals(
    conn: AsyncConnection, *, project_id: str, since: str, until: str
) -> list[Record]:
    """Per batch, the sums over days ``since``..``until``."""
    query = (
        select(batch_day.c.batch_id, *_sums(batch_day, BATCH_COUNTS))
        .where(batch_day.c.project_id == project_id, batch_day.c.day.between(since, until))
        .group_by(batch_day.c.batch_id)
    )
    return list((await conn.execute(query)).all())


async def batch_days(
    conn: AsyncConnection, *, project_id: str, batch_ids: Sequence[str], since: str, until: str
) -> list[Record]:
    """The rows of these batches for days ``since``..``until``, by batch then day."""
    query = (
        select(batch_day)
        .where(
            batch_day.c.project_id == project_id,
            batch_day.c.batch_id.in_(batch_ids),
            batch_day.c.day.between(since, until),
        )
        .order_by(batch_day.c.batch_id, batch_day.c.day)
    )
    return list((await conn.execute(query)).all())


async def batch_completed_before(
    conn: AsyncConnection, *, project_id: str, batch_ids: Sequence[str], before: str
) -> dict[str, int]:
    """Per batch, the jobs completed on days before ``before`` (where a progress line starts)."""
    query = (
        select(batch_day.c.batch_id, func.sum(batch_day.c.completed))
        .where(
            batch_day.c.project_id == project_id,
            batch_day.c.batch_id.in_(batch_ids),
            batch_day.c.day < before,
        )
        .group_by(batch_day.c.batch_id)
    )
    return {row[0]: int(row[1] or 0) for row in await conn.execute(query)}


async def names(conn: AsyncConnection, *, project_id: str, account_id: str) -> dict[str, str]:
    """The names of the account's workers and the project's batches, by id."""
    found = {
        row.id: row.name
        for row in await conn.execute(
            select(worker.c.id, worker.c.name).where(worker.c.account_id == account_id)
        )
    }
    query = select(batch.c.id, batch.c.name).where(batch.c.project_id == project_id)
    found.update({row.id: row.name for row in await conn.execute(query)})
    return found
