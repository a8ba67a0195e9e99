"""Analytics figures from rollup sums: ranges, rates, running totals, CSV."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest

from labelyard.core import analytics
from labelyard.errors import InvalidInput

ZERO = dict.fromkeys((*analytics.WORKER_COUNTS, *analytics.WORKER_SUMS), 0)


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
            "active_seconds": 1500,
            "accepted_work": 3,
            "rejected_work": 1,
        },
        {
            **ZERO,
            "worker_id": "w",
            "step": "review",
            "finished": 2,
            "work_seconds": 1800,
            "active_seconds": 2100,
        },
        {**ZERO, "worker_id": "idle", "step": "annotate", "claims": 1},
    ]
    busy, idle = analytics.workers_from_rows(rows)
    assert busy.jobs_by_step == {"annotate": 6, "review": 2}
    assert busy.active_hours == 1.0
    assert busy.throughput_per_hour == 8.0
    assert busy.reject_rate == 0.25
    assert idle.throughput_per_hour is None and idle.reject_rate is None
    assert busy.to_json()["gold_score"] is None and busy.to_json()["agreement"] is None
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


def test_gold_score_and_agreement_are_means_over_the_parts_of_a_range() -> None:
    rows = [
        {**ZERO, "worker_id": "w", "step": "annotate", "gold_jobs": 2, "gold_score_sum": 1.5},
        {**ZERO, "worker_id": "w", "step": "annotate", "gold_jobs": 2, "gold_score_sum": 0.5},
        {**ZERO, "worker_id": "w", "step": "annotate", "agreement_jobs": 3, "agreement_sum": 2.0},
        {**ZERO, "worker_id": "w", "step": "annotate", "finished": 2},
        {**ZERO, "worker_id": "w", "step": "annotate", "finished": 3},
    ]
    (worker,) = analytics.workers_from_rows(rows)
    assert worker.gold_score == 0.5
    assert worker.agreement == round(2 / 3, 4)
    assert worker.jobs_by_step == {"annotate": 5}


def test_active_gaps_are_capped_at_the_idle_threshold() -> None:
    start = datetime(2026, 1, 31, 23, 59, tzinfo=UTC)
    assert analytics.active_gap(None, start) == 0
    assert analytics.active_gap(start, start + timedelta(seconds=90)) == 90
    assert analytics.active_gap(start, start + timedelta(hours=3)) == analytics.IDLE_SECONDS
    assert analytics.active_gap(start, start - timedelta(seconds=5)) == 0


@pytest.mark.parametrize(
    ("since", "until", "days", "months", "minus"),
    [
        # Whole months in the middle; January's 17 days from its month less 14 days, April's
        # 10 days from their day rows (the month less 20 would read more).
        (
            "2026-01-15",
            "2026-04-10",
            [("2026-04-01", "2026-04-10")],
            ("2026-01", "2026-03"),
            [("2026-01-01", "2026-01-14")],
        ),
        # Exactly one month.
        ("2026-02-01", "2026-02-28", [], ("2026-02", "2026-02"), []),
        # A month less a day at either end: the month less that day.
        ("2026-02-02", "2026-02-28", [], ("2026-02", "2026-02"), [("2026-02-01", "2026-02-01")]),
        ("2026-02-01", "2026-02-27", [], ("2026-02", "2026-02"), [("2026-02-28", "2026-02-28")]),
        # Across a year's end, ending on a month's last day.
        ("2025-12-31", "2026-02-28", [("2025-12-31", "2025-12-31")], ("2026-01", "2026-02"), []),
        # Across a month edge, no more than half of either month: days, as one range.
        ("2026-01-20", "2026-02-10", [("2026-01-20", "2026-02-10")], None, []),
        # Inside one month, both sides subtracted.
        (
            "2026-03-03",
            "2026-03-29",
            [],
            ("2026-03", "2026-03"),
            [("2026-03-01", "2026-03-02"), ("2026-03-30", "2026-03-31")],
        ),
        # The last year up to today (2026-12-01): December 2025 less its first day.
        (
            "2025-12-02",
            "2026-12-01",
            [("2026-12-01", "2026-12-01")],
            ("2025-12", "2026-11"),
            [("2025-12-01", "2025-12-01")],
        ),
    ],
)
def test_a_range_cuts_into_months_and_edge_days_reading_the_fewest(
    since: str,
    until: str,
    days: list[tuple[str, str]],
    months: tuple[str, str] | None,
    minus: list[tuple[str, str]],
) -> None:
    cut = analytics.cut_range(date.fromisoformat(since), date.fromisoformat(until))
    assert (cut.days, cut.months, cut.minus) == (days, months, minus)


def test_days_after_today_cost_nothing_to_subtract() -> None:
    today = date(2026, 12, 10)
    # The month so far: December less its days after the 10th (no rows yet), not 10 day rows.
    cut = analytics.cut_range(date(2026, 12, 1), today, today=today)
    assert (cut.days, cut.months, cut.minus) == (
        [],
        ("2026-12", "2026-12"),
        [("2026-12-11", "2026-12-31")],
    )
    # Without today the 21 days after count as rows: the 10 days are read instead.
    cut = analytics.cut_range(date(2026, 12, 1), today)
    assert (cut.days, cut.months, cut.minus) == ([("2026-12-01", "2026-12-10")], None, [])


def _day_set(cut: analytics.Cut) -> dict[str, int]:
    """Each day the cut reads, with how many times it counts (months as their days)."""
    counted: Counter[str] = Counter()
    for first, last in cut.days:
        counted.update(analytics.days_between(date.fromisoformat(first), date.fromisoformat(last)))
    if cut.months is not None:
        month = date.fromisoformat(cut.months[0] + "-01")
        while month.isoformat()[:7] <= cut.months[1]:
            after = date(month.year + (month.month == 12), month.month % 12 + 1, 1)
            counted.update(analytics.days_between(month, after - timedelta(days=1)))
            month = after
    for first, last in cut.minus:
        counted.subtract(
            analytics.days_between(date.fromisoformat(first), date.fromisoformat(last))
        )
    return {day: n for day, n in counted.items() if n}  # a day subtracted too often stays


def test_every_cut_counts_each_day_of_its_range_once() -> None:
    start = date(2024, 11, 20)
    for since_offset in range(0, 120, 3):
        since = start + timedelta(days=since_offset)
        for length in (1, 2, 15, 16, 27, 28, 29, 30, 31, 45, 59, 61, 365, 366):
            until = since + timedelta(days=length - 1)
            for today in (None, until, until + timedelta(days=5), since):
                cut = analytics.cut_range(since, until, today=today)
                assert _day_set(cut) == dict.fromkeys(analytics.days_between(since, until), 1), (
                    since,
                    until,
                    today,
                )
                assert len(cut.days) <= 2 and len(cut.minus) <= 2
