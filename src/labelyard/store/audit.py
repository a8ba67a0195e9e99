"""The audit log: appended to, listed newest first; never changed (there is no function to)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from labelyard.store import Record
from labelyard.store.tables import audit_entry


async def append_entry(conn: AsyncConnection, **values: Any) -> None:
    """Add one entry (the table's columns but ``seq``, which the database hands out)."""
    await conn.execute(audit_entry.insert().values(**values))


async def list_entries(
    conn: AsyncConnection,
    *,
    account_id: str | None,
    project_id: str | None,
    before: int,
    limit: int,
) -> list[Record]:
    """Entries newest first, below position ``before`` (0: from the newest).

    With ``project_id``: that project's entries and its account's account-wide ones (keys,
    workers); with only ``account_id``: the account's; with neither: every entry.
    """
    query = select(audit_entry)
    if project_id is not None:
        query = query.where(
            audit_entry.c.account_id == account_id,
            or_(audit_entry.c.project_id == project_id, audit_entry.c.project_id.is_(None)),
        )
    elif account_id is not None:
        query = query.where(audit_entry.c.account_id == account_id)
    if before:
        query = query.where(audit_entry.c.seq < before)
    query = query.order_by(audit_entry.c.seq.desc()).limit(limit)
    return list((await conn.execute(query)).all())
