"""``store.bulk.insert_many``: one driver call stores what a Core insert would, and skips rows
that collide on a unique index, counting only the rows it inserted."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from labelyard.store.bulk import Same, insert_columns, insert_many
from labelyard.store.engine import Database
from labelyard.store.migrate import migrate
from labelyard.store.tables import media_check, revoked_session, server_secret
from tests.conftest import BACKENDS


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'bulk.db'}"
    url: str = request.getfixturevalue("pg_database")
    return url.replace("postgresql://", "postgresql+asyncpg://", 1)


def test_insert_many_matches_core_inserts_and_skips_collisions(db_url: str) -> None:
    async def run() -> None:
        db = Database(db_url)
        try:
            await migrate(db)
            when = datetime(2026, 11, 30, 12, 0, 0, 123456, tzinfo=UTC)
            async with db.write() as conn:
                await conn.execute(server_secret.delete().where(server_secret.c.name.like("b-%")))
                await conn.execute(
                    revoked_session.delete().where(revoked_session.c.nonce.like("b-%"))
                )
                await conn.execute(server_secret.insert().values(name="b-0", value="core"))
                rows = [{"name": f"b-{i}", "value": f"v{i}"} for i in range(5)]
                assert await insert_many(conn, server_secret, rows, unique=("name",)) == 4
                assert await insert_many(conn, server_secret, [], unique=("name",)) == 0
                await conn.execute(revoked_session.insert().values(nonce="b-core", expires_at=when))
                sessions = [
                    {"nonce": f"b-{i}", "expires_at": when + timedelta(seconds=i)} for i in range(3)
                ]
                assert await insert_many(conn, revoked_session, sessions) == 3
            async with db.read() as conn:
                secrets = dict(
                    (
                        await conn.execute(
                            select(server_secret).where(server_secret.c.name.like("b-%"))
                        )
                    ).all()
                )
                stored = dict(
                    (
                        await conn.execute(
                            select(revoked_session).where(revoked_session.c.nonce.like("b-%"))
                        )
                    ).all()
                )
                # Compared by the database: the bulk rows sort with the Core row as times do.
                ordered = (
                    (
                        await conn.execute(
                            select(revoked_session.c.nonce)
                            .where(revoked_session.c.nonce.like("b-%"))
                            .order_by(revoked_session.c.expires_at, revoked_session.c.nonce)
                        )
                    )
                    .scalars()
                    .all()
                )
            assert secrets == {"b-0": "core", "b-1": "v1", "b-2": "v2", "b-3": "v3", "b-4": "v4"}
            assert stored["b-0"] == stored["b-core"]  # the same value, stored the same way
            assert stored["b-2"] - stored["b-core"] == timedelta(seconds=2)
            assert ordered == ["b-0", "b-core", "b-1", "b-2"]
        finally:
            await db.dispose()

    asyncio.run(run())


def test_insert_columns_of_shared_values_store_what_core_inserts_store(db_url: str) -> None:
    """Many rows sharing values (on SQLite written into the statement as literals): each row
    is stored as a Core insert of the same values is, to the storage class."""
    project_id = "p'shared"  # a quote inside the literal
    when = datetime(2026, 12, 1, 13, 0, 0, 654321, tzinfo=UTC)

    async def run() -> list[tuple[object, ...]]:
        db = Database(db_url)
        try:
            await migrate(db)
            async with db.write() as conn:
                await conn.execute(
                    media_check.delete().where(media_check.c.project_id == project_id)
                )
                await conn.execute(
                    media_check.insert().values(
                        project_id=project_id,
                        job_id="core",
                        attempts=7,
                        next_attempt_at=when,
                        locked_until=None,
                        last_error="it's — late",
                        created_at=when,
                    )
                )
                count = 100
                inserted = await insert_columns(
                    conn,
                    media_check,
                    {
                        "project_id": Same(project_id),
                        "job_id": [f"bulk-{i:03}" for i in range(count)],
                        "attempts": Same(7),
                        "next_attempt_at": Same(when),
                        "locked_until": Same(None),
                        "last_error": Same("it's — late"),
                        "created_at": Same(when),
                    },
                    count=count,
                    unique=("project_id", "job_id"),
                )
                assert inserted == count
            async with db.read() as conn:
                columns = [
                    media_check.c.attempts,
                    media_check.c.next_attempt_at,
                    media_check.c.locked_until,
                    media_check.c.last_error,
                    media_check.c.created_at,
                ]
                if conn.dialect.name == "sqlite":
                    columns += [func.typeof(column) for column in columns]
                query = select(media_check.c.job_id, *columns).where(
                    media_check.c.project_id == project_id
                )
                return [tuple(row) for row in await conn.execute(query)]
        finally:
            await db.dispose()

    rows = asyncio.run(run())
    assert len(rows) == 101
    core = next(row[1:] for row in rows if row[0] == "core")
    assert core[0] == 7 and core[2] is None and core[3] == "it's — late"
    assert core[1] == core[4] and core[1].replace(tzinfo=UTC) == when
    assert all(row[1:] == core for row in rows)


def test_insert_columns_of_only_shared_values_still_inserts(db_url: str) -> None:
    """Rows whose every value is shared are still rows: a call of 100 identical rows inserts
    one of them (the others collide on the unique key), not none."""
    when = datetime(2026, 12, 1, 13, 0, 0, tzinfo=UTC)

    async def run() -> tuple[int, int]:
        db = Database(db_url)
        try:
            await migrate(db)
            async with db.write() as conn:
                await conn.execute(media_check.delete().where(media_check.c.project_id == "same"))
                inserted = await insert_columns(
                    conn,
                    media_check,
                    {
                        "project_id": Same("same"),
                        "job_id": Same("one"),
                        "attempts": Same(0),
                        "next_attempt_at": Same(when),
                        "created_at": Same(when),
                    },
                    count=100,
                    unique=("project_id", "job_id"),
                )
            async with db.read() as conn:
                stored = await conn.scalar(
                    select(func.count()).where(media_check.c.project_id == "same")
                )
            return inserted, int(stored or 0)
        finally:
            await db.dispose()

    assert asyncio.run(run()) == (1, 1)
