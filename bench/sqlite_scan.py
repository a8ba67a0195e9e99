"""How long the owner's project page counts block the event loop on SQLite, inline or off it.

    .venv/bin/python bench/sqlite_scan.py [--jobs 36000]

Makes a SQLite database with ``--jobs`` jobs in one project (bulk creates through the service),
then runs the page's one GROUP BY (``owner_views.job_counts``) 20 times through ``db.read()``
(inline on the event loop) and through ``db.scan()`` (aiosqlite's thread), while a ticker task
measures the longest the loop was kept from running it. Prints the median query time and the
median over rounds of the longest stall (the time any other request would have waited).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from contextlib import AbstractAsyncContextManager
from typing import Any

from labelyard.core.model import Project
from labelyard.services import accounts, jobs, projects
from labelyard.store import owner_views
from labelyard.store.engine import Database
from labelyard.store.migrate import migrate

BULK = 10_000


async def _fill(db: Database, count: int) -> str:
    issued = await accounts.create_account(db, name="bench")
    created = await projects.create_project(
        db, name="scan", base="IMAGE", account_id=issued.account_id
    )
    project = await _project(db, created["project_id"])
    for start in range(0, count, BULK):
        body = {
            "jobs": [
                {
                    "reference_id": f"r{i}",
                    "work_flow_id": created["work_flow_id"],
                    "data": {"image_url": f"https://img.example/{i}.jpg"},
                }
                for i in range(start, min(count, start + BULK))
            ]
        }
        await jobs.create_jobs(db, project, body)
    return str(created["project_id"])


async def _project(db: Database, project_id: str) -> Project:
    from labelyard.core.model import Base
    from labelyard.store import projects as project_store

    async with db.read() as conn:
        row = await project_store.get_project(conn, id=project_id)
    assert row is not None
    return Project(id=row.id, account_id=row.account_id, name=row.name, base=Base(row.base))


async def _measure(connect: Any, project_id: str, rounds: int = 20) -> tuple[float, float]:
    """Median query time and median (over rounds) of the longest loop stall in a round, ms."""
    stalls: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0)
            now = time.perf_counter()
            stalls.append(now - last)
            last = now

    times, worst = [], []
    async with connect() as conn:  # the pool's connection made before measuring
        await owner_views.job_counts(conn, project_id=project_id)
    for _ in range(rounds):
        tick = asyncio.create_task(ticker())
        await asyncio.sleep(0)
        stalls.clear()
        started = time.perf_counter()
        context: AbstractAsyncContextManager[Any] = connect()
        async with context as conn:
            await owner_views.job_counts(conn, project_id=project_id)
        times.append(time.perf_counter() - started)
        done.set()
        await tick
        done.clear()
        worst.append(max(stalls, default=0.0))
    return statistics.median(times) * 1000, statistics.median(worst) * 1000


async def main(count: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        db = Database(f"sqlite+aiosqlite:///{folder}/bench.db")
        try:
            await migrate(db)
            started = time.perf_counter()
            project_id = await _fill(db, count)
            print(f"{count:,} jobs created in {time.perf_counter() - started:.1f} s")
            for name, connect in (("read() inline", db.read), ("scan() thread", db.scan)):
                query_ms, stall_ms = await _measure(connect, project_id)
                print(
                    f"{name}: job_counts median {query_ms:.1f} ms, "
                    f"longest event-loop stall {stall_ms:.1f} ms"
                )
        finally:
            await db.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=36_000)
    asyncio.run(main(parser.parse_args().jobs))
