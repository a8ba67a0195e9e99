"""Analytics: rollups kept in the transaction of each job change, and the reports read from them.

``roll_up`` is called by ``services.lifecycle.apply_all`` (the one place a job's state is
written) with the changes it applies: per worker, UTC day and step, and per batch and day, it
adds what happened (and the same to the month rows). ``activity`` adds a heartbeat's or draft
save's active time, in that call's transaction. Reports sum those rows over a date range
(whole months from the month rows); they never scan jobs or history.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from labelyard.core import analytics as figures
from labelyard.core.lifecycle import Change, JobState
from labelyard.core.model import Project, as_utc
from labelyard.services import utcnow
from labelyard.store import Record
from labelyard.store import analytics as store
from labelyard.store.engine import Database

# Actions that end a worker's turn on a job (its work time runs from their claim to these).
_TURN_ENDS = ("submit", "accept", "reject", "skip")
_FINISHING = ("submit", "accept", "reject")
_ACTIVE = ("claim", "submit", "accept", "reject", "skip")
_COUNTED = {
    "claim": "claims",
    "submit": "submits",
    "accept": "accepts",
    "reject": "rejects",
    "skip": "skips",
}


async def roll_up(
    conn: AsyncConnection,
    project_id: str,
    applied: Sequence[tuple[Record, JobState, Change]],
    *,
    now: datetime,
) -> None:
    """Add ``applied`` (each job row before, its state, the change) to the rollups."""
    day = as_utc(now).date().isoformat()
    workers: dict[tuple[str, str, str, str], dict[str, float]] = defaultdict(
        lambda: defaultdict(int)
    )
    batches: dict[tuple[str, str, str], dict[str, float]] = defaultdict(lambda: defaultdict(int))
    # The claims that turns end and the submits that verdicts judge, for every job at once.
    ending = [job.id for job, _, change in applied if change.action in _TURN_ENDS]
    judged = [job.id for job, _, change in applied if change.action in ("accept", "reject")]
    claims = await _latest(conn, project_id, ending, "claim")
    submits = await _latest(conn, project_id, judged, "submit")
    touched: set[str] = set()
    for job, state, change in applied:
        step = state.step_name or ""
        if change.gold is not None and change.annotated_by is not None:
            scored = workers[(project_id, change.annotated_by, day, step)]
            scored["gold_jobs"] += 1
            scored["gold_score_sum"] += change.gold.score
        for annotator, value in sorted(change.agreements.items()):
            agreed = workers[(project_id, annotator, day, step)]
            agreed["agreement_jobs"] += 1
            agreed["agreement_sum"] += value
        batch = batches[(project_id, job.batch_id, day)]
        batch["completed"] += change.counters.get("completed_jobs", 0)
        batch["aborted"] += change.counters.get("aborted_jobs", 0)
        if change.action == "reopen":
            batch["reopened"] += 1
        counted = _COUNTED.get(change.action)
        if counted is None or change.worker_id is None:
            continue
        mine = workers[(project_id, change.worker_id, day, step)]
        mine[counted] += 1
        if change.action in _ACTIVE and change.worker_id not in touched:
            # Once per worker and call: the rest of a list's jobs come at the same instant.
            touched.add(change.worker_id)
            mine["active_seconds"] += await _active_seconds(conn, project_id, change.worker_id, now)
        if counted != "claims":  # per worker only: claims of a batch never wait on one row
            batch[counted] += 1
        if change.action in _FINISHING:
            mine["finished"] += 1
            batch["finished"] += 1
        if change.action in _TURN_ENDS:
            claimed = claims.get((job.id, change.worker_id))
            if claimed is not None:
                seconds = max(0, int((now - as_utc(claimed.created_at)).total_seconds()))
                mine["work_seconds"] += seconds
                batch["work_seconds"] += seconds
        if change.action in ("accept", "reject"):
            # The verdict counts for whoever handed the work in.
            handed = submits.get((job.id, None))
            if handed is not None and handed.worker_id is not None:
                key = (project_id, handed.worker_id, day, handed.from_step or "")
                verdict = "accepted_work" if change.action == "accept" else "rejected_work"
                workers[key][verdict] += 1
    await store.add_worker_days(conn, workers)
    await store.add_batch_days(conn, batches)


async def _latest(
    conn: AsyncConnection, project_id: str, job_ids: list[str], action: str
) -> dict[tuple[str, str | None], Record]:
    """Each job's latest ``action`` transition, by worker and by anyone (one query)."""
    if not job_ids:
        return {}
    return await store.last_transitions(conn, project_id=project_id, job_ids=job_ids, action=action)


async def _active_seconds(
    conn: AsyncConnection, project_id: str, worker_id: str, now: datetime
) -> int:
    before = await store.touch_activity(conn, project_id=project_id, worker_id=worker_id, now=now)
    return figures.active_gap(as_utc(before) if before is not None else None, now)


async def activity(
    conn: AsyncConnection, project_id: str, *, worker_id: str, step: str | None, now: datetime
) -> None:
    """A worker's heartbeat or draft save on a job in ``step``: the active time since their
    previous activity event (capped, see ``core.analytics``), in the caller's transaction."""
    seconds = await _active_seconds(conn, project_id, worker_id, now)
    if seconds:
        day = as_utc(now).date().isoformat()
        key = (project_id, worker_id, day, step or "")
        await store.add_worker_days(conn, {key: {"active_seconds": seconds}})


async def report_for(
    db: Database,
    project: Project,
    *,
    since: str | None,
    until: str | None,
    batch_ids: str | None = None,
    every_batch: bool = False,
) -> figures.Report:
    """The report over the days asked for (``YYYY-MM-DD``; default: the last 30 days), with
    the progress of the batches named (``batch_id=a,b``), of every batch, or of the busiest."""
    first, last = figures.parse_range(since, until, today=utcnow().date())
    named = figures.parse_batch_ids(batch_ids)
    return await report(
        db, project, since=first, until=last, batch_ids=named, every_batch=every_batch
    )


async def report(
    db: Database,
    project: Project,
    *,
    since: date,
    until: date,
    batch_ids: Sequence[str] | None = None,
    every_batch: bool = False,
) -> figures.Report:
    """The project's analytics over ``since``..``until`` (UTC days, inclusive), from rollups.
    The workers' sums and the batches' run at once, on two connections (on SQLite, two of
    aiosqlite's threads: neither holds the event loop)."""
    cut = figures.cut_range(since, until, today=utcnow().date())
    workers, (days, totals, progress) = await asyncio.gather(
        _workers(db, project.id, cut),
        _batches(db, project.id, since, until, cut, batch_ids, every_batch=every_batch),
    )
    return figures.Report(
        since=since, until=until, workers=workers, days=days, batches=totals, progress=progress
    )


async def workers_report(
    db: Database, project: Project, *, since: str | None, until: str | None
) -> tuple[date, date, list[figures.WorkerFigures]]:
    """The range asked for (as ``report_for``) and the workers' figures over it, alone."""
    first, last = figures.parse_range(since, until, today=utcnow().date())
    cut = figures.cut_range(first, last, today=utcnow().date())
    return first, last, await _workers(db, project.id, cut)


async def _workers(db: Database, pid: str, cut: figures.Cut) -> list[figures.WorkerFigures]:
    async with db.scan() as conn:
        rows = await store.worker_totals(conn, project_id=pid, cut=cut)
    return figures.workers_from_tuples(rows)


async def _batches(
    db: Database,
    pid: str,
    since: date,
    until: date,
    cut: figures.Cut,
    batch_ids: Sequence[str] | None,
    *,
    every_batch: bool,
) -> tuple[list[dict[str, Any]], list[figures.BatchFigures], list[figures.BatchFigures]]:
    """The project's days, its batches' sums, and the progress of the batches named (or of
    the busiest, or of every one)."""
    first, last = since.isoformat(), until.isoformat()
    async with db.scan() as conn:
        series = await store.day_series(conn, project_id=pid, since=first, until=last)
        totals = figures.batch_totals(
            row._mapping for row in await store.batch_totals(conn, project_id=pid, cut=cut)
        )
        if batch_ids is None:
            chosen = totals if every_batch else totals[: figures.MAX_SERIES]
            batch_ids = [b.batch_id for b in chosen]
        rows = await store.batch_days(
            conn, project_id=pid, batch_ids=batch_ids, since=first, until=last
        )
        before = await store.batch_completed_before(
            conn, project_id=pid, batch_ids=batch_ids, before=first
        )
    found = {row.day: figures.day_from_row(row._mapping) for row in series}
    days = [
        found.get(day) or {"day": day, **dict.fromkeys(figures.BATCH_COUNTS, 0)}
        for day in figures.days_between(since, until)
    ]
    return days, totals, figures.batches_from_tuples(rows, before, since, until)


async def names(db: Database, project: Project) -> dict[str, str]:
    """Names to show beside ids: the account's workers and the project's batches."""
    async with db.read() as conn:
        return await store.names(conn, project_id=project.id, account_id=project.account_id)
