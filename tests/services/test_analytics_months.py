"""Analytics over ranges that span month edges: the report (whole months from the month
rollups, edge days from the day rollups) equals a plain recomputation from the job history
and the heartbeats sent, on SQLite and PostgreSQL.

The work is driven through the state machine's one writer (``services.lifecycle.apply_all``)
and ``services.analytics.activity`` with chosen times, so it can fall on January 31st, March
1st and so on; the report is read over HTTP from the running server."""

from __future__ import annotations

import asyncio
import itertools
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from labelyard.blobs.local import LocalBlobStore
from labelyard.core import agreement, lifecycle
from labelyard.core.agreement import GoldScore
from labelyard.core.analytics import IDLE_SECONDS
from labelyard.core.model import Base, as_utc
from labelyard.services import analytics
from labelyard.services.lifecycle import apply_all, state_of
from labelyard.store import work as work_store
from labelyard.store.engine import Database
from labelyard.store.tables import job, job_transition
from tests.conftest import ProjectHandle, Server, WorkerHandle

NewWorker = Callable[..., WorkerHandle]
EMPTY: dict[str, Any] = {
    "rectangles": [],
    "polygons": [],
    "lines": [],
    "landmarks": [],
    "cuboids": [],
}
ACTIVE = ("claim", "submit", "accept", "reject", "skip")
COUNTED = {"claim": "claims", "submit": "submits", "accept": "accepts", "reject": "rejects"}


def _box(x: float) -> dict[str, Any]:
    corners = [(x, 0.1), (x + 0.3, 0.1), (x + 0.3, 0.4), (x, 0.4)]
    return {
        "rectangles": [
            {
                "_id": f"r{x}",
                "label": "car",
                "attributes": {},
                "coordinates": [{"x": a, "y": b} for a, b in corners],
            }
        ],
        "polygons": [],
        "lines": [],
        "landmarks": [],
        "cuboids": [],
    }


class Script:
    """Work done at chosen times; heartbeats remembered for the recomputation."""

    def __init__(self, db: Database, pid: str, blobs: LocalBlobStore) -> None:
        self.db, self.pid, self.blobs = db, pid, blobs
        self.beats: list[tuple[str, datetime]] = []

    async def change(
        self, job_id: str, now: datetime, make: Callable[[lifecycle.JobState], lifecycle.Change]
    ) -> None:
        async with self.db.write() as conn:
            row = await work_store.lock_job(conn, project_id=self.pid, job_id=job_id)
            assert row is not None
            await apply_all(conn, self.pid, [(row, make(state_of(row)))], now=now, blobs=self.blobs)

    async def claim(self, job_id: str, worker: str, now: datetime) -> None:
        until = now + timedelta(hours=2)
        await self.change(
            job_id, now, lambda s: lifecycle.claim(s, worker_id=worker, until=until, draft=None)
        )

    async def beat(self, job_id: str, worker: str, now: datetime) -> None:
        async with self.db.write() as conn:
            row = await work_store.lock_job(conn, project_id=self.pid, job_id=job_id)
            assert row is not None
            step = state_of(row).step_name
            await analytics.activity(conn, self.pid, worker_id=worker, step=step, now=now)
        self.beats.append((worker, now))

    async def submit(self, job_id: str, worker: str, now: datetime) -> None:
        await self.change(
            job_id,
            now,
            lambda s: lifecycle.submit(
                s, base=Base.IMAGE, data={}, annotations=EMPTY, worker_id=worker, now=now
            ),
        )

    async def review(self, job_id: str, worker: str, now: datetime, *, accept: bool) -> None:
        def make(s: lifecycle.JobState) -> lifecycle.Change:
            if accept:
                return lifecycle.accept(
                    s,
                    base=Base.IMAGE,
                    data={},
                    annotations=EMPTY,
                    worker_id=worker,
                    comment=None,
                    now=now,
                )
            return lifecycle.reject(s, step=None, worker_id=worker, comment="redo")

        await self.change(job_id, now, make)


async def _run(script: Script, jobs: list[str], a: str, b: str, r: str) -> None:
    """Turns of work around month edges (Jan 31 / Feb 1, Feb 28 / Mar 1, Mar 31 / Apr 1)."""
    starts = [
        datetime(2026, 1, 30, 23, 50, tzinfo=UTC),
        datetime(2026, 1, 31, 23, 55, tzinfo=UTC),
        datetime(2026, 2, 14, 12, 0, tzinfo=UTC),
        datetime(2026, 2, 28, 23, 50, tzinfo=UTC),
        datetime(2026, 3, 31, 23, 58, tzinfo=UTC),
    ]
    for index, start in enumerate(starts[:4]):
        await _turn(script, jobs[index], index, start, a, r)
    await _gold_and_consensus(script, jobs, a, b)
    await _turn(script, jobs[4], 4, starts[4], a, r)


def _at(start: datetime, minutes: float) -> datetime:
    return start + timedelta(minutes=minutes)


async def _turn(script: Script, job_id: str, index: int, start: datetime, a: str, r: str) -> None:
    """An annotate turn with heartbeats (one after an idle while) and its review."""
    await script.claim(job_id, a, _at(start, 0))
    await script.beat(job_id, a, _at(start, 2))
    await script.beat(job_id, a, _at(start, 4.5))
    await script.beat(job_id, a, _at(start, 30))  # idle for a while: capped
    await script.submit(job_id, a, _at(start, 31))
    await script.claim(job_id, r, _at(start, 32))
    await script.beat(job_id, r, _at(start, 33))
    await script.review(job_id, r, _at(start, 35), accept=index % 2 == 0)


async def _gold_and_consensus(script: Script, jobs: list[str], a: str, b: str) -> None:
    # Gold scores (a submission scored in place) on the first job of the second batch.
    gold_job = jobs[5]
    for minutes, value in ((0, 0.6), (20, 0.9)):
        now = datetime(2026, 2, 28, 23, 40, tzinfo=UTC) + timedelta(minutes=minutes)
        await script.claim(gold_job, b, now)
        score = GoldScore(value, 1.0, 1.0, value, 1.0, 1, 1, 1)
        later = now + timedelta(minutes=3)
        await script.change(
            gold_job, later, lambda s, sc=score: lifecycle.submit_gold(s, worker_id=b, score=sc)
        )
    # A consensus round of two versions that disagree in part, closed on March 1st.
    both = jobs[6]
    first, second = _box(0.1), {**_box(0.1), "polygons": []}
    second["rectangles"] = [*second["rectangles"], *_box(0.6)["rectangles"]]
    t0 = datetime(2026, 3, 1, 12, 5, tzinfo=UTC)
    await script.claim(both, a, t0)
    await script.change(
        both,
        t0 + timedelta(minutes=1),
        lambda s: lifecycle.submit_version(
            s,
            base=Base.IMAGE,
            data={},
            annotations=first,
            worker_id=a,
            now=t0,
            earlier=[],
            overlap=2,
            threshold=2.0,
            merge=None,
        ),
    )
    await script.claim(both, b, t0 + timedelta(minutes=2))
    await script.change(
        both,
        t0 + timedelta(minutes=4),
        lambda s: lifecycle.submit_version(
            s,
            base=Base.IMAGE,
            data={},
            annotations=second,
            worker_id=b,
            now=t0,
            earlier=[first],
            earlier_workers=[a],
            overlap=2,
            threshold=2.0,
            merge=agreement.consensus([first, second]),
        ),
    )


def _recompute(rows: list[Any], beats: list[tuple[str, datetime]], since: str, until: str) -> Any:
    """Per worker and per batch, the figures of days ``since``..``until`` from the history."""
    workers: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    batches: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    inside = lambda when: since <= as_utc(when).date().isoformat() <= until  # noqa: E731
    events: dict[str, list[datetime]] = defaultdict(list)
    for row in rows:
        if row.action in ACTIVE and row.worker_id:
            events[row.worker_id].append(as_utc(row.created_at))
    for worker, when in beats:
        events[worker].append(when)
    for worker, times in events.items():
        times.sort()
        for before, after in itertools.pairwise(times):
            if inside(after):
                gap = min(max(0.0, (after - before).total_seconds()), IDLE_SECONDS)
                workers[worker]["active_seconds"] += int(gap)
    for index, row in enumerate(rows):
        if not inside(row.created_at):
            continue
        batch = batches[row.batch_id]
        if row.to_status == "completed" and row.from_status != "completed":
            batch["completed"] += 1
        detail = row.detail or {}
        if "gold_score" in detail:
            workers[row.worker_id]["gold_jobs"] += 1
            workers[row.worker_id]["gold_score_sum"] += detail["gold_score"]
        for entry in detail.get("agreements") or []:
            workers[entry["worker_id"]]["agreement_jobs"] += 1
            workers[entry["worker_id"]]["agreement_sum"] += entry["agreement"]
        if row.action not in COUNTED or row.worker_id is None:
            continue
        mine = workers[row.worker_id]
        mine[COUNTED[row.action]] += 1
        if row.action != "claim":
            batch[COUNTED[row.action]] += 1
            mine["finished"] += 1
            batch["finished"] += 1
            earlier = [r for r in rows[:index] if r.job_id == row.job_id]
            claims = [r for r in earlier if r.action == "claim" and r.worker_id == row.worker_id]
            seconds = int((as_utc(row.created_at) - as_utc(claims[-1].created_at)).total_seconds())
            mine["work_seconds"] += seconds
            batch["work_seconds"] += seconds
            if row.action in ("accept", "reject"):
                handed = [r for r in earlier if r.action == "submit"][-1]
                verdict = "accepted_work" if row.action == "accept" else "rejected_work"
                workers[handed.worker_id][verdict] += 1
    return workers, batches


RANGES = [
    ("2026-01-25", "2026-03-03"),  # February whole, edges of January and March
    ("2026-02-01", "2026-02-28"),  # one whole month only
    ("2026-01-31", "2026-04-01"),  # Feb and Mar whole, one edge day each side
    ("2026-02-15", "2026-03-15"),  # across an edge, no whole month
    ("2026-01-01", "2026-12-31"),  # the whole year
    ("2026-03-01", "2026-03-01"),  # one day
    # Edge months read as the month less the days outside the range (see cut_range):
    ("2026-01-02", "2026-01-30"),  # January less its 1st and 31st (the reviewer's day)
    ("2026-02-02", "2026-03-30"),  # February less the 1st, March less the 31st
    ("2026-02-14", "2026-03-01"),  # February less the 1st to the 13th, March's first day
    ("2025-12-05", "2026-01-30"),  # across the year's end: December less 4 days, Jan less 1
]


def test_reports_over_month_edges_equal_the_history(
    server: Server,
    project: ProjectHandle,
    new_worker: NewWorker,
    tmp_path: Path,
) -> None:
    pid = project.project_id
    other = project.api.post(f"/v1/projects/{pid}/batch", json={"name": "second"}).json()["data"]
    jobs = []
    for i in range(7):
        extra = {"batch_id": other["batch_id"]} if i >= 5 else {}
        created = project.api.post(f"/v1/projects/{pid}/jobs", json=project.job(f"m{i}", **extra))
        jobs.append(created.json()["data"]["job_id"])
    a, b, r = (new_worker(project.account_id).worker_id for _ in range(3))

    async def drive() -> list[Any]:
        db = Database(server.settings.resolved_database_url(), pool_size=1)
        try:
            script = Script(db, pid, LocalBlobStore(tmp_path))
            await _run(script, jobs, a, b, r)
            async with db.read() as conn:
                query = (
                    select(job_transition, job.c.batch_id)
                    .join(
                        job,
                        (job.c.project_id == job_transition.c.project_id)
                        & (job.c.id == job_transition.c.job_id),
                    )
                    .where(job_transition.c.project_id == pid)
                    .order_by(job_transition.c.created_at)
                )
                rows = list((await conn.execute(query)).all())
            drive.beats = script.beats  # type: ignore[attr-defined]
            return rows
        finally:
            await db.dispose()

    rows = asyncio.run(drive())
    beats = drive.beats  # type: ignore[attr-defined]
    checked = 0
    for since, until in RANGES:
        answer = project.api.get(
            f"/v1/projects/{pid}/analytics", params={"since": since, "until": until}
        )
        assert answer.status_code == 200, answer.text
        report = answer.json()["data"]
        workers, batches = _recompute(rows, beats, since, until)
        got = {w["worker_id"]: w for w in report["workers"]}
        assert set(got) == {w for w, f in workers.items() if any(f.values())}, (since, until)
        for worker, expected in workers.items():
            figures = got[worker]
            for name in (
                "claims",
                "submits",
                "accepts",
                "rejects",
                "finished",
                "work_seconds",
                "active_seconds",
                "accepted_work",
                "rejected_work",
                "gold_jobs",
                "agreement_jobs",
            ):
                assert figures[name] == expected.get(name, 0), (since, until, worker, name)
            gold = expected.get("gold_jobs", 0)
            assert figures["gold_score"] == (
                round(expected["gold_score_sum"] / gold, 4) if gold else None
            )
            agreed = expected.get("agreement_jobs", 0)
            assert figures["agreement"] == (
                round(expected["agreement_sum"] / agreed, 4) if agreed else None
            )
            assert figures["active_hours"] == round(expected.get("active_seconds", 0) / 3600, 4)
            checked += 1
        got_batches = {x["batch_id"]: x for x in report["batches"]}
        for batch_id, expected in batches.items():
            if not any(expected.values()):
                continue
            for name in ("submits", "accepts", "rejects", "completed", "finished", "work_seconds"):
                assert got_batches[batch_id][name] == expected.get(name, 0), (since, until, name)
        assert sum(d["submits"] for d in report["days"]) == sum(
            w.get("submits", 0) for w in workers.values()
        )
    assert checked >= 10
    year = project.api.get(
        f"/v1/projects/{pid}/analytics", params={"since": "2026-01-01", "until": "2026-12-31"}
    ).json()["data"]
    figures = {w["worker_id"]: w for w in year["workers"]}
    # The figures are there to compare: gold scores, agreement, capped active time.
    assert figures[b]["gold_score"] == pytest.approx(0.75)
    assert figures[a]["agreement"] == figures[b]["agreement"] == pytest.approx(2 / 3, abs=1e-4)
    assert 0 < figures[a]["active_seconds"] < figures[a]["work_seconds"] + 5 * IDLE_SECONDS
