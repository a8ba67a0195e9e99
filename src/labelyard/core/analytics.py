"""Analytics figures from rollup sums: per worker and per batch, over a range of UTC days.

Pure: the rows come in as mappings of sums (``store.analytics``), the figures go out as
dataclasses and JSON-ready dicts. Rates are ``None`` where their denominator is zero; so are
the gold score and agreement of a worker with no gold job or closed consensus round in range.

Active time: each worker's activity events in a project (claims, heartbeats, draft saves,
submits, reviews, skips) form one timeline; the gap from one event to the next is added,
capped at ``IDLE_SECONDS``, to the day (and step) of the later event. The first event ever
adds nothing.

A range is read from the month rollups of the calendar months it touches and the day rollups
of its edges (``cut_range``): an edge month is read from its days inside the range, or from
its month row less its days outside the range, whichever reads fewer rows; so a year costs
about as much as a month, and no edge reads more than about half a month of day rows.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from labelyard.core.ids import require_uuid
from labelyard.errors import InvalidInput

DEFAULT_DAYS = 30
MAX_SERIES = 8
"""Batches whose progress is drawn day by day (the busiest, unless named)."""
MAX_DAYS = 3660
IDLE_SECONDS = 300
"""The longest gap between two activity events of a worker that counts as active time."""
COUNTS = ("submits", "accepts", "rejects", "skips", "finished", "work_seconds")
# Claims are counted per worker only: a per-batch count would make every claim of a batch
# wait on one row.
WORKER_COUNTS = (
    "claims",
    *COUNTS,
    "accepted_work",
    "rejected_work",
    "active_seconds",
    "gold_jobs",
    "agreement_jobs",
)
WORKER_SUMS = ("gold_score_sum", "agreement_sum")
BATCH_COUNTS = (*COUNTS, "completed", "aborted", "reopened")


def active_gap(before: datetime | None, now: datetime) -> int:
    """The active seconds an activity event at ``now`` adds after one at ``before``."""
    if before is None:
        return 0
    return int(min(max(0.0, (now - before).total_seconds()), IDLE_SECONDS))


DayRange = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Cut:
    """How a range of days is read from the rollups: the month rows of ``months`` (whole
    calendar months, ``YYYY-MM``, inclusive), plus the day rows of ``days``, minus the day rows
    of ``minus`` (days of those months outside the range). Sums are additive, so the total is
    exact; an edge month is read whole less its outside days when that reads fewer rows than
    its inside days."""

    days: list[DayRange]
    months: DayRange | None = None
    minus: list[DayRange] = field(default_factory=list)


def cut_range(since: date, until: date, *, today: date | None = None) -> Cut:
    """The rollup rows that add up to ``since``..``until``. Each edge month (one the range
    covers in part) is read from its day rows inside the range, or from its month row less its
    day rows outside the range, whichever is fewer days of rows; days after ``today`` have no
    rows yet, so they cost nothing to subtract (they are subtracted all the same)."""
    starts: list[date] = []
    month = since.replace(day=1)
    while month <= until:
        starts.append(month)
        month = _next_month(month)
    whole: list[date] = []
    days: list[DayRange] = []
    minus: list[DayRange] = []
    for start in starts:
        end = _next_month(start) - timedelta(days=1)
        first, last = max(start, since), min(end, until)
        outside = [
            span
            for span in ((start, first - timedelta(days=1)), (last + timedelta(days=1), end))
            if span[0] <= span[1]
        ]
        if not outside:
            whole.append(start)
            continue
        # The outside days that may have rows (none after today), against the inside days.
        cost = 1 + sum(
            (min(b, today) - a).days + 1 if today is not None else (b - a).days + 1
            for a, b in outside
            if today is None or a <= today
        )
        # Only the first and last months are partial, so the months read whole stay one run.
        if cost < (last - first).days + 1:
            whole.append(start)
            minus += [(a.isoformat(), b.isoformat()) for a, b in outside]
        else:
            days.append((first.isoformat(), last.isoformat()))
    months = (whole[0].isoformat()[:7], whole[-1].isoformat()[:7]) if whole else None
    return Cut(_merged(days), months, _merged(minus))


def _merged(spans: list[DayRange]) -> list[DayRange]:
    """Day ranges in order, adjacent ones joined (fewer, longer range reads)."""
    joined: list[DayRange] = []
    for first, last in sorted(spans):
        if joined and date.fromisoformat(joined[-1][1]) + timedelta(days=1) == date.fromisoformat(
            first
        ):
            joined[-1] = (joined[-1][0], last)
        else:
            joined.append((first, last))
    return joined


def _next_month(day: date) -> date:
    return date(day.year + (day.month == 12), day.month % 12 + 1, 1)


def parse_day(value: object, what: str) -> date:
    """A ``YYYY-MM-DD`` day; ``InvalidInput`` naming ``what`` otherwise."""
    if not isinstance(value, str) or len(value) != 10:
        raise InvalidInput(f"{what} must be a day, YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{what} must be a day, YYYY-MM-DD") from None


def parse_range(since: str | None, until: str | None, *, today: date) -> tuple[date, date]:
    """The inclusive range of days asked for; by default the 30 days up to ``today``."""
    last = parse_day(until, "until") if until else today
    first = parse_day(since, "since") if since else last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise InvalidInput("since must not be after until")
    if (last - first).days >= MAX_DAYS:
        raise InvalidInput(f"a range covers at most {MAX_DAYS} days")
    return first, last


def rate(part: int, whole: int) -> float | None:
    """``part / whole`` rounded to 4 places, or None when ``whole`` is 0."""
    return round(part / whole, 4) if whole else None


@dataclass(frozen=True, slots=True)
class WorkerFigures:
    """One worker's figures over a range."""

    worker_id: str
    counts: Mapping[str, int]
    jobs_by_step: Mapping[str, int]
    gold_score: float | None = None
    agreement: float | None = None

    @property
    def active_hours(self) -> float:
        """Active time (see the module docstring), in hours."""
        return round(self.counts["active_seconds"] / 3600, 4)

    @property
    def throughput_per_hour(self) -> float | None:
        """Steps finished (submitted or reviewed) an active hour."""
        hours = self.counts["active_seconds"] / 3600
        return round(self.counts["finished"] / hours, 2) if hours else None

    @property
    def reject_rate(self) -> float | None:
        """The share of the worker's reviewed work that reviewers rejected."""
        judged = self.counts["accepted_work"] + self.counts["rejected_work"]
        return rate(self.counts["rejected_work"], judged)

    def to_json(self) -> dict[str, Any]:
        return {
            "worker_id": self.worker_id,
            **self.counts,
            "jobs_by_step": [{"step": s, "jobs": n} for s, n in sorted(self.jobs_by_step.items())],
            "active_hours": self.active_hours,
            "throughput_per_hour": self.throughput_per_hour,
            "reject_rate": self.reject_rate,
            "gold_score": self.gold_score,
            "agreement": self.agreement,
        }


WORKER_ROW = ("worker_id", "step", *WORKER_COUNTS, *WORKER_SUMS)
"""A worker's sums for one step, in the order ``workers_from_tuples`` reads them."""
_FINISHED = WORKER_ROW.index("finished")


def workers_from_rows(rows: Iterable[Mapping[Any, Any]]) -> list[WorkerFigures]:
    """Workers' figures from per (worker, step) sums as mappings (see ``workers_from_tuples``);
    a missing sum (None) counts as zero."""
    return workers_from_tuples(
        tuple(row[name] if name in ("worker_id", "step") else row[name] or 0 for name in WORKER_ROW)
        for row in rows
    )


def workers_from_tuples(rows: Iterable[Sequence[Any]]) -> list[WorkerFigures]:
    """Workers' figures from per (worker, step) sums laid out as ``WORKER_ROW`` (never None;
    parts of a range are added), most work first."""
    # Each row becomes a plain tuple once: a driver's row type is slower to slice.
    by_worker: dict[str, list[tuple[Any, ...]]] = {}
    for row in map(tuple, rows):
        mine = by_worker.get(row[0])
        if mine is None:
            by_worker[row[0]] = [row]
        else:
            mine.append(row)
    found = []
    counted = len(WORKER_COUNTS)
    gold_at, agreement_at = WORKER_COUNTS.index("gold_jobs"), WORKER_COUNTS.index("agreement_jobs")
    for worker, mine in by_worker.items():
        if len(mine) == 1:
            values: Sequence[Any] = mine[0][2:]
            finished = mine[0][_FINISHED]
            steps = {mine[0][1]: int(finished)} if finished else {}
        else:
            values = [sum(column) for column in zip(*(row[2:] for row in mine), strict=True)]
            steps = {}
            for row in mine:
                if row[_FINISHED]:
                    steps[row[1]] = steps.get(row[1], 0) + int(row[_FINISHED])
        counts = dict(zip(WORKER_COUNTS, map(int, values[:counted]), strict=True))
        found.append(
            WorkerFigures(
                worker,
                counts,
                steps,
                gold_score=_mean(float(values[counted]), int(values[gold_at])),
                agreement=_mean(float(values[counted + 1]), int(values[agreement_at])),
            )
        )
    found.sort(key=lambda f: (-f.counts["finished"], f.worker_id))
    return found


def _mean(total: float, count: int) -> float | None:
    return round(total / count, 4) if count else None


def day_from_row(row: Mapping[Any, Any]) -> dict[str, Any]:
    """One day's sums over the whole project."""
    return {"day": row["day"], **{name: int(row[name] or 0) for name in BATCH_COUNTS}}


@dataclass(frozen=True, slots=True)
class BatchFigures:
    """One batch's figures over a range, with its progress day by day."""

    batch_id: str
    counts: Mapping[str, int]
    days: Sequence[Mapping[str, Any]] = field(default_factory=list)

    @property
    def seconds_per_job(self) -> float | None:
        """Work time per finished step (a submit or a review)."""
        done = self.counts["finished"]
        return round(self.counts["work_seconds"] / done, 1) if done else None

    @property
    def reject_rate(self) -> float | None:
        """Rejects among review verdicts."""
        return rate(self.counts["rejects"], self.counts["accepts"] + self.counts["rejects"])

    def to_json(self) -> dict[str, Any]:
        return {
            "batch_id": self.batch_id,
            **self.counts,
            "seconds_per_job": self.seconds_per_job,
            "reject_rate": self.reject_rate,
        }


def batch_totals(rows: Iterable[Mapping[Any, Any]]) -> list[BatchFigures]:
    """Batches' figures from their sums over a range (parts are added), most work first."""
    counts: dict[str, dict[str, int]] = {}
    for row in rows:
        mine = counts.setdefault(row["batch_id"], dict.fromkeys(BATCH_COUNTS, 0))
        for name in BATCH_COUNTS:
            mine[name] += int(row[name] or 0)
    found = [BatchFigures(b, c) for b, c in counts.items()]
    return sorted(found, key=lambda b: (-b.counts["finished"], b.batch_id))


def parse_batch_ids(value: str | None) -> list[str] | None:
    """``batch_id=a,b,...`` (at most ``MAX_SERIES`` UUIDs), or None when not given."""
    if not value:
        return None
    ids = [part.strip() for part in value.split(",")]
    if len(ids) > MAX_SERIES:
        raise InvalidInput(f"batch_id names at most {MAX_SERIES} batches")
    return [require_uuid(part, "batch_id") for part in ids]


def days_between(since: date, until: date) -> list[str]:
    """Every day from ``since`` to ``until``, inclusive."""
    return [(since + timedelta(days=i)).isoformat() for i in range((until - since).days + 1)]


BATCH_DAY_ROW = ("batch_id", "day", *BATCH_COUNTS)
"""A batch's sums for one day, in the order ``batches_from_tuples`` reads them."""


def batches_from_rows(
    rows: Iterable[Mapping[Any, Any]], before: Mapping[str, int], since: date, until: date
) -> list[BatchFigures]:
    """Batches' figures from their per-day rows as mappings (see ``batches_from_tuples``)."""
    return batches_from_tuples(
        (tuple(row[name] for name in BATCH_DAY_ROW) for row in rows), before, since, until
    )


def batches_from_tuples(
    rows: Iterable[Sequence[Any]], before: Mapping[str, int], since: date, until: date
) -> list[BatchFigures]:
    """Batches' figures from their per-day rows laid out as ``BATCH_DAY_ROW``; ``before``: jobs
    completed before ``since``, where each batch's running total of completed jobs starts."""
    by_batch: dict[str, dict[str, tuple[Any, ...]]] = {}
    for row in map(tuple, rows):  # plain tuples: a driver's row type is slower to slice
        by_batch.setdefault(row[0], {})[row[1]] = row
    found: list[BatchFigures] = []
    every_day = days_between(since, until)
    keys = ("day", *BATCH_COUNTS, "completed_total")
    zeros = (0,) * len(BATCH_COUNTS)
    completed = BATCH_DAY_ROW.index("completed")
    for batch_id, days in by_batch.items():
        done = before.get(batch_id, 0)
        series: list[dict[str, Any]] = []
        kept_rows: list[Sequence[int]] = []
        for day in every_day:
            kept = days.get(day)
            if kept is None:
                series.append(dict(zip(keys, (day, *zeros, done), strict=True)))
                continue
            today = tuple(map(int, kept[2:]))
            kept_rows.append(today)
            done += int(kept[completed])
            series.append(dict(zip(keys, (day, *today, done), strict=True)))
        totals = [sum(column) for column in zip(*kept_rows, strict=True)] or list(zeros)
        found.append(BatchFigures(batch_id, dict(zip(BATCH_COUNTS, totals, strict=True)), series))
    return sorted(found, key=lambda b: b.batch_id)


WORKER_CSV = (
    "worker_id",
    *WORKER_COUNTS,
    "active_hours",
    "throughput_per_hour",
    "reject_rate",
    "gold_score",
    "agreement",
    "jobs_by_step",
)


def workers_csv(workers: Iterable[WorkerFigures]) -> str:
    """The workers' figures as CSV, one row a worker (``jobs_by_step`` as ``step=n`` pairs)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(WORKER_CSV)
    for worker in workers:
        rates = (
            worker.active_hours,
            worker.throughput_per_hour,
            worker.reject_rate,
            worker.gold_score,
            worker.agreement,
        )
        writer.writerow(
            (
                worker.worker_id,
                *(worker.counts[name] for name in WORKER_COUNTS),
                *("" if value is None else value for value in rates),
                " ".join(f"{s}={n}" for s, n in sorted(worker.jobs_by_step.items())),
            )
        )
    return out.getvalue()


def batches_csv(batches: Iterable[BatchFigures]) -> str:
    """The batches' day-by-day progress as CSV, one row a batch and day."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    columns = ("day", *BATCH_COUNTS, "completed_total")
    writer.writerow(("batch_id", *columns))
    for batch in batches:
        for day in batch.days:
            writer.writerow((batch.batch_id, *(day[c] for c in columns)))
    return out.getvalue()


@dataclass(frozen=True, slots=True)
class Report:
    """A project's analytics over a range: workers, days (the whole project), batches, and
    some batches' progress day by day."""

    since: date
    until: date
    workers: Sequence[WorkerFigures]
    days: Sequence[Mapping[str, Any]]
    batches: Sequence[BatchFigures]
    progress: Sequence[BatchFigures]
    """Day-by-day figures of a few batches (``MAX_SERIES``; all of them for the CSV)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "workers": [w.to_json() for w in self.workers],
            "days": list(self.days),
            "batches": [b.to_json() for b in self.batches],
            "progress": [{"batch_id": b.batch_id, "days": list(b.days)} for b in self.progress],
        }
