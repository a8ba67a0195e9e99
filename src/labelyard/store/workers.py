"""Workers (annotators, reviewers, programs) of an account; tokens stored as digests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from labelyard.errors import Conflict
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
    conn: AsyncConnection,
    *,
    project_id: str,
    token_hash: str | None = None,
    worker_id: str | None = None,
) -> Record | None:
    """The live worker holding this token (or of this id), with the project (NULLs if none),
    in one query."""
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
            project.c.quality,
        )
        .select_from(worker.outerjoin(project, project.c.id == project_id))
        .where(_who(worker_id, token_hash, None), worker.c.revoked_at.is_(None))
    )
    return (await conn.execute(query)).first()


def _who(worker_id: str | None, token_hash: str | None, username: str | None) -> Any:
    if worker_id is not None:
        return worker.c.id == worker_id
    if token_hash is not None:
        return worker.c.token_hash == token_hash
    return worker.c.username == username


async def live_worker(
    conn: AsyncConnection,
    *,
    worker_id: str | None = None,
    token_hash: str | None = None,
    username: str | None = None,
) -> Record | None:
    """A worker that is not revoked, found by id, token digest or username."""
    query = select(
        worker.c.id,
        worker.c.account_id,
        worker.c.name,
        worker.c.role,
        worker.c.username,
        worker.c.password_hash,
        worker.c.token_hash,
    ).where(_who(worker_id, token_hash, username), worker.c.revoked_at.is_(None))
    return (await conn.execute(query)).first()


async def set_login(
    conn: AsyncConnection, *, worker_id: str, username: str, password_hash: str
) -> bool:
    """Give a live worker a username and password; False if there is no such worker,
    ``Conflict`` if another worker (revoked ones included) has the username."""
    try:
        result = await conn.execute(
            update(worker)
            .where(worker.c.id == worker_id, worker.c.revoked_at.is_(None))
            .values(username=username, password_hash=password_hash)
        )
    except IntegrityError:  # the transaction is spoilt: the caller's rolls back on this error
        raise Conflict(f"the username {username!r} is taken") from None
    return result.rowcount == 1


async def revoke_worker(conn: AsyncConnection, *, worker_id: str, now: datetime) -> bool:
    """Revoke a live worker; False if there is no such worker."""
    result = await conn.execute(
        update(worker)
        .where(worker.c.id == worker_id, worker.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return result.rowcount == 1


async def live_ids(conn: AsyncConnection, *, account_id: str, ids: list[str]) -> set[str]:
    """Which of ``ids`` are live workers of the account."""
    if not ids:
        return set()
    query = select(worker.c.id).where(
        worker.c.account_id == account_id, worker.c.id.in_(ids), worker.c.revoked_at.is_(None)
    )
    return {row[0] for row in await conn.execute(query)}


async def names_of(conn: AsyncConnection, *, account_id: str) -> dict[str, str]:
    """The account's workers' names by id (revoked ones too, for old records)."""
    query = select(worker.c.id, worker.c.name).where(worker.c.account_id == account_id)
    return {row[0]: row[1] for row in await conn.execute(query)}


async def live_of_account(conn: AsyncConnection, *, account_id: str) -> list[Record]:
    """The account's live workers (id, name, role), by name."""
    query = (
        select(worker.c.id, worker.c.name, worker.c.role)
        .where(worker.c.account_id == account_id, worker.c.revoked_at.is_(None))
        .order_by(worker.c.name, worker.c.id)
    )
    return list((await conn.execute(query)).all())
