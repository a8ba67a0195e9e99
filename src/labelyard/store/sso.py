"""Single sign-on providers (one per account) and the workers they may vouch for."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from labelyard.store import Record
from labelyard.store.tables import account, sso_provider, worker


async def get_provider(conn: AsyncConnection, *, account_id: str) -> Record | None:
    """The account's provider, if it has one."""
    query = select(sso_provider).where(sso_provider.c.account_id == account_id)
    return (await conn.execute(query)).first()


async def put_provider(
    conn: AsyncConnection, *, account_id: str, now: datetime, **values: Any
) -> None:
    """Create or replace the account's provider."""
    found = await get_provider(conn, account_id=account_id)
    if found is None:
        await conn.execute(
            sso_provider.insert().values(
                account_id=account_id, created_at=now, updated_at=now, **values
            )
        )
    else:
        await conn.execute(
            update(sso_provider)
            .where(sso_provider.c.account_id == account_id)
            .values(updated_at=now, **values)
        )


async def delete_provider(conn: AsyncConnection, *, account_id: str) -> bool:
    """Remove the account's provider; False if it had none."""
    result = await conn.execute(delete(sso_provider).where(sso_provider.c.account_id == account_id))
    return result.rowcount == 1


async def list_providers(conn: AsyncConnection) -> list[Record]:
    """Every provider's account and name (for the sign-in page)."""
    query = (
        select(sso_provider.c.account_id, sso_provider.c.name, account.c.name.label("account"))
        .join(account, account.c.id == sso_provider.c.account_id)
        .order_by(sso_provider.c.name, sso_provider.c.account_id)
    )
    return list((await conn.execute(query)).all())


async def workers_with_identity(
    conn: AsyncConnection, *, account_id: str, match: str, identity: str
) -> list[Record]:
    """The live workers of the account with this e-mail (any case) or subject."""
    column = worker.c.email if match == "email" else worker.c.sso_subject
    who = column == identity
    query = (
        select(worker)
        .where(worker.c.account_id == account_id, who, worker.c.revoked_at.is_(None))
        .limit(2)
    )
    return list((await conn.execute(query)).all())


async def set_identity(
    conn: AsyncConnection, *, worker_id: str, email: str | None, subject: str | None
) -> bool:
    """Set a live worker's e-mail and subject; False if there is no such worker."""
    result = await conn.execute(
        update(worker)
        .where(worker.c.id == worker_id, worker.c.revoked_at.is_(None))
        .values(email=email, sso_subject=subject)
    )
    return result.rowcount == 1
