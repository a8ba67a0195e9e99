"""The database handle: on SQLite, long scans run off the event loop; short reads inline."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import text

from labelyard.store.engine import Database

SLOW = text(
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1500000) "
    "SELECT count(*) FROM n"
)


def _ticks_during(db: Database, which: str) -> int:
    async def run() -> int:
        ticks = 0
        running = True

        async def ticker() -> None:
            nonlocal ticks
            while running:
                await asyncio.sleep(0)
                ticks += 1

        task = asyncio.create_task(ticker())
        async with getattr(db, which)() as conn:
            await asyncio.sleep(0)
            ticks = 0
            assert (await conn.execute(SLOW)).scalar() == 1_500_000
            seen = ticks
        running = False
        await task
        return seen

    return asyncio.run(run())


def test_scans_let_other_tasks_run_and_reads_stay_inline(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'engine.db'}")
    try:
        assert _ticks_during(db, "read") == 0  # the loop was held for the whole query
        assert _ticks_during(db, "scan") > 10  # other tasks ran while it scanned
    finally:
        asyncio.run(db.dispose())
