"""Analytics figures from rollup sums: per worker and per batch, over a range of UTC days.

Pure: the rows come in as mappings of sums (``store.analytics``), the figures go out as
dataclasses and JSON-ready dicts. Rates are ``None`` where their denominator is zero; so are
the gold score and agreement of a worker with no gold job or closed consensus round in range.

Active time: each worker's activity events in a project (claims, heartbeats, draft saves,
submits, reviews, skips) form one timeline; the gap from one event to the next is added,
capped at ``IDLE_SECONDS``, to the day (and step) of the later event. The first event ever
adds nothing.

A range is read as whole calendar months from the month rollups and its partial edges from
the day rollups (``split_range``), so a year costs about as much as a month.
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


def split_range(since: date, until: date) -> tuple[list[DayRange], DayRange | None]:
    """The range as day ranges (its partial months' days) and a month range (the calendar
    months it covers whole, ``YYYY-MM``), or only day ranges when it covers no whole month."""
    first = since if since.day == 1 else _next_month(since)
    after = _next_month(until)  # the first day after the last month the range could hold
    last_start = after if until == after - timedelta(days=1) else until.replace(day=1)
    # Whole months: starting at ``first``, ending before ``last_start``.
    if first >= last_start:
        return [(since.isoformat(), until.isoformat())], None
    days: list[DayRange] = []
    if since < first:
        days.append((since.isoformat(), (first - timedelta(days=1)).isoformat()))
    if last_start <= until:
        days.append((last_start.isoformat(), until.isoformat()))
    months = (first.isoformat()[:7], (last_start - timedelta(days=1)).isoformat()[:7])
    return days, months


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


def workers_from_rows(rows: Iterable[Mapping[Any, Any]]) -> list[WorkerFigures]:
    """Workers' figures from per (worker, step) sums (parts of a range are added), most work
    first."""
    counts: dict[str, dict[str, int]] = {}
    sums: dict[str, dict[str, float]] = {}
    steps: dict[str, dict[str, int]] = {}
    for row in rows:
        worker = row["worker_id"]
        mine = counts.setdefault(worker, dict.fromkeys(WORKER_COUNTS, 0))
        for name in WORKER_COUNTS:
            mine[name] += int(row[name] or 0)
        summed = sums.setdefault(worker, dict.fromkeys(WORKER_SUMS, 0.0))
        for name in WORKER_SUMS:
            summed[name] += float(row[name] or 0.0)
        if row["finished"]:
            by_step = steps.setdefault(worker, {})
            by_step[row["step"]] = by_step.get(row["step"], 0) + int(row["finished"])
    found = [
        WorkerFigures(
            w,
            c,
            steps.get(w, {}),
            gold_score=_mean(sums[w]["gold_score_sum"], c["gold_jobs"]),
            agreement=_mean(sums[w]["agreement_sum"], c["agreement_jobs"]),
        )
        for w, c in counts.items()
    ]
    return sorted(found, key=lambda f: (-f.counts["finished"], f.worker_id))


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


def batches_from_rows(
    rows: Iterable[Mapping[Any, Any]], before: Mapping[str, int], since: date, until: date
) -> list[BatchFigures]:
    """Batches' figures from their per-day rows; ``before``: jobs completed before ``since``,
    where each batch's running total of completed jobs starts."""
    by_batch: dict[str, dict[str, Mapping[str, Any]]] = {}
    for row in rows:
        by_batch.setdefault(row["batch_id"], {})[row["day"]] = row
    found: list[BatchFigures] = []
    every_day = days_between(since, until)
    zero = dict.fromkeys(BATCH_COUNTS, 0)
    for batch_id, days in by_batch.items():
        totals = dict.fromkeys(BATCH_COUNTS, 0)
        done = before.get(batch_id, 0)
        series: list[dict[str, Any]] = []
        for day in every_day:
            kept = days.get(day)
            if kept is None:
                series.append({"day": day, **zero, "completed_total": done})
                continue
            today = {name: int(kept[name]) for name in BATCH_COUNTS}
            done += today["completed"]
            for name in BATCH_COUNTS:
                totals[name] += today[name]
            series.append({"day": day, **today, "completed_total": done})
        found.append(BatchFigures(batch_id, totals, series))
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
        data = worker.to_json()
        data["jobs_by_step"] = " ".join(f"{s}={n}" for s, n in sorted(worker.jobs_by_step.items()))
        writer.writerow(["" if data[c] is None else data[c] for c in WORKER_CSV])
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
