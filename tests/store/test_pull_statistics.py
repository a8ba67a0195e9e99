"""A pull refreshes PostgreSQL's statistics of the job table as it writes (autovacuum may be off
or a minute away); on SQLite the call does nothing."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text

from labelyard.store.engine import Database
from labelyard.store.migrate import migrate
from labelyard.store.pulls import refresh_statistics
from tests.conftest import BACKENDS


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'stats.db'}"
    url: str = request.getfixturevalue("pg_database")
    return url.replace("postgresql://", "postgresql+asyncpg://", 1)


def test_refreshing_statistics_analyses_the_job_table(db_url: str) -> None:
    async def run() -> None:
        db = Database(db_url)
        try:
            await migrate(db)
            async with db.write() as conn:
                await refresh_statistics(conn)
            if not db.is_sqlite:
                async with db.read() as conn:
                    # The test database may hold other tests' jobs: ANALYZE's estimate of the
                    # table's size is then close to its count (exact for a small table).
                    figure = text("SELECT reltuples FROM pg_class WHERE relname = 'job'")
                    rows = await conn.scalar(text("SELECT count(*) FROM job"))
                    assert abs(await conn.scalar(figure) - rows) <= 0.05 * rows + 1
        finally:
            await db.dispose()

    asyncio.run(run())
