"""Connections to the database, one ``Database`` per process, passed to whoever needs it."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Mapping, Sequence
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

SQLITE_BUSY_TIMEOUT_MS = 30_000
POOL_TIMEOUT_SECONDS = 60
SCAN_POOL_SIZE = 2
DRIVER_POOL_SIZE = 4
"""PostgreSQL connections of a process for ``Database.fetch`` (opened when first needed, closed
after 5 idle minutes), beside SQLAlchemy's pool: each is held for one statement's round trip."""


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


class Database:
    """Read and write transactions on SQLite (WAL) or PostgreSQL (asyncpg).

    On SQLite all writes of a process go through one connection that starts its transactions
    with ``BEGIN IMMEDIATE``: writers queue instead of failing on lock upgrades, and other
    processes wait through ``busy_timeout``. Reads use a pool of their own and never block on
    writers (WAL).
    """

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = url
        self.dialect = "sqlite" if url.startswith("sqlite") else "postgresql"
        common: dict[str, Any] = {
            "json_serializer": _json_dumps,
            "json_deserializer": orjson.loads,
            "pool_timeout": POOL_TIMEOUT_SECONDS,
        }
        if self.is_sqlite:
            self._writer = create_async_engine(url, pool_size=1, max_overflow=0, **common)
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
        else:
            self._writer = create_async_engine(
                url, pool_size=pool_size, max_overflow=pool_size, **common
            )
            self._reader = self._writer
            self._scanner = self._writer
        self._sqlite: sqlite3.Connection | None = None
        self._pool: asyncpg.Pool | None = None
        self._pool_opening = asyncio.Lock()

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
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """A transaction that commits when the block ends and rolls back if it raises."""
        async with self._writer.begin() as conn:
            yield conn

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
        async with pool.acquire() as conn:
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
        async with pool.acquire() as pooled, pooled.transaction(isolation="repeatable_read"):
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
        await self._writer.dispose()
        if self._reader is not self._writer:
            await self._reader.dispose()
        if self._scanner is not self._writer:
            await self._scanner.dispose()
        if self._sqlite is not None:
            self._sqlite.close()
            self._sqlite = None
        if self._pool is not None:
            await self._pool.close()
            self._pool = None


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
        cursor.close()

    if begin is not None:

        @event.listens_for(engine.sync_engine, "begin")
        def _on_begin(conn: Any) -> None:
            conn.exec_driver_sql(begin)
