"""Analytics rollups: per worker and per batch, per UTC day; added to, then summed over ranges."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Float,
    Row,
    Table,
    and_,
    bindparam,
    cast,
    func,
    select,
    union_all,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from labelyard.core.analytics import BATCH_DAY_ROW, WORKER_ROW, Cut
from labelyard.store import Record
from labelyard.store.tables import (
    BATCH_COUNT_NAMES,
    WORKER_COUNT_NAMES,
    batch,
    batch_day,
    batch_month,
    job_transition,
    worker,
    worker_activity,
    worker_day,
    worker_month,
)

WORKER_COUNTS = WORKER_COUNT_NAMES
BATCH_COUNTS = BATCH_COUNT_NAMES
# What reports read, in the order core.analytics lays its rows out.
_WORKER_SUMMED = WORKER_ROW[2:]
_BATCH_SUMMED = BATCH_DAY_ROW[2:]
DayRange = tuple[str, str]


@functools.cache
def _upsert(dialect_name: str, table: Table, keys: tuple[str, ...], counts: tuple[str, ...]) -> Any:
    """``_add``'s statement for one rollup table, built once with bound parameters: insert the
    row at the deltas, or add every count to the existing row (a zero adds nothing)."""
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    statement = dialect.insert(table).values(
        {name: bindparam(name, type_=table.c[name].type) for name in (*keys, *counts)}
    )
    return statement.on_conflict_do_update(
        index_elements=list(keys),
        set_={name: table.c[name] + statement.excluded[name] for name in counts},
    )


async def _add(
    conn: AsyncConnection,
    table: Table,
    keys: Sequence[str],
    counts: Sequence[str],
    rows: Mapping[Any, Mapping[str, float]],
) -> None:
    """Add each row's counts to its rollup row (created at zero if missing), keys in order so
    concurrent writers lock rows in the same order: one executemany of a statement built once."""
    params = []
    for key in sorted(rows):
        deltas = rows[key]
        values = {name: deltas.get(name, 0) for name in counts}
        if not any(values.values()):
            continue
        params.append({**dict(zip(keys, key, strict=True)), **values})
    if params:
        statement = _upsert(conn.dialect.name, table, tuple(keys), tuple(counts))
        await conn.execute(statement, params)


async def add_worker_days(
    conn: AsyncConnection, rows: Mapping[tuple[str, str, str, str], Mapping[str, float]]
) -> None:
    """Add to ``worker_day`` rows keyed ``(project_id, worker_id, day, step)``, and the same
    to their ``worker_month`` rows."""
    months: dict[tuple[str, str, str, str], dict[str, float]] = {}
    for (project_id, worker_id, day, step), deltas in rows.items():
        mine = months.setdefault((project_id, worker_id, day[:7], step), {})
        for name, value in deltas.items():
            mine[name] = mine.get(name, 0) + value
    keys = ("project_id", "worker_id", "day", "step")
    await _add(conn, worker_day, keys, WORKER_COUNTS, rows)
    keys = ("project_id", "worker_id", "month", "step")
    await _add(conn, worker_month, keys, WORKER_COUNTS, months)


async def add_batch_days(
    conn: AsyncConnection, rows: Mapping[tuple[str, str, str], Mapping[str, float]]
) -> None:
    """Add to ``batch_day`` rows keyed ``(project_id, batch_id, day)`` and their months."""
    months: dict[tuple[str, str, str], dict[str, float]] = {}
    for (project_id, batch_id, day), deltas in rows.items():
        mine = months.setdefault((project_id, batch_id, day[:7]), {})
        for name, value in deltas.items():
            mine[name] = mine.get(name, 0) + value
    await _add(conn, batch_day, ("project_id", "batch_id", "day"), BATCH_COUNTS, rows)
    await _add(conn, batch_month, ("project_id", "batch_id", "month"), BATCH_COUNTS, months)


@functools.cache
def _activity_statements(dialect_name: str) -> tuple[Any, Any]:
    """``touch_activity``'s read (locking on PostgreSQL) and upsert, built once."""
    query = select(worker_activity.c.last_active_at).where(
        worker_activity.c.project_id == bindparam("project_id"),
        worker_activity.c.worker_id == bindparam("worker_id"),
    )
    if dialect_name == "postgresql":
        query = query.with_for_update()
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    statement = dialect.insert(worker_activity).values(
        project_id=bindparam("project_id"),
        worker_id=bindparam("worker_id"),
        last_active_at=bindparam("last_active_at", type_=worker_activity.c.last_active_at.type),
    )
    newer = (
        func.greatest(worker_activity.c.last_active_at, statement.excluded.last_active_at)
        if dialect_name == "postgresql"
        else func.max(worker_activity.c.last_active_at, statement.excluded.last_active_at)
    )
    upsert = statement.on_conflict_do_update(
        index_elements=["project_id", "worker_id"], set_={"last_active_at": newer}
    )
    return query, upsert


async def touch_activity(
    conn: AsyncConnection, *, project_id: str, worker_id: str, now: datetime
) -> datetime | None:
    """Record ``now`` as the worker's latest activity in the project; the one before it (None
    for their first). The activity row is locked, so concurrent events of one worker queue."""
    read, write = _activity_statements(conn.dialect.name)
    values = {"project_id": project_id, "worker_id": worker_id}
    before: datetime | None = (await conn.execute(read, values)).scalar()
    await conn.execute(write, {**values, "last_active_at": now})
    return before


@functools.cache
def _last_transitions_statement() -> Any:
    """``last_transitions``'s read, built once (every turn's end runs it)."""
    return (
        select(
            job_transition.c.job_id,
            job_transition.c.worker_id,
            job_transition.c.from_step,
            job_transition.c.created_at,
        )
        .where(
            job_transition.c.project_id == bindparam("project_id"),
            job_transition.c.job_id.in_(bindparam("job_ids", expanding=True)),
            job_transition.c.action == bindparam("action"),
        )
        .order_by(job_transition.c.created_at)
    )


async def last_transitions(
    conn: AsyncConnection, *, project_id: str, job_ids: Sequence[str], action: str
) -> dict[tuple[str, str | None], Record]:
    """Each job's latest transition of ``action``, per worker: keyed ``(job_id, worker_id)``,
    and ``(job_id, None)`` for the latest by anyone. One query for many jobs (walking the
    ``(project_id, job_id, created_at)`` index), in chunks of 1,000."""
    latest: dict[tuple[str, str | None], Record] = {}
    for start in range(0, len(job_ids), 1000):
        chunk = list(job_ids[start : start + 1000])
        values = {"project_id": project_id, "job_ids": chunk, "action": action}
        for row in await conn.execute(_last_transitions_statement(), values):
            latest[(row.job_id, row.worker_id)] = row
            latest[(row.job_id, None)] = row
    return latest


@functools.cache
def _sums(table: Table, counts: tuple[str, ...]) -> list[Any]:
    """The summed columns of a report's query (built once: the expressions are immutable)."""
    return [func.coalesce(func.sum(table.c[name]), 0).label(name) for name in counts]


def _in_cut(
    day_table: Table,
    month_table: Table,
    keys: tuple[str, ...],
    counts: tuple[str, ...],
    project_id: str,
    cut: Cut,
) -> Any:
    """One statement (one snapshot) summing the rollups of ``cut`` per ``keys``: the month
    rows, plus the day rows of ``cut.days``, minus those of ``cut.minus`` (their counts
    negated), all summed by one GROUP BY. Integer sums come back as integers (PostgreSQL's
    ``sum(bigint)`` is a numeric)."""
    parts = [(day_table, "day", span, False) for span in cut.days]
    if cut.months is not None:
        parts.append((month_table, "month", cut.months, False))
    parts += [(day_table, "day", span, True) for span in cut.minus]
    selects = [
        select(
            *(table.c[k] for k in keys),
            *((-table.c[n] if negated else table.c[n]).label(n) for n in counts),
        ).where(_period(table, column, project_id, span))
        for table, column, span, negated in parts
    ]
    every = (union_all(*selects) if len(selects) > 1 else selects[0]).subquery("parts")
    sums = [
        (
            func.sum(every.c[n])
            if isinstance(day_table.c[n].type, Float)
            else cast(func.sum(every.c[n]), BigInteger)
        ).label(n)
        for n in counts
    ]
    return select(*(every.c[k] for k in keys), *sums).group_by(*(every.c[k] for k in keys))


async def _summed(
    conn: AsyncConnection,
    day_table: Table,
    month_table: Table,
    keys: tuple[str, ...],
    counts: tuple[str, ...],
    project_id: str,
    cut: Cut,
) -> list[Row[Any]]:
    """The rows of ``_in_cut`` that hold anything. A key whose only rows in an edge month lie
    outside the range sums to zero (its month row less its day rows): it had no work in the
    range, so it is left out, as if only the days in range had been read. Every rollup row
    holds a non-zero count (rows are created by non-zero additions, and a score or agreement
    sum always comes with its job count), so the integer counts decide; a float sum may keep
    a rounding residue of its subtraction."""
    query = _in_cut(day_table, month_table, keys, counts, project_id, cut)
    rows = (await conn.execute(query)).all()
    if not cut.minus:
        return list(rows)
    whole = [
        index
        for index, name in enumerate(counts, start=len(keys))
        if not isinstance(day_table.c[name].type, Float)
    ]
    return [row for row in rows if any(row[index] for index in whole)]


def _period(table: Table, column: str, project_id: str, span: DayRange) -> Any:
    return and_(table.c.project_id == project_id, table.c[column].between(*span))


async def worker_totals(conn: AsyncConnection, *, project_id: str, cut: Cut) -> list[Row[Any]]:
    """Per worker and step, the sums over the range ``cut`` reads (one row each), laid out as
    ``core.analytics.WORKER_ROW``."""
    keys = ("worker_id", "step")
    return await _summed(conn, worker_day, worker_month, keys, _WORKER_SUMMED, project_id, cut)


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


async def batch_totals(conn: AsyncConnection, *, project_id: str, cut: Cut) -> list[Row[Any]]:
    """Per batch, the sums over the range ``cut`` reads (one row each)."""
    keys = ("batch_id",)
    return await _summed(conn, batch_day, batch_month, keys, _BATCH_SUMMED, project_id, cut)


async def batch_days(
    conn: AsyncConnection, *, project_id: str, batch_ids: Sequence[str], since: str, until: str
) -> list[Row[Any]]:
    """The rows of these batches for days ``since``..``until``, by batch then day, laid out as
    ``core.analytics.BATCH_DAY_ROW``."""
    query = (
        select(*(batch_day.c[name] for name in BATCH_DAY_ROW))
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
    """Per batch, the jobs completed on days before ``before`` (where a progress line starts):
    the months before its month, then the days of its month before it."""
    found: dict[str, int] = {}
    month = before[:7]
    parts = (
        (batch_month, batch_month.c.month < month),
        (batch_day, and_(batch_day.c.day >= f"{month}-01", batch_day.c.day < before)),
    )
    for table, when in parts:
        query = (
            select(table.c.batch_id, func.sum(table.c.completed))
            .where(table.c.project_id == project_id, table.c.batch_id.in_(batch_ids), when)
            .group_by(table.c.batch_id)
        )
        for row in await conn.execute(query):
            found[row[0]] = found.get(row[0], 0) + int(row[1] or 0)
    return found


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
