"""Workers (annotators, reviewers, programs) of an account; tokens stored as digests."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from labelyard.store import Record
from labelyard.store.tables import worker


async def insert_worker(
    conn: AsyncConnection,
    *,
    id: str,
    account_id: str,
    name: str,
    role: str,
    token_hash: str,
    now: datetime,
) -> None:
    """Store a worker."""
    await conn.execute(
        worker.insert().values(
            id=id,
            account_id=account_id,
            name=name,
            role=role,
            token_hash=token_hash,
            created_at=now,
        )
    )


async def worker_by_token(conn: AsyncConnection, *, token_hash: str) -> Record | None:
    """The live worker holding this token."""
    query = select(worker.c.id, worker.c.account_id, worker.c.name, worker.c.role).where(
        worker.c.token_hash == token_hash, worker.c.revoked_at.is_(None)
    )
    return (await conn.execute(query)).first()
