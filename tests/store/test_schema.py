"""The database itself: migrations match the tables, counters match the rows, keys are hashed."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy import func, select

from labelyard.store.engine import Database
from labelyard.store.migrate import check, migrate
from labelyard.store.tables import api_key, batch, job
from tests.conftest import ProjectHandle, Server

T = TypeVar("T")


def with_db(server: Server, work: Callable[[Database], Awaitable[T]]) -> T:
    async def run() -> T:
        db = Database(server.settings.resolved_database_url(), pool_size=1)
        try:
            return await work(db)
        finally:
            await db.dispose()

    return asyncio.run(run())


def test_migrations_match_the_table_definitions(server: Server) -> None:
    async def work(db: Database) -> None:
        await migrate(db)  # idempotent on an up-to-date database
        await check(db)  # alembic check: raises if the schema drifted from tables.py

    with_db(server, work)


def test_batch_counters_equal_count_of_rows(server: Server, project: ProjectHandle) -> None:
    pid = project.project_id
    other = project.api.post(f"/v1/projects/{pid}/batch", json={"name": "b"}).json()["data"]
    jobs: list[dict[str, Any]] = []
    for i in range(60):
        extra = {"batch_id": other["batch_id"]} if i % 3 == 0 else {}
        jobs.append(project.job(f"c{i}", **extra))
    jobs += [project.job("c1"), project.job("c2", priority_weight=99), {"reference_id": "bad"}]
    project.api.post(f"/v1/projects/{pid}/jobs/bulk", json={"jobs": jobs})
    project.api.post(f"/v1/projects/{pid}/jobs/bulk", json={"jobs": jobs[:30]})  # replays

    async def work(db: Database) -> list[tuple[Any, ...]]:
        async with db.read() as conn:
            counted = (
                select(job.c.batch_id, func.count(), func.sum(job.c.frames))
                .where(job.c.project_id == pid)
                .group_by(job.c.batch_id)
            )
            counts = {row[0]: (row[1], row[2]) for row in await conn.execute(counted)}
            kept = select(batch.c.id, batch.c.total_jobs, batch.c.total_frames).where(
                batch.c.project_id == pid
            )
            return [
                (row.id, (row.total_jobs, row.total_frames), counts.get(row.id, (0, None)))
                for row in await conn.execute(kept)
            ]

    rows = with_db(server, work)
    assert len(rows) == 2
    for _, (total_jobs, total_frames), (count, frames) in rows:
        assert total_jobs == count and total_frames == (frames or 0)
    assert sum(count for _, _, (count, _) in rows) == 60


def test_api_keys_are_stored_hashed(server: Server, project: ProjectHandle) -> None:
    async def work(db: Database) -> list[tuple[Any, ...]]:
        async with db.read() as conn:
            rows = await conn.execute(
                select(api_key).where(api_key.c.account_id == project.account_id)
            )
            return [tuple(row) for row in rows]

    rows = with_db(server, work)
    assert rows
    for row in rows:
        assert all(project.api_key not in str(value) for value in row)
