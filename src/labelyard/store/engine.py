"""Connections to the database, one ``Database`` per process, passed to whoever needs it."""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import orjson
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

from labelyard.store import sqlite_inline
from labelyard.store.driver import DriverStatement

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 30_000
WRITER_AUTOCHECKPOINT_PAGES = 20_000
"""The writer connection checkpoints the WAL itself only past this many pages (80 MB of 4 KB
pages): a safety net. Checkpoints normally run on a thread of their own after commits
(``_Checkpoints``)."""
CHECKPOINT_SPACING_SECONDS = 0.2
"""At most one background checkpoint per this long: small commits share one."""
POOL_TIMEOUT_SECONDS = 60
WRITE_TURN_WAIT_SECONDS = POOL_TIMEOUT_SECONDS
"""How long a SQLite write waits for its turn (``_WriteTurns``): as long as for a connection."""
SCAN_POOL_SIZE = 2
DRIVER_POOL_SIZE = 4
"""PostgreSQL connections of a process for ``Database.fetch`` (opened when first needed, closed
after 5 idle minutes), beside SQLAlchemy's pool: each is held for one statement's round trip.
Fetches wait for one in the order they asked (``Database._pool_turns``)."""


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


class Database:
    """Read and write transactions on SQLite (WAL) or PostgreSQL (asyncpg).

    On SQLite all writes of a process go through one connection that starts its transactions
    with ``BEGIN IMMEDIATE``: writers queue instead of failing on lock upgrades. Between
    processes, a write transaction first takes its turn (``_WriteTurns``); ``busy_timeout``
    remains for writers that do not. Reads use a pool of their own and never block on writers
    (WAL).
    """

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = url
        self.dialect = "sqlite" if url.startswith("sqlite") else "postgresql"
        self._turns: _WriteTurns | None = None
        common: dict[str, Any] = {
            "json_serializer": _json_dumps,
            "json_deserializer": orjson.loads,
            "pool_timeout": POOL_TIMEOUT_SECONDS,
        }
        if self.is_sqlite:
            self._writer = create_async_engine(
                url,
                pool_size=1,
                max_overflow=0,
                async_creator=sqlite_inline.writer(make_url(url).database or ""),
                **common,
            )
            self._reader = create_async_engine(
                url,
                pool_size=pool_size,
                max_overflow=0,
                pool_reset_on_return=None,
                async_creator=sqlite_inline.creator(make_url(url).database or ""),
                **common,
            )
            _configure_sqlite(self._writer, begin="BEGIN IMMEDIATE")
            # Readers run each statement in autocommit (no BEGIN/COMMIT round trips) and inline
            # on the event loop (see sqlite_inline). Callers that need one snapshot over several
            # statements use write().
            _configure_sqlite(self._reader, begin=None)
            # Reads that scan many rows (counts over every job of a project) run on aiosqlite's
            # threads instead, so a 50 ms scan does not stop every other request meanwhile.
            self._scanner = create_async_engine(
                url, pool_size=SCAN_POOL_SIZE, max_overflow=0, pool_reset_on_return=None, **common
            )
            _configure_sqlite(self._scanner, begin=None)
            path = make_url(url).database or ""
            if path and path != ":memory:" and not path.startswith("file:"):
                self._turns = _WriteTurns(f"{path}-writer")
        else:
            self._writer = create_async_engine(
                url, pool_size=pool_size, max_overflow=pool_size, **common
            )
            self._reader = self._writer
            self._scanner = self._writer
        self._sqlite: sqlite3.Connection | None = None
        self._checkpoints = _Checkpoints(make_url(url).database or "") if self.is_sqlite else None
        self._pool: asyncpg.Pool | None = None
        self._pool_opening = asyncio.Lock()
        # First come, first served: asyncpg's pool gives a returned connection to whoever asks
        # next, so under load a fetch woken for it often found it taken by one that had just
        # arrived and queued again at the back (most of the tail of a page's latency). The
        # semaphore (fair: a release hands the turn to the longest waiter) lets no more fetches
        # at the pool than it has connections, so the pool itself never makes one wait.
        self._pool_turns = asyncio.Semaphore(DRIVER_POOL_SIZE)

    @property
    def is_sqlite(self) -> bool:
        """True on the embedded SQLite backend."""
        return self.dialect == "sqlite"

    @property
    def engine(self) -> AsyncEngine:
        """The engine that writes (migrations run on it)."""
        return self._writer

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A connection for reads (on SQLite each statement sees the latest commit)."""
        async with self._reader.begin() as conn:
            yield conn

    @asynccontextmanager
    async def scan(self) -> AsyncIterator[AsyncConnection]:
        """A connection for reads that may take long (aggregates over many rows): on SQLite off
        the event loop, on aiosqlite's threads; on PostgreSQL the same as ``read``."""
        async with self._scanner.begin() as conn:
            yield conn

    @asynccontextmanager
    async def write(self, *, inline: bool = False) -> AsyncIterator[AsyncConnection]:
        """A transaction that commits when the block ends and rolls back if it raises.

        ``inline``: on SQLite, once the write lock is taken, the transaction's statements run
        on the event loop instead of a thread (``sqlite_inline.WriterConnection``); for short
        transactions of a few indexed statements, which then hold the write lock for less
        time. Its ``BEGIN`` and commit still run on a thread.
        """
        if self._turns is None:
            async with self._writer.begin() as conn:
                yield conn
        else:
            async with self._inline_turn(inline=inline) as conn:
                yield conn
        if self._checkpoints is not None:
            self._checkpoints.soon()

    @asynccontextmanager
    async def _inline_turn(self, *, inline: bool) -> AsyncIterator[AsyncConnection]:
        """A SQLite write transaction in this process's write turn (``_WriteTurns``)."""
        assert self._turns is not None
        turns = self._turns
        async with turns.turn(), self._writer.begin() as conn:
            raw = await conn.get_raw_connection()
            driver = raw.driver_connection
            assert isinstance(driver, sqlite_inline.WriterConnection)
            # The commit lets the turn go on its thread, as soon as it is on disk (turn() lets
            # it go again on the way out: a no-op).
            driver.inline, driver.after_commit = inline, turns.let_go
            try:
                yield conn
            finally:
                driver.inline = False

    async def fetch(
        self, statement: DriverStatement, values: Mapping[str, Any]
    ) -> Sequence[Sequence[Any]]:
        """Every row of one short read, run on the driver in one call (``store.driver``), in
        autocommit: it sees the latest commit. On SQLite inline on the event loop like every
        ``read`` (WAL: a read never waits for a writer); on PostgreSQL one round trip of a
        statement prepared once per connection."""
        if self.is_sqlite:
            return (
                (self._sqlite or self._open_sqlite()).execute(statement.sqlite, values).fetchall()
            )
        pool = self._pool or await self._open_pool()
        async with self._pool_turns, pool.acquire() as conn:
            rows: list[asyncpg.Record] = await conn.fetch(
                statement.postgresql, *[values[n] for n in statement.names]
            )
        return rows

    async def fetch_each(
        self, statements: Sequence[DriverStatement], values: Mapping[str, Any]
    ) -> list[Sequence[Sequence[Any]]]:
        """The rows of each of ``statements`` (each taking what it names of ``values``), all
        read in one snapshot, as ``fetch`` runs one: on SQLite inline, in one read transaction;
        on PostgreSQL on one connection, in one transaction (a round trip each)."""
        if self.is_sqlite:
            conn = self._sqlite or self._open_sqlite()
            conn.execute("BEGIN")
            try:
                return [conn.execute(each.sqlite, values).fetchall() for each in statements]
            finally:
                conn.execute("COMMIT")
        pool = self._pool or await self._open_pool()
        async with (
            self._pool_turns,
            pool.acquire() as pooled,
            pooled.transaction(isolation="repeatable_read"),
        ):
            return [
                await pooled.fetch(each.postgresql, *[values[n] for n in each.names])
                for each in statements
            ]

    def _open_sqlite(self) -> sqlite3.Connection:
        path = make_url(self.url).database or ""
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA query_only = ON")
        self._sqlite = conn
        return conn

    async def _open_pool(self) -> asyncpg.Pool:
        async with self._pool_opening:
            if self._pool is None:
                engine = self._writer.sync_engine
                _, options = engine.dialect.create_connect_args(engine.url)
                # SQLAlchemy's name for asyncpg's statement cache (0 behind pgbouncer).
                cached = options.pop("prepared_statement_cache_size", None)
                if cached is not None:
                    options["statement_cache_size"] = cached
                self._pool = await asyncpg.create_pool(
                    min_size=0,
                    max_size=DRIVER_POOL_SIZE,
                    reset=_nothing_to_reset,
                    **options,
                )
            return self._pool

    async def ping(self) -> None:
        """Raise unless the database answers."""
        async with self._reader.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        """Close every pooled connection."""
        if self._checkpoints is not None:
            await asyncio.to_thread(self._checkpoints.stop)
        await self._writer.dispose()
        if self._reader is not self._writer:
            await self._reader.dispose()
        if self._scanner is not self._writer:
            await self._scanner.dispose()
        if self._sqlite is not None:
            self._sqlite.close()
            self._sqlite = None
        if self._turns is not None:
            self._turns.close()
        if self._pool is not None:
            await self._pool.close()
            self._pool = None


class _Checkpoints:
    """The WAL's checkpoints on a thread of their own, after commits, instead of in the commit.

    SQLite's automatic checkpoint runs inside the commit that takes the WAL past 1,000 pages, on
    the writer's connection: every bulk create of 10,000 jobs wrote more than that, so each one
    waited for its pages to be copied into the database file and the file's fsync (about a
    tenth of its time) before it was answered. Here the writer checkpoints itself only past
    ``WRITER_AUTOCHECKPOINT_PAGES`` (in case this thread falls behind), and after each commit a
    passive checkpoint runs on a short-lived connection of its own, at most one at a time and
    one per ``CHECKPOINT_SPACING_SECONDS``: it copies what is committed while the next request
    runs. A checkpoint never holds back a writer or a reader (PASSIVE), and a commit is on disk
    in the WAL before it is acknowledged either way (``synchronous = FULL``).
    """

    def __init__(self, path: str) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pending = False
        self._stopped = False

    def soon(self) -> None:
        """Checkpoint what is committed, on the thread (started unless it is running)."""
        if not self._path or self._path == ":memory:":
            return
        with self._lock:
            self._pending = True
            if self._thread is not None or self._stopped:
                return
            self._thread = threading.Thread(
                target=self._run, name="labelyard-wal-checkpoint", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        """Waits for a checkpoint under way and lets no other start meanwhile (a ``Database``
        used again after ``dispose`` checkpoints again after its next commit)."""
        with self._lock:
            self._stopped = True
            thread = self._thread
        if thread is not None:
            thread.join()
        with self._lock:
            self._stopped = False

    def _run(self) -> None:
        while True:
            with self._lock:
                if not self._pending or self._stopped:
                    self._thread = None
                    return
                self._pending = False
            began = time.monotonic()
            try:
                conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
                try:
                    conn.execute("PRAGMA synchronous = FULL")
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                finally:
                    conn.close()
            except (sqlite3.Error, OSError) as exc:  # the next commit asks again
                log.warning("WAL checkpoint of %s failed: %s", self._path, exc)
            time.sleep(max(0.0, CHECKPOINT_SPACING_SECONDS - (time.monotonic() - began)))


class _WriteTurns:
    """Write transactions of the processes on one SQLite file take turns through a lock on a
    file beside it, taken before ``BEGIN IMMEDIATE`` and let go after the commit.

    Without it, a process that finds the database locked sleeps in SQLite's busy handler, whose
    sleeps grow to 100 ms and do not end when the lock is let go: the other process, which
    commits and begins again at once, keeps the lock for group after group while the lock
    is free between them. Creates from two serve processes then waited up to 0.9 s for
    ``BEGIN`` with the lock unused half of the time. A process waiting here is woken by the
    kernel when the lock is let go, and the gate (``_take_turn``) makes busy processes
    alternate. The lock only orders writers (SQLite's lock still
    decides); one that does not take it (a migration) is waited for through ``busy_timeout``.
    A POSIX lock (``lockf``) belongs to the process, so two ``Database`` objects of one process
    on one file never wait for each other here. It cannot deadlock: its holder waits for
    nothing but SQLite's lock, which a process waiting here does not hold.
    """

    def __init__(self, path: str, *, wait_seconds: float = WRITE_TURN_WAIT_SECONDS) -> None:
        self._path = path
        self.wait_seconds = wait_seconds
        self._fd: int | None = None
        self._local = asyncio.Lock()  # one turn at a time in this process (POSIX locks nest)
        # One thread: a lock taken for a cancelled waiter is let go there before the next take.
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="labelyard-write-turn")

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """This process's turn, waited for at most ``wait_seconds`` (in this process's queue and
        then for the other processes); past that ``sqlite3.OperationalError`` ("database is
        locked", as SQLite's own ``busy_timeout`` ends), so a request fails instead of waiting
        for ever behind a writer that does not finish."""
        try:
            async with asyncio.timeout(self.wait_seconds):
                await self._local.acquire()
                try:
                    await self._take()
                except BaseException:
                    self._local.release()
                    raise
        except TimeoutError:
            raise sqlite3.OperationalError(
                f"database is locked: no write turn within {self.wait_seconds:g} s"
            ) from None
        try:
            yield
        finally:
            try:
                self.let_go()
            finally:
                self._local.release()

    async def _take(self) -> None:
        if self._fd is None:
            self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
        fd, loop = self._fd, asyncio.get_running_loop()
        taking = loop.run_in_executor(self._thread, _take_turn, fd)
        try:
            await asyncio.shield(taking)
        except asyncio.CancelledError:  # cancelled or out of time: the take still ends there
            loop.run_in_executor(self._thread, fcntl.lockf, fd, fcntl.LOCK_UN, 1, _TURN)
            raise

    def let_go(self) -> None:
        """End this process's turn (again: a no-op)."""
        if self._fd is not None:
            fcntl.lockf(self._fd, fcntl.LOCK_UN, 1, _TURN)

    def close(self) -> None:
        """Close the lock file (a turn under way ends with it)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


_GATE, _TURN = 0, 1
"""Bytes of the lock file: the gate, then the turn."""


def _take_turn(fd: int) -> None:
    """Take the turn through the gate: whoever waits for the turn holds the gate, so a process
    that just let the turn go waits at the gate until the waiter has it. Two busy processes
    then alternate; the kernel alone would hand the turn back to whoever asks first, mostly
    the process that just let it go."""
    fcntl.lockf(fd, fcntl.LOCK_EX, 1, _GATE)
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX, 1, _TURN)
    finally:
        fcntl.lockf(fd, fcntl.LOCK_UN, 1, _GATE)


async def _nothing_to_reset(_conn: asyncpg.Connection) -> None:
    """``Database.fetch`` runs single statements in autocommit: a connection comes back to the
    pool as it left (asyncpg's default reset would cost a round trip per statement)."""


def _configure_sqlite(engine: AsyncEngine, *, begin: str | None) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        # Take transaction control from the driver so BEGIN is ours (documented aiosqlite recipe).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        # FULL: a commit is on disk before it is acknowledged, even across a power loss.
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.execute("PRAGMA foreign_keys = ON")
        if begin is not None:  # the writer: its checkpoints run on a thread (_Checkpoints)
            cursor.execute(f"PRAGMA wal_autocheckpoint = {WRITER_AUTOCHECKPOINT_PAGES}")
        cursor.close()

    if begin is not None:

        @event.listens_for(engine.sync_engine, "begin")
        def _on_begin(conn: Any) -> None:
            conn.exec_driver_sql(begin)
