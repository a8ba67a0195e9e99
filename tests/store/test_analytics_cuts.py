"""Analytics sums over a range read as month rows plus or minus edge days (``cut_range``) equal
the plain sums of the day rows in the range, on SQLite and PostgreSQL: ranges across a year's
end, month ends, February, one month less a day, and days after "today".

The rollups are written by the writers the state machine uses (``store.analytics.add_*``,
which keep the month rows), with random counts on random days; the expected figures are one
GROUP BY over the day rows alone."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from labelyard.core import analytics as figures
from labelyard.store import analytics as store
from labelyard.store.engine import Database
from labelyard.store.migrate import migrate
from labelyard.store.tables import batch_day, worker_day
from tests.conftest import BACKENDS

FIRST, LAST = date(2025, 11, 25), date(2026, 3, 6)
FLOATS = ("gold_score_sum", "agreement_sum")


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'cuts.db'}"
    url: str = request.getfixturevalue("pg_database")
    return url.replace("postgresql://", "postgresql+asyncpg://", 1)


def _ranges(rng: random.Random) -> list[tuple[date, date, date | None]]:
    """(since, until, today): chosen edges, then random ones."""
    d = date.fromisoformat
    chosen = [
        (d("2025-12-02"), d("2026-02-27"), None),  # across the year's end, both edges subtracted
        (d("2025-12-31"), d("2026-01-01"), None),  # one day each side of the year's end
        (d("2026-01-02"), d("2026-01-30"), None),  # one month less its first and last days
        (d("2026-02-01"), d("2026-02-28"), None),  # February whole
        (d("2026-02-02"), d("2026-03-01"), None),  # February less a day, March's first day
        (d("2025-11-30"), d("2026-03-01"), d("2026-03-01")),  # a month's last day to today
        (d("2026-03-01"), d("2026-03-05"), d("2026-03-05")),  # the month so far
        (d("2026-01-15"), d("2026-01-16"), None),
    ]
    spread = (LAST - FIRST).days
    drawn = []
    for _ in range(40):
        since = FIRST - timedelta(days=5) + timedelta(days=rng.randrange(spread + 10))
        until = since + timedelta(days=rng.choice((0, 1, 13, 16, 27, 29, 30, 45, 70, 100)))
        today = rng.choice((None, until, until + timedelta(days=3), LAST))
        drawn.append((since, min(until, LAST + timedelta(days=5)), today))
    return chosen + drawn


def _plain(rows: list[Any], width: int) -> dict[tuple[str, ...], tuple[Any, ...]]:
    return {tuple(row[:width]): tuple(row[width:]) for row in rows}


def _check(
    got: dict[tuple[str, ...], tuple[Any, ...]],
    expected: dict[tuple[str, ...], tuple[Any, ...]],
    names: tuple[str, ...],
    where: object,
) -> None:
    assert set(got) == set(expected), where
    for key, values in expected.items():
        for name, have, want in zip(names, got[key], values, strict=True):
            if name in FLOATS:
                assert have == pytest.approx(float(want), abs=1e-9), (where, key, name)
            else:
                assert int(have) == int(want), (where, key, name)


def test_cut_sums_equal_the_day_sums(db_url: str) -> None:
    rng = random.Random(15)
    project = str(uuid.uuid4())
    workers = [str(uuid.uuid4()) for _ in range(4)]
    batches = [str(uuid.uuid4()) for _ in range(3)]

    async def run() -> None:
        db = Database(db_url)
        try:
            await migrate(db)
            day = FIRST
            while day <= LAST:
                # Most days have work; a few workers and batches skip some days entirely.
                for worker in workers:
                    if rng.random() < 0.35:
                        continue
                    for step in ("annotate", "review"):
                        deltas = {
                            name: rng.randint(1, 9)
                            for name in figures.WORKER_COUNTS
                            if rng.random() < 0.7
                        }
                        deltas["claims"] = rng.randint(1, 5)
                        if "gold_jobs" in deltas:
                            deltas["gold_score_sum"] = rng.random()
                        if "agreement_jobs" in deltas:
                            deltas["agreement_sum"] = rng.random()
                        async with db.write() as conn:
                            await store.add_worker_days(
                                conn, {(project, worker, day.isoformat(), step): deltas}
                            )
                for batch in batches:
                    if rng.random() < 0.3:
                        continue
                    counts = {name: rng.randint(1, 20) for name in figures.BATCH_COUNTS}
                    async with db.write() as conn:
                        await store.add_batch_days(
                            conn, {(project, batch, day.isoformat()): counts}
                        )
                day += timedelta(days=1)
            worker_sums = figures.WORKER_ROW[2:]
            batch_sums = figures.BATCH_DAY_ROW[2:]
            subtracted = 0
            for since, until, today in _ranges(rng):
                cut = figures.cut_range(since, until, today=today)
                subtracted += bool(cut.minus)
                span = (since.isoformat(), until.isoformat())
                async with db.read() as conn:
                    got_workers = await store.worker_totals(conn, project_id=project, cut=cut)
                    got_batches = await store.batch_totals(conn, project_id=project, cut=cut)
                    plain_workers = (
                        await conn.execute(
                            select(
                                worker_day.c.worker_id,
                                worker_day.c.step,
                                *(func.sum(worker_day.c[n]) for n in worker_sums),
                            )
                            .where(
                                worker_day.c.project_id == project,
                                worker_day.c.day.between(*span),
                            )
                            .group_by(worker_day.c.worker_id, worker_day.c.step)
                        )
                    ).all()
                    plain_batches = (
                        await conn.execute(
                            select(
                                batch_day.c.batch_id,
                                *(func.sum(batch_day.c[n]) for n in batch_sums),
                            )
                            .where(
                                batch_day.c.project_id == project, batch_day.c.day.between(*span)
                            )
                            .group_by(batch_day.c.batch_id)
                        )
                    ).all()
                where = (since, until, today, cut)
                _check(_plain(got_workers, 2), _plain(plain_workers, 2), worker_sums, where)
                _check(_plain(got_batches, 1), _plain(plain_batches, 1), batch_sums, where)
                # The figures built from them are the same too.
                assert [w.to_json() for w in figures.workers_from_tuples(got_workers)] == [
                    w.to_json() for w in figures.workers_from_tuples(plain_workers)
                ], where
            assert subtracted >= 10  # the subtraction was exercised, not only day reads
        finally:
            await db.dispose()

    asyncio.run(run())
