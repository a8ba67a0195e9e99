"""Analytics: rollups kept in the transaction of each job change, and the reports read from them.

``roll_up`` is called by ``services.lifecycle.apply_all`` (the one place a job's state is
written) with the changes it applies: per worker, UTC day and step, and per batch and day, it
adds what happened. Reports sum those rows over a date range; they never scan jobs or history.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime

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
    workers: dict[tuple[str, str, str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    batches: dict[tuple[str, str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    # The claims that turns end and the submits that verdicts judge, for every job at once.
    ending = [job.id for job, _, change in applied if change.action in _TURN_ENDS]
    judged = [job.id for job, _, change in applied if change.action in ("accept", "reject")]
    claims = await _latest(conn, project_id, ending, "claim")
    submits = await _latest(conn, project_id, judged, "submit")
    for job, state, change in applied:
        batch = batches[(project_id, job.batch_id, day)]
        batch["completed"] += change.counters.get("completed_jobs", 0)
        batch["aborted"] += change.counters.get("aborted_jobs", 0)
        if change.action == "reopen":
            batch["reopened"] += 1
        counted = _COUNTED.get(change.action)
        if counted is None or change.worker_id is None:
            continue
        step = state.step_name or ""
        mine = workers[(project_id, change.worker_id, day, step)]
        mine[counted] += 1
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
    """The project's analytics over ``since``..``until`` (UTC days, inclusive), from rollups."""
    first, last = since.isoformat(), until.isoformat()
    pid = project.id
    async with db.scan() as conn:
        worker_rows = await store.worker_totals(conn, project_id=pid, since=first, until=last)
        series = await store.day_series(conn, project_id=pid, since=first, until=last)
        totals = figures.batch_totals(
            row._mapping
            for row in await store.batch_totals(conn, project_id=pid, since=first, until=last)
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
    days = {row.day: figures.day_from_row(row._mapping) for row in series}
    return figures.Report(
        since=since,
        until=until,
        workers=figures.workers_from_rows(row._mapping for row in worker_rows),
        days=[
            days.get(day) or {"day": day, **dict.fromkeys(figures.BATCH_COUNTS, 0)}
            for day in figures.days_between(since, until)
        ],
        batches=totals,
        progress=figures.batches_from_rows((row._mapping for row in rows), before, since, until),
    )


async def names(db: Database, project: Project) -> dict[str, str]:
    """Names to show beside ids: the account's workers and the project's batches."""
    async with db.read() as conn:
        return await store.names(conn, project_id=project.id, account_id=project.account_id)
