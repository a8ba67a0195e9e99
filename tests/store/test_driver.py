"""``Database.fetch``: one statement on the driver, in autocommit, for either engine."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import text

from labelyard.store import engine
from labelyard.store.driver import statement
from labelyard.store.engine import DRIVER_POOL_SIZE, Database
from labelyard.store.migrate import migrate
from labelyard.store.tables import server_secret
from tests.conftest import BACKENDS

SECRETS = statement(
    "SELECT name, value FROM server_secret WHERE name LIKE :prefix AND value <> :skip ORDER BY name"
)


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'driver.db'}"
    url: str = request.getfixturevalue("pg_database")
    return url.replace("postgresql://", "postgresql+asyncpg://", 1)


def test_parameters_are_numbered_in_order_of_first_use() -> None:
    numbered = statement("SELECT :b, x::text FROM t WHERE a = :a AND b = :b")
    assert numbered.postgresql == "SELECT $1, x::text FROM t WHERE a = $2 AND b = $1"
    assert numbered.names == ("b", "a")
    assert numbered.sqlite == "SELECT :b, x::text FROM t WHERE a = :a AND b = :b"
    own = statement("SELECT * FROM (SELECT :a) AS s", sqlite="SELECT :a")
    assert (own.sqlite, own.postgresql, own.names) == (
        "SELECT :a",
        "SELECT * FROM (SELECT $1) AS s",
        ("a",),
    )


def test_fetch_sees_each_commit_and_nothing_uncommitted(db_url: str) -> None:
    values = {"prefix": "drv-%", "skip": "hidden"}

    async def run() -> None:
        db = Database(db_url)
        try:
            await migrate(db)
            async with db.write() as conn:
                await conn.execute(server_secret.delete().where(server_secret.c.name.like("drv-%")))
            assert list(await db.fetch(SECRETS, values)) == []
            async with db.write() as conn:
                await conn.execute(server_secret.insert().values(name="drv-a", value="1"))
                # Inside an open write transaction: not visible to a fetch yet (and on SQLite
                # the fetch does not wait for the writer).
                assert list(await db.fetch(SECRETS, values)) == []
            rows = [tuple(row) for row in await db.fetch(SECRETS, values)]
            assert rows == [("drv-a", "1")]
            async with db.write() as conn:
                await conn.execute(
                    server_secret.insert(),
                    [{"name": "drv-b", "value": "hidden"}, {"name": "drv-c", "value": "3"}],
                )
            rows = [tuple(row) for row in await db.fetch(SECRETS, values)]
            assert rows == [("drv-a", "1"), ("drv-c", "3")]
        finally:
            await db.dispose()

    asyncio.run(run())


def test_concurrent_fetches_share_a_few_postgresql_connections(db_url: str) -> None:
    if db_url.startswith("sqlite"):
        pytest.skip("SQLite fetches run inline, one at a time")

    async def run() -> None:
        db = Database(db_url)
        try:
            await migrate(db)
            async with db.write() as conn:
                await conn.execute(server_secret.delete().where(server_secret.c.name.like("drv-%")))
                await conn.execute(server_secret.insert().values(name="drv-x", value="x"))
            one = statement(
                "SELECT name, pg_backend_pid(), pg_sleep(0.01)::text FROM server_secret "
                "WHERE name = :name"
            )
            answers = await asyncio.gather(*(db.fetch(one, {"name": "drv-x"}) for _ in range(40)))
            assert all(len(rows) == 1 and rows[0][0] == "drv-x" for rows in answers)
            backends = {rows[0][1] for rows in answers}
            assert 1 < len(backends) <= DRIVER_POOL_SIZE
            # Nothing left open: the next statement of each connection runs in autocommit.
            async with db.read() as conn:
                idle = await conn.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(:pids) "
                        "AND state <> 'idle'"
                    ),
                    {"pids": list(backends)},
                )
                assert idle.scalar() == 0
        finally:
            await db.dispose()

    asyncio.run(run())


def test_postgresql_fetches_get_a_connection_in_the_order_they_asked(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fetch that waits for a connection gets the next one free, not a fetch that asks later.

    asyncpg's pool hands a returned connection to whoever asks next: a request arriving in the
    moment between the return and the wake-up of the one waiting takes it, and the one waiting
    queues again at the back (under load, the slowest requests waited many turns)."""
    if db_url.startswith("sqlite"):
        pytest.skip("SQLite fetches run inline, one at a time")
    monkeypatch.setattr(engine, "DRIVER_POOL_SIZE", 1)
    held = statement("SELECT pg_advisory_xact_lock_shared(:key)::text, :name::text")
    key = 0x1AB3_17D

    async def run() -> None:
        db = Database(db_url)
        admin = await asyncpg.connect(db_url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            await db.fetch(held, {"key": key, "name": "open"})
            pool = db._pool
            assert pool is not None
            order: list[str] = []
            later: list[asyncio.Task[None]] = []

            async def one(name: str) -> None:
                await db.fetch(held, {"key": key, "name": name})
                order.append(name)

            returned = pool._queue.put_nowait

            def arrive_then_return(holder: object) -> None:
                # A request arrives just as the connection comes back (once).
                if not later:
                    later.append(asyncio.ensure_future(one("arrived-later")))
                returned(holder)

            await admin.execute("SELECT pg_advisory_lock($1)", key)
            first = asyncio.create_task(one("first"))
            while not pool._queue.empty():  # the first holds the one connection
                await asyncio.sleep(0.001)
            waiting = asyncio.create_task(one("waiting"))
            for _ in range(20):
                await asyncio.sleep(0)
            monkeypatch.setattr(pool._queue, "put_nowait", arrive_then_return)
            await admin.execute("SELECT pg_advisory_unlock($1)", key)
            await asyncio.gather(first, waiting)
            await asyncio.gather(*later)
            assert order == ["first", "waiting", "arrived-later"]
        finally:
            await admin.close()
            await db.dispose()

    asyncio.run(run())


def test_sqlite_fetch_runs_inline_and_only_reads(tmp_path: Path) -> None:
    async def run() -> None:
        db = Database(f"sqlite+aiosqlite:///{tmp_path / 'inline.db'}")
        try:
            await migrate(db)
            ticks = 0
            running = True

            async def ticker() -> None:
                nonlocal ticks
                while running:
                    await asyncio.sleep(0)
                    ticks += 1

            task = asyncio.create_task(ticker())
            await asyncio.sleep(0)
            ticks = 0
            slow = statement(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :top) "
                "SELECT count(*) FROM n"
            )
            assert (await db.fetch(slow, {"top": 300_000}))[0][0] == 300_000
            assert ticks == 0  # a short read holds the loop, as db.read() does
            running = False
            await task
            write = statement("INSERT INTO server_secret (name, value) VALUES (:n, :v)")
            with pytest.raises(Exception, match="readonly"):
                await db.fetch(write, {"n": "drv-w", "v": "w"})
        finally:
            await db.dispose()

    asyncio.run(run())


def test_fetch_each_reads_every_statement_and_leaves_no_snapshot_open(db_url: str) -> None:
    values = {"prefix": "drv-%", "skip": "hidden", "name": "drv-a"}
    one = statement("SELECT value FROM server_secret WHERE name = :name")

    async def run() -> None:
        db = Database(db_url)
        try:
            await migrate(db)
            async with db.write() as conn:
                await conn.execute(server_secret.delete().where(server_secret.c.name.like("drv-%")))
                await conn.execute(server_secret.insert().values(name="drv-a", value="1"))
            found, named = await db.fetch_each((SECRETS, one), values)
            assert [tuple(row) for row in found] == [("drv-a", "1")]
            assert [tuple(row) for row in named] == [("1",)]
            async with db.write() as conn:
                await conn.execute(server_secret.insert().values(name="drv-b", value="2"))
            # A snapshot left open by the last call would not show the new row.
            found, named = await db.fetch_each((SECRETS, one), values)
            assert [tuple(row) for row in found] == [("drv-a", "1"), ("drv-b", "2")]
            assert [tuple(row) for row in await db.fetch(SECRETS, values)] == [
                ("drv-a", "1"),
                ("drv-b", "2"),
            ]
        finally:
            await db.dispose()

    asyncio.run(run())
