"""Storage connections of accounts (their secrets only ever in sealed form)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from labelyard.errors import InvalidInput
from labelyard.store import Record
from labelyard.store.tables import storage_connection

PUBLIC_COLUMNS = (
    storage_connection.c.id,
    storage_connection.c.account_id,
    storage_connection.c.scheme,
    storage_connection.c.endpoint_url,
    storage_connection.c.region,
    storage_connection.c.bucket_prefix,
    storage_connection.c.access_key_id,
    storage_connection.c.created_at,
)


async def insert_connection(
    conn: AsyncConnection,
    *,
    id: str,
    account_id: str,
    scheme: str,
    endpoint_url: str,
    region: str,
    bucket_prefix: str,
    access_key_id: str,
    secret_sealed: str,
    now: datetime,
) -> None:
    """Store a connection; ``InvalidInput`` if the account has one for this scheme and prefix."""
    try:
        await conn.execute(
            storage_connection.insert().values(
                id=id,
                account_id=account_id,
                scheme=scheme,
                endpoint_url=endpoint_url,
                region=region,
                bucket_prefix=bucket_prefix,
                access_key_id=access_key_id,
                secret_sealed=secret_sealed,
                created_at=now,
            )
        )
    except IntegrityError:  # the transaction is spoilt: the caller's rolls back on this error
        raise InvalidInput(
            f"the account already has a {scheme} connection for bucket prefix {bucket_prefix!r}"
        ) from None


async def list_connections(conn: AsyncConnection, *, account_id: str) -> list[Record]:
    """The account's connections without their secrets, oldest first."""
    query = (
        select(*PUBLIC_COLUMNS)
        .where(storage_connection.c.account_id == account_id)
        .order_by(storage_connection.c.created_at, storage_connection.c.id)
    )
    return list((await conn.execute(query)).all())


async def connections_with_secrets(conn: AsyncConnection, *, account_id: str) -> list[Record]:
    """The account's connections with their sealed secrets, for signing links."""
    query = select(*PUBLIC_COLUMNS, storage_connection.c.secret_sealed).where(
        storage_connection.c.account_id == account_id
    )
    return list((await conn.execute(query)).all())


async def delete_connection(conn: AsyncConnection, *, account_id: str, id: str) -> bool:
    """Remove one of the account's connections; False if it has none of this id."""
    result = await conn.execute(
        delete(storage_connection).where(
            storage_connection.c.account_id == account_id, storage_connection.c.id == id
        )
    )
    return result.rowcount == 1
