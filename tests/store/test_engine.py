"""The database handle: on SQLite, long scans run off the event loop; short reads inline; the
WAL is checkpointed after commits, off the writer."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

from sqlalchemy import text

from labelyard.store.engine import WRITER_AUTOCHECKPOINT_PAGES, Database

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


def test_a_big_commit_is_checkpointed_after_it_not_in_it(tmp_path: Path) -> None:
    """The writer leaves the WAL to the checkpoint thread: a commit of 3,000 pages is answered
    with its pages in the WAL alone (the automatic checkpoint would copy them at 1,000), and
    the thread then copies them into the database file."""
    path = tmp_path / "wal.db"
    db = Database(f"sqlite+aiosqlite:///{path}")
    keeper = sqlite3.connect(path)  # open throughout: closing the last one would checkpoint

    async def write() -> int:
        async with db.write() as conn:
            await conn.execute(text("CREATE TABLE t (x BLOB)"))
        async with db.write() as conn:
            autocheckpoint = (await conn.execute(text("PRAGMA wal_autocheckpoint"))).scalar()
            for _ in range(3):
                await conn.execute(
                    text(
                        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                        "WHERE i < 1000) INSERT INTO t SELECT randomblob(4000) FROM n"
                    )
                )
        return int(autocheckpoint)

    try:
        assert asyncio.run(write()) == WRITER_AUTOCHECKPOINT_PAGES > 3000
        deadline = time.monotonic() + 60
        while path.stat().st_size < 3000 * 4000 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert path.stat().st_size >= 3000 * 4000  # the rows are in the database file itself
        assert keeper.execute("SELECT count(*) FROM t").fetchone() == (3000,)
    finally:
        keeper.close()
        asyncio.run(db.dispose())
