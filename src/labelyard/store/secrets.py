"""Server-wide secrets kept in the database, so every replica signs with the same key."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from labelyard.store.tables import server_secret


async def get_or_create_secret(
    conn: AsyncConnection, *, name: str, factory: Callable[[], str]
) -> str:
    """The secret called ``name``, created with ``factory()`` by whichever process asks first."""
    query = select(server_secret.c.value).where(server_secret.c.name == name)
    value = await conn.scalar(query)
    if value is not None:
        return str(value)
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    await conn.execute(
        insert(server_secret).values(name=name, value=factory()).on_conflict_do_nothing()
    )
    value = await conn.scalar(query)
    assert value is not None
    return str(value)
