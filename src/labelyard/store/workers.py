"""Workers (annotators, reviewers, programs) of an account; tokens stored as digests."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from labelyard.store import Record
from labelyard.store.tables import project, worker


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


async def worker_for_project(
    conn: AsyncConnection, *, token_hash: str, project_id: str
) -> Record | None:
    """The live worker holding this token, with the project (NULLs if none), in one query."""
    query = (
        select(
            worker.c.id,
            worker.c.account_id,
            worker.c.name,
            worker.c.role,
            project.c.id.label("project_id"),
            project.c.account_id.label("project_account_id"),
            project.c.base,
            project.c.label_schema,
        )
        .select_from(worker.outerjoin(project, project.c.id == project_id))
        .where(worker.c.token_hash == token_hash, worker.c.revoked_at.is_(None))
    )
    return (await conn.execute(query)).first()
