"""The analytics page over a big project: ``--jobs`` jobs (default 1,000,000) in 100 batches
and ``--workers`` workers (default 1,000), seeded straight into the database with ``--days``
days of rollups (default 400: one row per worker, day and step; per batch and day) and the
month rollups they add up to, then the median time of the owner's analytics page and of the
API's figures over 30 and 365 days (month rows, and day rows at the edges: see
``core.analytics.cut_range``), next to the 200 ms target.

Run: ``.venv/bin/python bench/analytics.py [--jobs N] [--workers W] [--days D]
[--backends sqlite,postgresql]``. The rollups are seeded as the work would have left them; the
job history is not (the page never reads it). Rows go in by bulk loads (``executemany`` of
plain tuples in one transaction with the raw ``sqlite3`` driver; ``COPY`` through asyncpg),
the month rows as one ``INSERT ... SELECT ... GROUP BY`` over the day rows; each phase's
seconds are printed on stderr. After seeding, ``VACUUM ANALYZE`` (PostgreSQL) or ``ANALYZE``
(SQLite) stands for what autovacuum or routine maintenance does. Each backend runs a real
``labelyard serve`` on a fresh database, one process (the requests come one at a time; on a
loaded machine a second process's start-up can miss its health check).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import random
import re
import sqlite3
import statistics
import sys
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson

sys.path.insert(0, str(Path(__file__).parent))

from harness import database, postgres_reachable, serve

from labelyard.core.ids import new_id, new_ids
from labelyard.core.model import Base, Project
from labelyard.services import analytics
from labelyard.store.engine import Database

BATCHES = 100
DAYS = 400
TARGET_MS = 200.0
CHUNK = 50_000
REPEATS = 20
BATCH_COLUMNS = (
    "project_id",
    "id",
    "name",
    "description",
    "label",
    "is_default",
    "created_at",
    "last_seq",
    "total_jobs",
    "completed_jobs",
    "aborted_jobs",
    "in_progress_jobs",
    "total_frames",
    "completed_frames",
    "annotations",
)
WORKER_SUMMED = (
    "claims",
    "submits",
    "accepts",
    "rejects",
    "skips",
    "accepted_work",
    "rejected_work",
    "finished",
    "work_seconds",
    "active_seconds",
    "gold_jobs",
    "gold_score_sum",
    "agreement_jobs",
    "agreement_sum",
)
BATCH_SUMMED = (
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


JOB_COLUMNS = (
    "project_id",
    "id",
    "batch_id",
    "seq",
    "reference_id",
    "payload_hash",
    "workflow_id",
    "tag",
    "type",
    "priority_weight",
    "status",
    "frames",
    "annotations",
    "data",
    "step_index",
    "gold",
    "assigned_only",
    "created_at",
    "updated_at",
    "completed_at",
)
WORKER_DAY_COLUMNS = ("project_id", "worker_id", "day", "step", *WORKER_SUMMED)
BATCH_DAY_COLUMNS = ("project_id", "batch_id", "day", *BATCH_SUMMED)


def _database_url(env: dict[str, str]) -> str:
    if "LABELYARD_DATABASE_URL" in env:
        return "postgresql+asyncpg://" + env["LABELYARD_DATABASE_URL"].split("://", 1)[1]
    return f"sqlite+aiosqlite:///{env['LABELYARD_DATA_DIR']}/labelyard.db"


class _Loader:
    """Bulk loads of plain tuples: ``executemany`` in one transaction on SQLite (the raw
    driver), ``COPY`` on PostgreSQL (asyncpg); then the month rows, summed in SQL."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.sqlite: sqlite3.Connection | None = None
        self.pg: asyncpg.Connection | None = None

    async def __aenter__(self) -> _Loader:
        if self.url.startswith("sqlite"):
            self.sqlite = sqlite3.connect(self.url.split(":///", 1)[1], isolation_level=None)
            self.sqlite.execute("PRAGMA busy_timeout = 30000")
            self.sqlite.execute("PRAGMA synchronous = OFF")
            self.sqlite.execute("PRAGMA cache_size = -262144")  # 256 MiB: the job indexes
        else:
            self.pg = await asyncpg.connect("postgresql://" + self.url.split("://", 1)[1])
        return self

    async def __aexit__(self, *_: object) -> None:
        if self.sqlite is not None:
            self.sqlite.close()
        if self.pg is not None:
            await self.pg.close()

    def value(self, value: Any) -> Any:
        """A value as the raw driver stores it (what SQLAlchemy's types would have written)."""
        if isinstance(value, dict):
            return orjson.dumps(value).decode()
        if self.sqlite is None:
            return value
        if isinstance(value, datetime):
            return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        return value

    async def load(self, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        if self.sqlite is not None:
            marks = ", ".join("?" * len(columns))
            self.sqlite.execute("BEGIN IMMEDIATE")
            self.sqlite.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows
            )
            self.sqlite.execute("COMMIT")
        else:
            assert self.pg is not None
            await self.pg.copy_records_to_table(table, records=rows, columns=list(columns))

    async def execute(self, sql: str, *args: Any) -> None:
        if self.sqlite is not None:
            self.sqlite.execute("BEGIN IMMEDIATE")
            self.sqlite.execute(sql.replace("$1", "?"), args)
            self.sqlite.execute("COMMIT")
        else:
            assert self.pg is not None
            await self.pg.execute(sql, *args)

    async def sum_months(self, project_id: str) -> None:
        """``worker_month`` and ``batch_month`` as the sums of the day rows (what the
        per-change upserts would have left)."""
        for day_table, month_table, keys, summed in (
            ("worker_day", "worker_month", ("worker_id", "step"), WORKER_SUMMED),
            ("batch_day", "batch_month", ("batch_id",), BATCH_SUMMED),
        ):
            await self.execute(
                f"INSERT INTO {month_table} (project_id, month, {', '.join(keys)}, "
                f"{', '.join(summed)}) SELECT project_id, substr(day, 1, 7), {', '.join(keys)}, "
                f"{', '.join(f'sum({name})' for name in summed)} FROM {day_table} "
                f"WHERE project_id = $1 GROUP BY project_id, substr(day, 1, 7), {', '.join(keys)}",
                project_id,
            )

    async def maintain(self) -> None:
        """What autovacuum (PostgreSQL) or a routine ANALYZE would have done by now:
        statistics, and on PostgreSQL the visibility map that lets covering indexes answer
        alone."""
        if self.sqlite is not None:
            self.sqlite.execute("ANALYZE")
        else:
            assert self.pg is not None
            await self.pg.execute("VACUUM ANALYZE")


async def _seed(
    url: str,
    project_id: str,
    account_id: str,
    workflow_id: str,
    *,
    jobs: int,
    workers: int,
    days_kept: int,
) -> float:
    """Batches, workers, jobs and rollups straight into the database; seconds taken."""
    started = time.perf_counter()
    rng = random.Random(7)
    now = datetime.now(UTC)
    today = now.date()
    batch_ids = sorted(new_id() for _ in range(BATCHES))
    worker_ids = [new_id() for _ in range(workers)]
    per_batch = jobs // BATCHES
    step = time.perf_counter()

    def lap(what: str) -> None:
        nonlocal step
        print(f"  {what}: {time.perf_counter() - step:.1f} s", file=sys.stderr, flush=True)
        step = time.perf_counter()

    async with _Loader(url) as loader:
        v = loader.value
        stamp, false = v(now), v(False)
        # last_seq total completed aborted in_progress total_frames completed_frames annotations
        counts = (per_batch, per_batch, per_batch, 0, 0, per_batch, per_batch, 0)
        await loader.load(
            "batch",
            BATCH_COLUMNS,
            [
                (project_id, b, f"batch {i}", "", "", v(False), v(now), *counts)
                for i, b in enumerate(batch_ids)
            ],
        )
        await loader.load(
            "worker",
            ("id", "account_id", "name", "role", "token_hash", "created_at"),
            [
                (
                    w,
                    account_id,
                    f"worker {i}",
                    "both",
                    hashlib.sha256(w.encode()).hexdigest(),
                    stamp,
                )
                for i, w in enumerate(worker_ids)
            ],
        )
        # Job ``index`` is in batch ``index % BATCHES`` at ``index // BATCHES + 1``. They go in
        # by batch, then position, with ids and references ascending, so every unique index
        # of the job table is appended to rather than written all over.
        order = [i for b in range(BATCHES) for i in range(b, jobs, BATCHES)]
        ids = sorted(new_ids(jobs))
        for start in range(0, jobs, CHUNK):
            await loader.load(
                "job",
                JOB_COLUMNS,
                [
                    (
                        project_id,
                        ids[place],
                        batch_ids[index % BATCHES],
                        index // BATCHES + 1,
                        f"j{index % BATCHES:03d}-{index // BATCHES:07d}",
                        "0" * 64,
                        workflow_id,
                        "default",
                        "NON_TEST",
                        5,
                        "completed",
                        1,
                        0,
                        v({"image_url": f"https://img.example/{index}.jpg"}),
                        1,
                        false,
                        false,
                        stamp,
                        stamp,
                        stamp,
                    )
                    for place, index in enumerate(order[start : start + CHUNK], start)
                ],
            )
        lap(f"{jobs:,} jobs")
        per_day = max(1, jobs // (workers * days_kept))
        days = [(today - timedelta(days=d)).isoformat() for d in range(days_kept)]
        rollups: list[tuple[Any, ...]] = []
        for w in worker_ids:
            for day in days:
                done = rng.randint(per_day // 2, per_day * 3 // 2 + 1)
                rejected = rng.randint(0, max(1, done // 5))
                # claims submits accepts rejects skips accepted_work rejected_work finished
                # work_seconds active_seconds gold_jobs gold_score_sum agreement_jobs agreement_sum
                annotate = (done + 1, done, 0, 0, 1, done - rejected, rejected, done)
                review = (done, 0, done - rejected, rejected, 0, 0, 0, done)
                seconds = (done * rng.randint(30, 120), done * rng.randint(25, 100))
                scores = (1, rng.random(), 1, rng.random())  # gold jobs and score, agreement
                rollups.append((project_id, w, day, "annotate", *annotate, *seconds, *scores))
                seconds = (done * rng.randint(10, 40), done * rng.randint(8, 35))
                rollups.append((project_id, w, day, "review", *review, *seconds, 0, 0.0, 0, 0.0))
            if len(rollups) >= CHUNK:
                await loader.load("worker_day", WORKER_DAY_COLUMNS, rollups)
                rollups = []
        if rollups:
            await loader.load("worker_day", WORKER_DAY_COLUMNS, rollups)
        lap(f"{len(worker_ids) * len(days) * 2:,} worker_day rows")
        daily = per_batch // days_kept
        await loader.load(
            "batch_day",
            BATCH_DAY_COLUMNS,
            [
                # submits accepts rejects skips completed aborted reopened finished work_seconds
                (project_id, b, day, daily, daily, 1, 0, daily, 0, 0, 2 * daily, 60 * daily)
                for b in batch_ids
                for day in days
            ],
        )
        lap("batch_day rows")
        await loader.sum_months(project_id)
        lap("month rows")
        await loader.maintain()
        lap("ANALYZE")
    return time.perf_counter() - started


async def _in_process_ms(url: str, project_id: str, account_id: str, days: int) -> float:
    """The report over the last ``days`` days built in this process (no HTTP, no page): the
    floor the page's time is compared with."""
    db = Database(url, pool_size=2)
    project = Project(id=project_id, account_id=account_id, name="big", base=Base.IMAGE)
    until = datetime.now(UTC).date()
    since = until - timedelta(days=days - 1)
    try:
        await analytics.report(db, project, since=since, until=until)  # warm
        times = []
        for _ in range(REPEATS // 2):
            started = time.perf_counter()
            await analytics.report(db, project, since=since, until=until)
            times.append(time.perf_counter() - started)
    finally:
        await db.dispose()
    return statistics.median(times) * 1000


def _median_ms(client: httpx.Client, path: str, **params: str) -> float:
    assert client.get(path, params=params).status_code == 200  # warm
    times = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        answer = client.get(path, params=params)
        times.append(time.perf_counter() - started)
        assert answer.status_code == 200, answer.text[:300]
    return statistics.median(times) * 1000


def bench(backend: str, jobs: int, workers: int, days: int) -> dict[str, float]:
    with database(backend) as env, serve({**env, "LABELYARD_WORKERS": "1"}) as served:
        admin = httpx.Client(
            base_url=served.base_url,
            headers={"authorization": f"Bearer {served.admin_token}"},
            timeout=120,
        )
        account = admin.post("/admin/v1/accounts", json={"name": "big"}).json()["data"]
        created = admin.post(
            "/admin/v1/projects",
            json={"name": "big", "base": "IMAGE", "account_id": account["account_id"]},
        ).json()["data"]
        pid = created["project_id"]
        seeded = asyncio.run(
            _seed(
                _database_url(served.env),
                pid,
                account["account_id"],
                created["work_flow_id"],
                jobs=jobs,
                workers=workers,
                days_kept=days,
            )
        )
        api = httpx.Client(
            base_url=served.base_url, headers={"x-api-key": created["api_key"]}, timeout=120
        )
        browser = httpx.Client(base_url=served.base_url, timeout=120)
        csrf = re.search(r'name="csrf" value="([^"]+)"', browser.get("/ui/login").text)
        assert csrf
        browser.post(
            "/ui/login", data={"csrf": csrf[1], "method": "key", "secret": created["api_key"]}
        )
        year = {"since": (date.today() - timedelta(days=364)).isoformat()}
        url = _database_url(served.env)
        return {
            "seed_s": seeded,
            "inproc_365d_ms": asyncio.run(_in_process_ms(url, pid, account["account_id"], 365)),
            "page_30d_ms": _median_ms(browser, f"/ui/projects/{pid}/analytics"),
            "page_365d_ms": _median_ms(browser, f"/ui/projects/{pid}/analytics", **year),
            "api_30d_ms": _median_ms(api, f"/v1/projects/{pid}/analytics"),
            "api_365d_ms": _median_ms(api, f"/v1/projects/{pid}/analytics", **year),
            "csv_365d_ms": _median_ms(api, f"/v1/projects/{pid}/analytics/workers.csv", **year),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=1_000)
    parser.add_argument("--days", type=int, default=DAYS)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    print(f"analytics over {args.jobs:,} jobs, {args.workers:,} workers, {BATCHES} batches,")
    print(f"{args.days} days of rollups (and their months); medians of 20 requests")
    heads = (
        "seed s",
        "in-proc 365d",
        "page 30d ms",
        "page 365d ms",
        "API 30d ms",
        "API 365d ms",
        "CSV 365d ms",
    )
    print(f"{'backend':<11} " + " ".join(f"{h:>12}" for h in heads) + "  target")
    for backend in args.backends.split(","):
        if backend == "postgresql" and (reason := postgres_reachable()):
            print(f"{backend:<11} skipped: {reason}")
            continue
        f = bench(backend, args.jobs, args.workers, args.days)
        names = (
            "seed_s",
            "inproc_365d_ms",
            "page_30d_ms",
            "page_365d_ms",
            "api_30d_ms",
            "api_365d_ms",
            "csv_365d_ms",
        )
        row = " ".join(f"{f[name]:>12.1f}" for name in names)
        ratio = f["page_365d_ms"] / f["inproc_365d_ms"]
        print(
            f"{backend:<11} {row}  page <= {TARGET_MS:.0f} ms (page 365d / in-process {ratio:.2f})"
        )


if __name__ == "__main__":
    main()
