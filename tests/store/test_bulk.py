"""``store.bulk.insert_many``: one driver call stores what a Core insert would, and skips rows
that collide on a unique index, counting only the rows it inserted."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from labelyard.store.bulk import insert_many
from labelyard.store.engine import Database
from labelyard.store.migrate import migrate
from labelyard.store.tables import revoked_session, server_secret
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
