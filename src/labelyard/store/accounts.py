"""Accounts and their API keys (stored as SHA-256 digests, never in plaintext)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from labelyard.store import Record
from labelyard.store.tables import account, api_key


async def insert_account(conn: AsyncConnection, *, id: str, name: str, now: datetime) -> None:
    """Store a new account."""
    await conn.execute(account.insert().values(id=id, name=name, created_at=now))


async def account_exists(conn: AsyncConnection, *, id: str) -> bool:
    """True if the account exists."""
    found = await conn.scalar(select(account.c.id).where(account.c.id == id))
    return found is not None


async def find_account_by_name(conn: AsyncConnection, *, name: str) -> str | None:
    """The id of the oldest account with this name, if any."""
    query = (
        select(account.c.id)
        .where(account.c.name == name)
        .order_by(account.c.created_at, account.c.id)
        .limit(1)
    )
    return await conn.scalar(query)


async def any_account(conn: AsyncConnection) -> bool:
    """True once any account exists."""
    return (await conn.scalar(select(account.c.id).limit(1))) is not None


async def insert_api_key(
    conn: AsyncConnection, *, id: str, account_id: str, key_hash: str, prefix: str, now: datetime
) -> None:
    """Store a key's digest (the plaintext is shown to its owner once and never kept)."""
    await conn.execute(
        api_key.insert().values(
            id=id, account_id=account_id, key_hash=key_hash, prefix=prefix, created_at=now
        )
    )


async def revoke_api_key(conn: AsyncConnection, *, id: str, now: datetime) -> str | None:
    """Revoke a key; its account, or None if no such live key."""
    live = (api_key.c.id == id, api_key.c.revoked_at.is_(None))
    account_id = await conn.scalar(select(api_key.c.account_id).where(*live))
    if account_id is None:
        return None
    result = await conn.execute(update(api_key).where(*live).values(revoked_at=now))
    return str(account_id) if result.rowcount == 1 else None


async def account_of_key(conn: AsyncConnection, *, key_hash: str) -> str | None:
    """The account a live key belongs to."""
    query = select(api_key.c.account_id).where(
        api_key.c.key_hash == key_hash, api_key.c.revoked_at.is_(None)
    )
    return await conn.scalar(query)


async def live_key(conn: AsyncConnection, *, key_hash: str) -> Record | None:
    """The id and account of a live key."""
    query = select(api_key.c.id, api_key.c.account_id).where(
        api_key.c.key_hash == key_hash, api_key.c.revoked_at.is_(None)
    )
    return (await conn.execute(query)).first()
