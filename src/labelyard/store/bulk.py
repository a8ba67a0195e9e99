"""Many rows into one table in one driver call: the bulk-create path.

On SQLite the rows go to the driver's ``executemany`` as tuples (one statement prepared once,
one hand-off to aiosqlite's thread, no per-row SQL construction); on PostgreSQL to one
``INSERT ... SELECT FROM unnest(...)`` of column arrays. Values are converted with the columns'
own SQLAlchemy bind processors, so they are stored exactly as a Core insert would store them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, text
from sqlalchemy.ext.asyncio import AsyncConnection


def _converted(
    conn: AsyncConnection, table: Table, columns: Sequence[str], rows: Sequence[dict[str, Any]]
) -> list[list[Any]]:
    """Column-wise values, each through its column's bind processor (a value repeated from the
    previous row, such as one timestamp for every row, is converted once)."""
    dialect = conn.dialect
    out: list[list[Any]] = []
    for name in columns:
        values = [row[name] for row in rows]
        process = table.c[name].type._cached_bind_processor(dialect)
        if process is not None:
            converted: list[Any] = []
            last_in: Any = object()
            last_out: Any = None
            for value in values:
                if value is not last_in:
                    last_in, last_out = value, process(value)
                converted.append(last_out)
            values = converted
        out.append(values)
    return out


async def insert_many(
    conn: AsyncConnection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    *,
    unique: Sequence[str] = (),
) -> int:
    """Insert ``rows`` (all with the same keys) in ``conn``'s transaction; with ``unique``
    (the columns of a unique index), rows that collide on it are skipped. Returns how many rows
    were inserted."""
    if not rows:
        return 0
    columns = list(rows[0])
    names = ", ".join(f'"{name}"' for name in columns)
    conflict = f" ON CONFLICT ({', '.join(unique)}) DO NOTHING" if unique else ""
    by_column = _converted(conn, table, columns, rows)
    raw = await conn.get_raw_connection()
    driver: Any = raw.driver_connection
    if conn.dialect.name == "sqlite":
        marks = ", ".join("?" for _ in columns)
        sql = f'INSERT INTO "{table.name}" ({names}) VALUES ({marks}){conflict}'
        cursor = await driver.executemany(sql, list(zip(*by_column, strict=True)))
        inserted = int(cursor.rowcount)
        await cursor.close()
        return inserted
    types = [table.c[name].type.compile(dialect=conn.dialect) for name in columns]
    arrays = ", ".join(f"${i + 1}::{kind}[]" for i, kind in enumerate(types))
    sql = f'INSERT INTO "{table.name}" ({names}) SELECT * FROM unnest({arrays}){conflict}'
    if not driver.is_in_transaction():  # the driver starts SQLAlchemy's transaction lazily
        await conn.execute(text("SELECT 1"))
    status: str = await driver.execute(sql, *by_column)
    return int(status.rsplit(" ", 1)[-1])
