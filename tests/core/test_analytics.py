"""Analytics figures from rollup sums: ranges, rates, running totals, CSV."""

from __future__ import annotations

from datetime import date

import pytest

from labelyard.core import analytics
from labelyard.errors import InvalidInput

ZERO = dict.fromkeys(analytics.WORKER_COUNTS, 0)


def test_the_default_range_is_the_last_30_days() -> None:
    first, last = analytics.parse_range(None, None, today=date(2026, 12, 1))
    assert (first, last) == (date(2026, 11, 2), date(2026, 12, 1))
    assert analytics.parse_range("2026-01-01", "2026-01-01", today=date(2026, 12, 1)) == (
        date(2026, 1, 1),
        date(2026, 1, 1),
    )


@pytest.mark.parametrize(
    ("since", "until"),
    [("2026-1-01", None), ("2026-02-30", None), ("2026-03-02", "2026-03-01"), ("1990-01-01", None)],
)
def test_bad_ranges_are_refused(since: str, until: str | None) -> None:
    with pytest.raises(InvalidInput):
        analytics.parse_range(since, until, today=date(2026, 12, 1))


def test_worker_rates_and_steps() -> None:
    rows = [
        {
            **ZERO,
            "worker_id": "w",
            "step": "annotate",
            "finished": 6,
            "work_seconds": 1800,
            "accepted_work": 3,
            "rejected_work": 1,
        },
        {**ZERO, "worker_id": "w", "step": "review", "finished": 2, "work_seconds": 1800},
        {**ZERO, "worker_id": "idle", "step": "annotate", "claims": 1},
    ]
    busy, idle = analytics.workers_from_rows(rows)
    assert busy.jobs_by_step == {"annotate": 6, "review": 2}
    assert busy.active_hours == 1.0
    assert busy.throughput_per_hour == 8.0
    assert busy.reject_rate == 0.25
    assert idle.throughput_per_hour is None and idle.reject_rate is None
    assert busy.to_json()["gold_score"] is None
    text = analytics.workers_csv([busy, idle])
    assert text.splitlines()[1].endswith(",annotate=6 review=2")


def test_batch_progress_runs_from_the_days_before_the_range() -> None:
    zero = dict.fromkeys(analytics.BATCH_COUNTS, 0)
    rows = [
        {**zero, "batch_id": "b", "day": "2026-12-01", "completed": 2, "accepts": 3, "rejects": 1},
        {
            **zero,
            "batch_id": "b",
            "day": "2026-12-03",
            "completed": 1,
            "finished": 4,
            "work_seconds": 100,
        },
    ]
    (batch,) = analytics.batches_from_rows(rows, {"b": 10}, date(2026, 12, 1), date(2026, 12, 3))
    assert [d["completed_total"] for d in batch.days] == [12, 12, 13]
    assert batch.reject_rate == 0.25
    assert batch.seconds_per_job == 25.0
    assert len(analytics.batches_csv([batch]).splitlines()) == 4
