"""The analytics page over a big project: ``--jobs`` jobs (default 1,000,000) in 100 batches
and ``--workers`` workers (default 1,000), seeded straight into the database with ``--days``
days of rollups (default 400: one row per worker, day and step; per batch and day) and the
month rollups they add up to, then the median time of the owner's analytics page and of the
API's figures over 30 and 365 days (whole months from month rows, edges from day rows), next
to the 200 ms target.

Run: ``.venv/bin/python bench/analytics.py [--jobs N] [--days D] [--backends sqlite,postgresql]``.
The rollups are seeded as the work would have left them; the job history is not (the page
never reads it). After seeding, ``VACUUM ANALYZE`` (PostgreSQL) or ``ANALYZE`` (SQLite)
stands for what autovacuum or routine maintenance does. Each backend runs a real
``labelyard serve`` on a fresh database, one process (the requests come one at a time; on a
loaded machine a second process's start-up can miss its health check).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import random
import re
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).parent))

from harness import database, postgres_reachable, serve

from labelyard.core.ids import new_id
from labelyard.core.model import Base, Project
from labelyard.services import analytics
from labelyard.store.engine import Database
from labelyard.store.tables import (
    batch,
    batch_day,
    batch_month,
    job,
    worker,
    worker_day,
    worker_month,
)

BATCHES = 100
DAYS = 400
TARGET_MS = 200.0
CHUNK = 20_000
REPEATS = 20
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


def _database_url(env: dict[str, str]) -> str:
    if "LABELYARD_DATABASE_URL" in env:
        return "postgresql+asyncpg://" + env["LABELYARD_DATABASE_URL"].split("://", 1)[1]
    return f"sqlite+aiosqlite:///{env['LABELYARD_DATA_DIR']}/labelyard.db"


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
    db = Database(url, pool_size=2)
    try:
        batch_ids = [new_id() for _ in range(BATCHES)]
        worker_ids = [new_id() for _ in range(workers)]
        async with db.write() as conn:
            await conn.execute(
                batch.insert(),
                [
                    {
                        "project_id": project_id,
                        "id": b,
                        "name": f"batch {i}",
                        "description": "",
                        "label": "",
                        "is_default": False,
                        "created_at": now,
                        "last_seq": jobs // BATCHES,
                        "total_jobs": jobs // BATCHES,
                        "completed_jobs": 0,
                        "aborted_jobs": 0,
                        "total_frames": jobs // BATCHES,
                        "completed_frames": 0,
                        "annotations": 0,
                    }
                    for i, b in enumerate(batch_ids)
                ],
            )
            await conn.execute(
                worker.insert(),
                [
                    {
                        "id": w,
                        "account_id": account_id,
                        "name": f"worker {i}",
                        "role": "both",
                        "token_hash": hashlib.sha256(w.encode()).hexdigest(),
                        "created_at": now,
                    }
                    for i, w in enumerate(worker_ids)
                ],
            )
        per_batch = jobs // BATCHES
        rows: list[dict[str, Any]] = []
        for index in range(jobs):
            b = index % BATCHES
            rows.append(
                {
                    "project_id": project_id,
                    "id": new_id(),
                    "batch_id": batch_ids[b],
                    "seq": index // BATCHES + 1,
                    "reference_id": f"j{index}",
                    "payload_hash": "0" * 64,
                    "workflow_id": workflow_id,
                    "tag": "default",
                    "type": "NON_TEST",
                    "priority_weight": 5,
                    "status": "completed",
                    "frames": 1,
                    "annotations": 0,
                    "data": {"image_url": f"https://img.example/{index}.jpg"},
                    "step_index": 1,
                    "created_at": now,
                    "updated_at": now,
                    "completed_at": now,
                }
            )
            if len(rows) == CHUNK:
                async with db.write() as conn:
                    await conn.execute(job.insert(), rows)
                rows = []
        if rows:
            async with db.write() as conn:
                await conn.execute(job.insert(), rows)
        per_day = max(1, jobs // (workers * days_kept))
        days = [(today - timedelta(days=d)).isoformat() for d in range(days_kept)]
        months: dict[tuple[str, str, str], dict[str, Any]] = {}
        for w in worker_ids:
            rollups: list[dict[str, Any]] = []
            for day in days:
                done = rng.randint(per_day // 2, per_day * 3 // 2 + 1)
                rejected = rng.randint(0, max(1, done // 5))
                rollups.append(
                    {
                        "project_id": project_id,
                        "worker_id": w,
                        "day": day,
                        "step": "annotate",
                        "claims": done + 1,
                        "submits": done,
                        "accepts": 0,
                        "rejects": 0,
                        "skips": 1,
                        "accepted_work": done - rejected,
                        "rejected_work": rejected,
                        "finished": done,
                        "work_seconds": done * rng.randint(30, 120),
                        "active_seconds": done * rng.randint(25, 100),
                        "gold_jobs": 1,
                        "gold_score_sum": rng.random(),
                        "agreement_jobs": 1,
                        "agreement_sum": rng.random(),
                    }
                )
                rollups.append(
                    {
                        "project_id": project_id,
                        "worker_id": w,
                        "day": day,
                        "step": "review",
                        "claims": done,
                        "submits": 0,
                        "accepts": done - rejected,
                        "rejects": rejected,
                        "skips": 0,
                        "accepted_work": 0,
                        "rejected_work": 0,
                        "finished": done,
                        "work_seconds": done * rng.randint(10, 40),
                        "active_seconds": done * rng.randint(8, 35),
                        "gold_jobs": 0,
                        "gold_score_sum": 0.0,
                        "agreement_jobs": 0,
                        "agreement_sum": 0.0,
                    }
                )
            for row in rollups:
                key = (w, row["day"][:7], row["step"])
                month = months.setdefault(
                    key,
                    {
                        "project_id": project_id,
                        "worker_id": w,
                        "month": key[1],
                        "step": key[2],
                        **dict.fromkeys(WORKER_SUMMED, 0),
                    },
                )
                for name in WORKER_SUMMED:
                    month[name] += row[name]
            async with db.write() as conn:
                await conn.execute(worker_day.insert(), rollups)
        month_rows = list(months.values())
        for start in range(0, len(month_rows), CHUNK):
            async with db.write() as conn:
                await conn.execute(worker_month.insert(), month_rows[start : start + CHUNK])
        batch_rows: list[dict[str, Any]] = [
            {
                "project_id": project_id,
                "batch_id": b,
                "day": day,
                "submits": per_batch // days_kept,
                "accepts": per_batch // days_kept,
                "rejects": 1,
                "skips": 0,
                "completed": per_batch // days_kept,
                "aborted": 0,
                "reopened": 0,
                "finished": 2 * (per_batch // days_kept),
                "work_seconds": 60 * per_batch // days_kept,
            }
            for b in batch_ids
            for day in days
        ]
        batch_months: dict[tuple[str, str], dict[str, Any]] = {}
        for row in batch_rows:
            at = (row["batch_id"], row["day"][:7])
            month = batch_months.setdefault(
                at, {"project_id": project_id, "batch_id": at[0], "month": at[1]}
            )
            for name, value in row.items():
                if name not in ("project_id", "batch_id", "day"):
                    month[name] = month.get(name, 0) + value
        async with db.write() as conn:
            for start in range(0, len(batch_rows), CHUNK):
                await conn.execute(batch_day.insert(), batch_rows[start : start + CHUNK])
            await conn.execute(batch_month.insert(), list(batch_months.values()))
        # What autovacuum (PostgreSQL) or a routine ANALYZE would have done by now: statistics,
        # and on PostgreSQL the visibility map that lets the covering index answer alone.
        async with db.engine.connect() as conn:
            autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
            vacuum = "VACUUM ANALYZE" if db.engine.dialect.name == "postgresql" else "ANALYZE"
            await autocommit.exec_driver_sql(vacuum)
    finally:
        await db.dispose()
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
