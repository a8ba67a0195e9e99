"""Web sessions ended before they expired (signed out): their nonces, until they expire."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from labelyard.store.tables import revoked_session


async def revoke_session(
    conn: AsyncConnection, *, nonce: str, expires_at: datetime, now: datetime
) -> None:
    """Record that the session ``nonce`` has ended; forget sessions that expired anyway."""
    await conn.execute(delete(revoked_session).where(revoked_session.c.expires_at < now))
    exists = select(revoked_session.c.nonce).where(revoked_session.c.nonce == nonce)
    if await conn.scalar(exists) is None:
        await conn.execute(revoked_session.insert().values(nonce=nonce, expires_at=expires_at))


async def session_revoked(conn: AsyncConnection, *, nonce: str) -> bool:
    """True if the session ``nonce`` was signed out."""
    query = select(revoked_session.c.nonce).where(revoked_session.c.nonce == nonce)
    return await conn.scalar(query) is not None
