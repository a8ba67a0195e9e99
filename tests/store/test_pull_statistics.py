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
            postgres = not db.is_sqlite
            figure = text("SELECT reltuples FROM pg_class WHERE relname = 'job'")
            if postgres:
                async with db.read() as conn:
                    # Never analysed: PostgreSQL does not know the table's size.
                    assert await conn.scalar(figure) == -1
            async with db.write() as conn:
                await refresh_statistics(conn)
            if postgres:
                async with db.read() as conn:
                    assert await conn.scalar(figure) == 0
        finally:
            await db.dispose()

    asyncio.run(run())
