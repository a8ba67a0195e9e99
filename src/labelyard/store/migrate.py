"""Apply the Alembic migrations shipped inside the package."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, text

from labelyard.store.engine import Database

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Any fixed number: replicas starting at once on PostgreSQL take turns migrating.
_PG_MIGRATION_LOCK = 0x6C616265


def alembic_config() -> Config:
    """The Alembic configuration, without an ini file."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("file_template", "%%(year)d-%%(month).2d-%%(day).2d_%%(slug)s")
    return config


def _upgrade(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
    config = alembic_config()
    config.attributes["connection"] = conn
    command.upgrade(config, "head")


async def migrate(db: Database) -> None:
    """Bring the database to the newest schema; safe to run from several processes at once."""
    async with db.engine.begin() as conn:
        await conn.run_sync(_upgrade)


def _check(conn: Connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = conn
    command.check(config)


async def check(db: Database) -> None:
    """Raise if the migrated schema differs from ``tables.metadata``."""
    async with db.engine.connect() as conn:
        await conn.run_sync(_check)
