"""The create path in process, for iterating on it: bulk create through ``services.jobs``
(validation, positions, jobs, events, media checks, counters; no HTTP) beside the bare
insert floor (``store.bulk.insert_many`` of the job rows alone), and concurrent single creates
into one batch. Optionally under cProfile.

    .venv/bin/python bench/create_path.py --backend sqlite --jobs 40000 [--profile out.prof]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from harness import postgres_reachable

from labelyard.core.audit import SYSTEM, Actor
from labelyard.core.model import Base, Project
from labelyard.services import accounts, jobs, projects
from labelyard.store.bulk import insert_many
from labelyard.store.engine import Database
from labelyard.store.migrate import migrate
from labelyard.store.tables import job

PG_URL = os.environ.get("LABELYARD_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
CHUNK = 10_000


async def _project(db: Database) -> tuple[Project, str, str]:
    actor = Actor(SYSTEM, "", "")
    issued = await accounts.create_account(db, name="bench", actor=actor)
    made = await projects.create_project(
        db, name="bench", base="IMAGE", account_id=issued.account_id, actor=actor
    )
    project = Project(
        id=made["project_id"], account_id=issued.account_id, name="bench", base=Base.IMAGE
    )
    return project, made["work_flow_id"], made["default_batch_id"]


def _bodies(flow: str, prefix: str, n: int) -> list[Any]:
    return [
        {
            "reference_id": f"{prefix}-{i}",
            "work_flow_id": flow,
            "data": {"image_url": f"https://img.example/{prefix}/{i}.jpg"},
        }
        for i in range(n)
    ]


async def _floor(db: Database, project: Project, flow: str, batch: str, n: int) -> float:
    now = datetime.now(UTC)
    rows = [
        {
            "project_id": project.id,
            "id": str(uuid.uuid4()),
            "batch_id": batch,
            "seq": 10_000_000 + i,
            "reference_id": f"floor-{i}",
            "payload_hash": "0" * 64,
            "workflow_id": flow,
            "tag": "default",
            "type": "IMAGE",
            "priority_weight": 0,
            "status": "created",
            "frames": 1,
            "annotations": 0,
            "data": {"image_url": f"https://img.example/{i}.jpg"},
            "step_index": 0,
            "queue": "annotate",
            "created_at": now,
            "updated_at": now,
        }
        for i in range(n)
    ]
    started = time.perf_counter()
    for start in range(0, n, CHUNK):
        async with db.write() as conn:
            await insert_many(
                conn, job, rows[start : start + CHUNK], unique=("project_id", "reference_id")
            )
    return n / (time.perf_counter() - started)


async def run(url: str, args: argparse.Namespace) -> None:
    db = Database(url)
    try:
        await migrate(db)
        project, flow, batch = await _project(db)
        floor = await _floor(db, project, flow, batch, min(args.jobs, 20_000))
        chunks = [_bodies(flow, f"b{c}", CHUNK) for c in range(args.jobs // CHUNK)]
        profiler = cProfile.Profile() if args.profile else None
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        for chunk in chunks:
            out = await jobs.create_jobs(db, project, chunk)
            assert all(r.get("created") for r in out["results"]), out["results"][:3]
        if profiler:
            profiler.disable()
        bulk = args.jobs / (time.perf_counter() - started)
        print(
            f"bulk {bulk:,.0f} jobs/s; insert floor {floor:,.0f} jobs/s; ratio {bulk / floor:.2f}"
        )
        if args.singles:
            groups = jobs.CreateGroups()
            for name, create in (("alone", jobs.create_job), ("grouped", groups.create_job)):
                bodies = _bodies(flow, f"s-{name}", args.singles)
                sem = asyncio.Semaphore(32)

                async def one(body: Any, create: Any = create, sem: Any = sem) -> None:
                    async with sem:
                        await create(db, project, body)

                started = time.perf_counter()
                await asyncio.gather(*(one(b) for b in bodies))
                rate = args.singles / (time.perf_counter() - started)
                print(f"single creates {name}, 32 at once, one process: {rate:,.0f} jobs/s")
        if profiler:
            profiler.dump_stats(args.profile)
            pstats.Stats(args.profile).sort_stats("cumulative").print_stats(40)
    finally:
        await db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--jobs", type=int, default=40_000)
    parser.add_argument("--singles", type=int, default=0)
    parser.add_argument("--profile", default="")
    args = parser.parse_args()
    if args.backend == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            asyncio.run(run(f"sqlite+aiosqlite:///{tmp}/bench.db", args))
        return
    if reason := postgres_reachable():
        raise SystemExit(f"PostgreSQL unreachable: {reason}")
    import asyncpg

    name = f"labelyard_bench_{uuid.uuid4().hex[:8]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(PG_URL)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        base = PG_URL.rpartition("/")[0].replace("postgresql://", "postgresql+asyncpg://", 1)
        asyncio.run(run(f"{base}/{name}", args))
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
