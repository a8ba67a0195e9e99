"""A SQLite connection for SQLAlchemy's aiosqlite dialect that runs statements inline.

aiosqlite runs every call on a thread of its own and hands results back through the event
loop: four hand-offs per statement, which cost more than the statement itself for the short
indexed reads of a page or a key lookup. Reads in WAL mode never wait for a lock, so labelyard
runs them directly on the event loop through this object, which looks to SQLAlchemy like an
aiosqlite connection. Writes (``WriterConnection``) run on a thread, since they can wait on
another process's write lock and must not block the loop while they do, except the statements
of a transaction that asked to run inline once it holds the lock.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any


class _Cursor:
    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    async def __aenter__(self) -> _Cursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._cursor.close()

    async def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> _Cursor:
        self._cursor.execute(sql, () if parameters is None else parameters)
        return self

    async def executemany(self, sql: str, parameters: Sequence[Sequence[Any]]) -> _Cursor:
        self._cursor.executemany(sql, parameters)
        return self

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(size if size is not None else self._cursor.arraysize)

    async def close(self) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value


class _RunNow:
    """Stands in for aiosqlite's request queue: runs a call at once and settles its future."""

    def put_nowait(self, item: tuple[asyncio.Future[Any], Callable[[], Any]]) -> None:
        future, function = item
        try:
            future.set_result(function())
        except Exception as exc:
            future.set_exception(exc)


class InlineConnection:
    """The parts of ``aiosqlite.Connection`` that SQLAlchemy uses, without a thread."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._conn = connection
        self._connection: sqlite3.Connection | None = connection
        self._tx = _RunNow()

    def cursor(self) -> _Cursor:
        return _Cursor(self._conn.cursor())

    async def execute_fetchall(self, sql: str, parameters: Sequence[Any] = ()) -> list[Any]:
        """Every row of a long read, read on a thread (as aiosqlite's method of this name)."""
        return await asyncio.to_thread(lambda: self._conn.execute(sql, parameters).fetchall())

    async def commit(self) -> None:
        self._conn.commit()

    async def rollback(self) -> None:
        self._conn.rollback()

    async def close(self) -> None:
        self._conn.close()
        self._connection = None

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)

    def stop(self) -> None:
        self._conn.close()
        self._connection = None

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level


def creator(path: str) -> Callable[[], Any]:
    """An ``async_creator`` for ``create_async_engine`` that opens ``path`` inline."""

    async def connect() -> InlineConnection:
        return InlineConnection(
            sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        )

    return connect


class _WriterCursor(_Cursor):
    """A cursor of the write connection: statements of a transaction marked ``inline`` run on
    the event loop; the rest, and every ``BEGIN`` (it may wait for another process's write
    lock), on a thread."""

    def __init__(self, owner: WriterConnection, cursor: sqlite3.Cursor) -> None:
        super().__init__(cursor)
        self._owner = owner
        self._threaded = False

    async def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> _Cursor:
        values = () if parameters is None else parameters
        self._threaded = not self._owner.inline or sql.lstrip()[:5].upper() == "BEGIN"
        if self._threaded:
            await asyncio.to_thread(self._cursor.execute, sql, values)
        else:
            self._cursor.execute(sql, values)
        return self

    async def executemany(self, sql: str, parameters: Sequence[Sequence[Any]]) -> _Cursor:
        self._threaded = not self._owner.inline
        if self._threaded:
            await asyncio.to_thread(self._cursor.executemany, sql, parameters)
        else:
            self._cursor.executemany(sql, parameters)
        return self

    async def fetchall(self) -> list[Any]:
        if self._threaded:
            return await asyncio.to_thread(self._cursor.fetchall)
        return self._cursor.fetchall()


class WriterConnection(InlineConnection):
    """The write connection of a process: like aiosqlite, every call on a thread (a statement
    may wait for another process's write lock, a commit waits for its fsync), except the
    statements of a transaction whose ``inline`` is set (``Database.write(inline=True)``).

    Once ``BEGIN IMMEDIATE`` has returned this connection holds the database's write lock, so
    the statements after it never wait for a lock: those of a group of single creates (a few
    statements of a few rows each) run on the event loop, which saves the thread hand-offs of
    each statement and, more, the turns of the event loop in between, during which the write
    lock is held while other requests run. ``COMMIT`` and ``ROLLBACK`` still run on a thread.
    """

    def __init__(self, connection: sqlite3.Connection) -> None:
        super().__init__(connection)
        self.inline = False
        # Run on the commit's thread right after it: what lets other processes write (the
        # turn), let go without waiting for the event loop to come round.
        self.after_commit: Callable[[], None] | None = None

    def cursor(self) -> _Cursor:
        return _WriterCursor(self, self._conn.cursor())

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> _Cursor:
        """As ``aiosqlite.Connection.execute`` (``store.bulk`` calls the driver directly)."""
        return await self.cursor().execute(sql, parameters)

    async def executemany(self, sql: str, parameters: Any) -> _Cursor:
        """As ``aiosqlite.Connection.executemany``."""
        return await self.cursor().executemany(sql, parameters)

    async def commit(self) -> None:
        await asyncio.to_thread(self._commit, self.after_commit)

    def _commit(self, after: Callable[[], None] | None) -> None:
        self._conn.commit()
        if after is not None:
            after()

    async def rollback(self) -> None:
        await asyncio.to_thread(self._conn.rollback)


def writer(path: str) -> Callable[[], Any]:
    """An ``async_creator`` for the write engine (``WriterConnection``)."""

    async def connect() -> WriterConnection:
        return WriterConnection(
            sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        )

    return connect
