"""The database handle: on SQLite, long scans run off the event loop; short reads inline;
write transactions of processes on one file take turns; the WAL is checkpointed after commits,
off the writer."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from labelyard.store.engine import WRITER_AUTOCHECKPOINT_PAGES, Database

SLOW = text(
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1500000) "
    "SELECT count(*) FROM n"
)


def _ticks_during(db: Database, which: str, **options: bool) -> int:
    async def run() -> int:
        ticks = 0
        running = True

        async def ticker() -> None:
            nonlocal ticks
            while running:
                await asyncio.sleep(0)
                ticks += 1

        task = asyncio.create_task(ticker())
        async with getattr(db, which)(**options) as conn:
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


def test_an_inline_write_holds_the_loop_and_a_plain_one_does_not(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'engine.db'}")
    try:
        assert _ticks_during(db, "write", inline=True) == 0  # its statements ran on the loop
        assert _ticks_during(db, "write") > 10  # on a thread, while other tasks ran

        async def rolled_back() -> list[int]:
            async with db.write() as conn:
                await conn.execute(text("CREATE TABLE t (n INTEGER)"))
            with pytest.raises(RuntimeError):
                async with db.write(inline=True) as conn:
                    await conn.execute(text("INSERT INTO t VALUES (1)"))
                    raise RuntimeError
            async with db.write(inline=True) as conn:
                await conn.execute(text("INSERT INTO t VALUES (2)"))
            async with db.read() as conn:
                return list((await conn.execute(text("SELECT n FROM t"))).scalars())

        assert asyncio.run(rolled_back()) == [2]
    finally:
        asyncio.run(db.dispose())


_OTHER_PROCESS = """
import fcntl, os, sqlite3, sys, time
from labelyard.store.engine import _GATE, _TURN, _take_turn

path = sys.argv[1]
fd = os.open(path + "-writer", os.O_RDWR | os.O_CREAT, 0o600)
_take_turn(fd)
print("held", flush=True)
for _ in range(3000):  # until a writer of the test waits for the turn (holding the gate)
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, _GATE)
    except OSError:
        break
    fcntl.lockf(fd, fcntl.LOCK_UN, 1, _GATE)
    time.sleep(0.01)
print("waited for", flush=True)
if sys.stdin.readline().strip() == "again":
    fcntl.lockf(fd, fcntl.LOCK_UN, 1, _TURN)
    _take_turn(fd)  # asks again at once
    conn = sqlite3.connect(path, timeout=30)
    conn.execute("INSERT INTO turns (who) VALUES ('other')")
    conn.commit()
fcntl.lockf(fd, fcntl.LOCK_UN, 1, _TURN)
print("let go", flush=True)
"""


def _other_process(path: Path) -> subprocess.Popen[str]:
    other = subprocess.Popen(
        [sys.executable, "-c", _OTHER_PROCESS, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert other.stdout is not None
    assert other.stdout.readline().strip() == "held"
    return other


def test_a_process_that_lets_the_turn_go_waits_for_the_one_waiting(tmp_path: Path) -> None:
    path = tmp_path / "turns.db"
    db = Database(f"sqlite+aiosqlite:///{path}")

    async def run() -> list[str]:
        async with db.write() as conn:
            await conn.execute(text("CREATE TABLE turns (n INTEGER PRIMARY KEY, who TEXT)"))

        async def this() -> None:
            async with db.write() as conn:
                await conn.execute(text("INSERT INTO turns (who) VALUES ('this')"))

        with _other_process(path) as other:
            assert other.stdin is not None and other.stdout is not None
            writing = asyncio.create_task(this())
            assert await asyncio.to_thread(other.stdout.readline) == "waited for\n"
            other.stdin.write("again\n")
            other.stdin.flush()
            await writing
            assert await asyncio.to_thread(other.stdout.readline) == "let go\n"
        async with db.read() as conn:
            return list((await conn.execute(text("SELECT who FROM turns ORDER BY n"))).scalars())

    try:
        # Without the gate the other process, already running, took the turn straight back.
        assert asyncio.run(run()) == ["this", "other"]
    finally:
        asyncio.run(db.dispose())


def test_a_writer_cancelled_while_waiting_for_its_turn_does_not_keep_it(tmp_path: Path) -> None:
    path = tmp_path / "turns.db"
    db = Database(f"sqlite+aiosqlite:///{path}")

    async def run() -> None:

        async def wait() -> None:
            async with db.write() as conn:
                await conn.execute(text("SELECT 1"))

        with _other_process(path) as other:
            assert other.stdin is not None and other.stdout is not None
            waiting = asyncio.create_task(wait())
            assert await asyncio.to_thread(other.stdout.readline) == "waited for\n"
            waiting.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiting
            other.stdin.write("done\n")
            other.stdin.flush()
            assert await asyncio.to_thread(other.stdout.readline) == "let go\n"
        # The cancelled writer's thread took the turn when the other process let it go, and
        # let it go again: another process takes it (it would wait for ever if it were kept).
        _assert_another_process_takes_the_turn(path)
        async with db.write() as conn:  # and this process has turns as before
            await conn.execute(text("SELECT 1"))

    try:
        asyncio.run(run())
    finally:
        asyncio.run(db.dispose())


def test_a_writer_that_gets_no_turn_in_time_fails_and_leaves_the_turn_free(
    tmp_path: Path,
) -> None:
    """A writer waits for its turn as long as for a connection, then fails as SQLite's own
    busy timeout does, with nothing written; the turn it was still waiting for is let go."""
    path = tmp_path / "turns.db"
    db = Database(f"sqlite+aiosqlite:///{path}")

    async def run() -> list[str]:
        async with db.write() as conn:
            await conn.execute(text("CREATE TABLE turns (n INTEGER PRIMARY KEY, who TEXT)"))
        assert db._turns is not None
        db._turns.wait_seconds = 0.5

        async def this() -> None:
            async with db.write() as conn:
                await conn.execute(text("INSERT INTO turns (who) VALUES ('this')"))

        with _other_process(path) as other:
            assert other.stdin is not None and other.stdout is not None
            with pytest.raises(sqlite3.OperationalError, match="database is locked"):
                await this()
            # A second writer of this process queues behind the first and fails in time too.
            with pytest.raises(sqlite3.OperationalError):
                await this()
            assert await asyncio.to_thread(other.stdout.readline) == "waited for\n"
            other.stdin.write("done\n")
            other.stdin.flush()
            assert await asyncio.to_thread(other.stdout.readline) == "let go\n"
        _assert_another_process_takes_the_turn(path)
        await this()  # and this process writes as before
        async with db.read() as conn:
            return list((await conn.execute(text("SELECT who FROM turns ORDER BY n"))).scalars())

    try:
        assert asyncio.run(run()) == ["this"]
    finally:
        asyncio.run(db.dispose())


_PROBE = """
import fcntl, os, sys
from labelyard.store.engine import _TURN
fd = os.open(sys.argv[1], os.O_RDWR)
fcntl.lockf(fd, fcntl.LOCK_EX, 1, _TURN)
print("free")
"""


def _assert_another_process_takes_the_turn(path: Path) -> None:
    probe = subprocess.run(
        [sys.executable, "-c", _PROBE, f"{path}-writer"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert probe.stdout.strip() == "free", probe.stderr


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
