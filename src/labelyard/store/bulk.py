"""Many rows into one table in one driver call: the bulk-create path.

Rows are given column-wise (``insert_columns``: a list per column, ``Same(value)`` for a value
every row shares, or ``Converted`` values, already as the column stores them) or as dicts
(``insert_many``). On SQLite they go to the driver's ``executemany`` as tuples (one statement
prepared once, one hand-off to aiosqlite's thread, no per-row SQL construction); on PostgreSQL
to one ``COPY`` (or, when rows may collide on a unique index and do, or when they are few, one
``INSERT ... SELECT FROM unnest(...) ON CONFLICT DO NOTHING`` of column arrays). Values are
converted with the columns' own SQLAlchemy bind processors, so they are stored exactly as a Core
insert would store them; a shared value is converted once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from asyncpg import UniqueViolationError
from sqlalchemy import Table, text
from sqlalchemy.ext.asyncio import AsyncConnection


@dataclass(frozen=True, slots=True)
class Same:
    """One value for every row of an ``insert_columns`` call."""

    value: Any


@dataclass(frozen=True, slots=True)
class Converted:
    """Values already in the form the column's bind processor gives (for a JSON column, the
    JSON text ``Database``'s serializer writes): passed to the driver as they are."""

    values: Sequence[Any]


Column = Sequence[Any] | Same | Converted


def _converted(conn: AsyncConnection, table: Table, columns: Mapping[str, Column]) -> list[Column]:
    """Each column's values through its bind processor (a shared value once)."""
    dialect = conn.dialect
    out: list[Column] = []
    for name, values in columns.items():
        if isinstance(values, Converted):
            out.append(values.values)
            continue
        process = table.c[name].type._cached_bind_processor(dialect)
        if process is None:
            out.append(values)
        elif isinstance(values, Same):
            out.append(Same(process(values.value)))
        else:
            out.append(list(map(process, values)))
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
    columns: dict[str, Column] = {}
    for name in rows[0]:
        values = [row[name] for row in rows]
        first = values[0]
        # One value in every row (a timestamp, the project): converted once.
        columns[name] = Same(first) if all(value is first for value in values) else values
    return await insert_columns(conn, table, columns, count=len(rows), unique=unique)


async def insert_columns(
    conn: AsyncConnection,
    table: Table,
    columns: Mapping[str, Column],
    *,
    count: int,
    unique: Sequence[str] = (),
) -> int:
    """Insert ``count`` rows given column by column (a list of ``count`` values per column, or
    ``Same``), as ``insert_many`` does. Returns how many rows were inserted."""
    if not count:
        return 0
    names = ", ".join(f'"{name}"' for name in columns)
    conflict = f" ON CONFLICT ({', '.join(unique)}) DO NOTHING" if unique else ""
    values = _converted(conn, table, columns)
    raw = await conn.get_raw_connection()
    driver: Any = raw.driver_connection
    if conn.dialect.name == "sqlite":
        # For many rows, a value every row shares goes into the statement as a literal when it
        # is a plain string or integer (what the bind processors give): bound once per row, it
        # cost about 0.4 µs per row and column. (Few rows keep one statement text per table
        # and columns, prepared once: the driver's statement cache.)
        literals = [
            _sqlite_literal(v.value) if isinstance(v, Same) and count > _FEW else None
            for v in values
        ]
        if literals and all(literal is not None for literal in literals):
            literals[0] = None  # one bound column gives executemany its rows
        marks = ", ".join(literal or "?" for literal in literals)
        sql = f'INSERT INTO "{table.name}" ({names}) VALUES ({marks}){conflict}'
        bound = [v for v, literal in zip(values, literals, strict=True) if literal is None]
        rows = zip(*([v.value] * count if isinstance(v, Same) else v for v in bound), strict=True)
        cursor = await driver.executemany(sql, rows)
        inserted = int(cursor.rowcount)
        await cursor.close()
        return inserted
    if not driver.is_in_transaction():  # the driver starts SQLAlchemy's transaction lazily
        await conn.execute(text("SELECT 1"))
    arguments = [[v.value] * count if isinstance(v, Same) else v for v in values]
    if count > _FEW:
        # COPY: the fastest way in, but without ON CONFLICT. With ``unique`` it runs in a
        # savepoint, and if a row collides (a replay, a concurrent create of the same key) the
        # rows go in again by INSERT ... ON CONFLICT DO NOTHING, which skips the colliding ones.
        records = zip(*arguments, strict=True)
        if not unique:
            await driver.copy_records_to_table(table.name, records=records, columns=list(columns))
            return count
        try:
            async with driver.transaction():  # nested in SQLAlchemy's: a savepoint
                await driver.copy_records_to_table(
                    table.name, records=records, columns=list(columns)
                )
            return count
        except UniqueViolationError:
            pass
    status: str = await driver.execute(_unnest_insert(conn, table, columns, unique), *arguments)
    return int(status.rsplit(" ", 1)[-1])


def _sqlite_literal(value: Any) -> str | None:
    """``value`` as an SQLite literal that stores exactly what binding it stores, or None."""
    if type(value) is int and -(2**63) <= value < 2**63:
        return str(value)
    if type(value) is str and "\x00" not in value and value.isprintable():
        return "'" + value.replace("'", "''") + "'"
    return None


_FEW = 64
"""Up to this many rows go in by one prepared ``INSERT ... SELECT FROM unnest`` (one round trip)
rather than ``COPY`` (the driver's column look-up, the copy's own exchange, and with ``unique``
a savepoint around it): a group of single creates is a few rows."""

_UNNEST_INSERTS: dict[tuple[str, tuple[str, ...], tuple[str, ...]], str] = {}


def _unnest_insert(
    conn: AsyncConnection, table: Table, columns: Mapping[str, Column], unique: Sequence[str]
) -> str:
    """``INSERT ... SELECT * FROM unnest(<one array per column>)``, skipping rows that collide
    on ``unique``; the text built once per table and columns (the driver prepares it once)."""
    key = (table.name, tuple(columns), tuple(unique))
    sql = _UNNEST_INSERTS.get(key)
    if sql is None:
        names = ", ".join(f'"{name}"' for name in columns)
        conflict = f" ON CONFLICT ({', '.join(unique)}) DO NOTHING" if unique else ""
        types = [table.c[name].type.compile(dialect=conn.dialect) for name in columns]
        arrays = ", ".join(f"${i + 1}::{kind}[]" for i, kind in enumerate(types))
        sql = f'INSERT INTO "{table.name}" ({names}) SELECT * FROM unnest({arrays}){conflict}'
        _UNNEST_INSERTS[key] = sql
    return sql


async def update_columns(
    conn: AsyncConnection,
    table: Table,
    columns: Mapping[str, Column],
    *,
    where: Mapping[str, Column],
    count: int,
    nulls: Sequence[str] = (),
) -> None:
    """Set ``columns`` of ``count`` rows, each found by its ``where`` values (equality on every
    named column), given column by column as ``insert_columns`` takes them, and ``nulls`` to SQL
    NULL (a None given as a value is what the column's type makes of it: JSON null in a JSON
    column): one statement prepared once and the driver's ``executemany``, values converted by
    the columns' bind processors (no per-row parameter building in SQLAlchemy)."""
    if not count:
        return
    values = _converted(conn, table, {**columns, **where})
    raw = await conn.get_raw_connection()
    driver: Any = raw.driver_connection
    names = [*columns, *where]
    if conn.dialect.name == "sqlite":
        marks = ["?"] * len(names)
    else:
        marks = [f"${i + 1}" for i in range(len(names))]
        if not driver.is_in_transaction():  # the driver starts SQLAlchemy's transaction lazily
            await conn.execute(text("SELECT 1"))
    sets = ", ".join(
        [f'"{name}" = {mark}' for name, mark in zip(columns, marks, strict=False)]
        + [f'"{name}" = NULL' for name in nulls]
    )
    tests = " AND ".join(
        f'"{name}" = {mark}' for name, mark in zip(where, marks[len(columns) :], strict=True)
    )
    sql = f'UPDATE "{table.name}" SET {sets} WHERE {tests}'
    rows = list(
        zip(*([v.value] * count if isinstance(v, Same) else v for v in values), strict=True)
    )
    if conn.dialect.name == "sqlite":
        cursor = await driver.executemany(sql, rows)
        await cursor.close()
    else:
        await driver.executemany(sql, rows)
