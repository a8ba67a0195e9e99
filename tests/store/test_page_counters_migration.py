"""Migration ``0013_page_counters`` fills each batch's ``in_progress_jobs`` from its jobs (gold
jobs left out), on a database that had jobs before it (both engines)."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Connection, select, text

from labelyard.store.engine import Database
from labelyard.store.migrate import alembic_config, migrate
from labelyard.store.tables import batch, job
from tests.conftest import BACKENDS, PG_URL, pg_admin

BEFORE = "0012_pull_runs"


@pytest.fixture(params=BACKENDS)
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of each engine."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'counters.db'}"
        return
    request.getfixturevalue("pg_database")  # skips (or fails under CI) without PostgreSQL
    name = f"labelyard_mig_{os.getpid()}_{secrets.token_hex(3)}"
    pg_admin(PG_URL, f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_URL.rpartition('/')[0]}/{name}".replace(
            "postgresql://", "postgresql+asyncpg://"
        )
    finally:
        pg_admin(PG_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _upgrade_to(conn: Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = conn
    command.upgrade(config, revision)


def test_the_migration_counts_each_batchs_jobs_in_progress(fresh_url: str) -> None:
    async def run() -> dict[str, int]:
        db = Database(fresh_url, pool_size=1)
        try:
            async with db.engine.begin() as conn:
                await conn.run_sync(_upgrade_to, BEFORE)
            now = datetime.now(UTC)
            async with db.write() as conn:
                await conn.execute(
                    text("INSERT INTO account (id, name, created_at) VALUES ('a', 'a', :now)"),
                    {"now": now},
                )
                await conn.execute(
                    text(
                        "INSERT INTO project (id, account_id, name, base, created_at)"
                        " VALUES ('p', 'a', 'p', 'IMAGE', :now)"
                    ),
                    {"now": now},
                )
                await conn.execute(
                    text(
                        "INSERT INTO workflow (project_id, id, name, tag, steps, is_default,"
                        " created_at) VALUES ('p', 'w', 'w', 'default', '[\"annotate\"]',"
                        " :yes, :now)"
                    ),
                    {"now": now, "yes": True},
                )
                for name in ("b1", "b2", "b3"):
                    await conn.execute(
                        text(
                            "INSERT INTO batch (project_id, id, name, description, label,"
                            " is_default, created_at, last_seq, total_jobs, completed_jobs,"
                            " aborted_jobs, total_frames, completed_frames, annotations)"
                            " VALUES ('p', :id, :id, '', '', :no, :now, 0, 0, 0, 0, 0, 0, 0)"
                        ),
                        {"id": name, "now": now, "no": False},
                    )
                statuses = [
                    ("b1", "in_progress", False),
                    ("b1", "in_progress", False),
                    ("b1", "created", False),
                    ("b1", "in_progress", True),  # gold: in none of the counters
                    ("b2", "completed", False),
                    ("b2", "in_progress", False),
                    ("b2", "aborted", False),
                ]
                for i, (batch_id, status, gold) in enumerate(statuses):
                    await conn.execute(
                        job.insert().values(
                            project_id="p",
                            id=f"j{i}",
                            batch_id=batch_id,
                            seq=i + 1,
                            reference_id=f"r{i}",
                            payload_hash="h",
                            workflow_id="w",
                            tag="default",
                            type="NON_TEST",
                            priority_weight=1,
                            status=status,
                            frames=1,
                            annotations=0,
                            data={},
                            step_index=0,
                            queue=None if status in ("completed", "aborted") else "annotate",
                            gold=gold,
                            assigned_only=False,
                            created_at=now,
                            updated_at=now,
                        )
                    )
            await migrate(db)
            async with db.read() as conn:
                rows = await conn.execute(select(batch.c.id, batch.c.in_progress_jobs))
                return {row.id: int(row.in_progress_jobs) for row in rows}
        finally:
            await db.dispose()

    assert asyncio.run(run()) == {"b1": 2, "b2": 1, "b3": 0}
