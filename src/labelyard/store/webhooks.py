"""Webhook endpoints, their deliveries (one per event and endpoint) and delivery attempts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from labelyard.store import Record
from labelyard.store.tables import event, webhook_attempt, webhook_delivery, webhook_endpoint


async def insert_endpoint(conn: AsyncConnection, **values: Any) -> None:
    """Store an endpoint."""
    await conn.execute(webhook_endpoint.insert().values(**values))


async def list_endpoints(
    conn: AsyncConnection, *, project_id: str, kind: str | None = None
) -> list[Record]:
    """The project's endpoints, oldest first."""
    query = select(webhook_endpoint).where(webhook_endpoint.c.project_id == project_id)
    if kind:
        query = query.where(webhook_endpoint.c.kind == kind)
    return list((await conn.execute(query.order_by(webhook_endpoint.c.created_at))).all())


async def get_endpoint(conn: AsyncConnection, *, project_id: str, id: str) -> Record | None:
    """One endpoint of the project."""
    query = select(webhook_endpoint).where(
        webhook_endpoint.c.project_id == project_id, webhook_endpoint.c.id == id
    )
    return (await conn.execute(query)).first()


async def plain_secrets(conn: AsyncConnection, *, prefix: str) -> list[Record]:
    """Endpoints whose signing secret is stored plainly (it starts with ``prefix``)."""
    query = select(
        webhook_endpoint.c.project_id, webhook_endpoint.c.id, webhook_endpoint.c.secret
    ).where(webhook_endpoint.c.secret.startswith(prefix, autoescape=True))
    return list((await conn.execute(query)).all())


async def update_endpoint(
    conn: AsyncConnection, *, project_id: str, id: str, **values: Any
) -> bool:
    """Change an endpoint; False if there is none."""
    result = await conn.execute(
        update(webhook_endpoint)
        .where(webhook_endpoint.c.project_id == project_id, webhook_endpoint.c.id == id)
        .values(**values)
    )
    return result.rowcount == 1


async def delete_endpoint(conn: AsyncConnection, *, project_id: str, id: str) -> bool:
    """Remove an endpoint and its pending deliveries; False if there is none."""
    await conn.execute(
        delete(webhook_delivery).where(
            webhook_delivery.c.project_id == project_id,
            webhook_delivery.c.endpoint_id == id,
            webhook_delivery.c.status == "pending",
        )
    )
    result = await conn.execute(
        delete(webhook_endpoint).where(
            webhook_endpoint.c.project_id == project_id, webhook_endpoint.c.id == id
        )
    )
    return result.rowcount == 1


async def insert_deliveries(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    """Queue deliveries; one already queued for the same endpoint and event is kept as is."""
    if not rows:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(webhook_delivery).on_conflict_do_nothing(
        index_elements=["project_id", "endpoint_id", "event_seq"]
    )
    await conn.execute(statement, list(rows))


async def claim_due(
    conn: AsyncConnection, *, now: datetime, until: datetime, limit: int
) -> list[Record]:
    """Lease up to ``limit`` due deliveries to this worker (until ``until``) and return them."""
    query = (
        select(webhook_delivery.c.project_id, webhook_delivery.c.id)
        .where(
            webhook_delivery.c.status == "pending",
            webhook_delivery.c.next_attempt_at <= now,
            or_(webhook_delivery.c.locked_until.is_(None), webhook_delivery.c.locked_until <= now),
        )
        .order_by(webhook_delivery.c.next_attempt_at)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    keys = list((await conn.execute(query)).all())
    if not keys:
        return []
    for key in keys:
        await conn.execute(
            update(webhook_delivery)
            .where(webhook_delivery.c.project_id == key.project_id, webhook_delivery.c.id == key.id)
            .values(locked_until=until)
        )
    ids = [key.id for key in keys]
    full = (
        select(
            webhook_delivery,
            webhook_endpoint.c.url,
            webhook_endpoint.c.kind,
            webhook_endpoint.c.secret,
            webhook_endpoint.c.enabled,
            webhook_endpoint.c.failing_since,
            event.c.type.label("event_type"),
            event.c.body.label("event_body"),
            event.c.created_at.label("event_created_at"),
        )
        .select_from(
            webhook_delivery.outerjoin(
                webhook_endpoint,
                (webhook_endpoint.c.project_id == webhook_delivery.c.project_id)
                & (webhook_endpoint.c.id == webhook_delivery.c.endpoint_id),
            ).join(
                event,
                (event.c.project_id == webhook_delivery.c.project_id)
                & (event.c.seq == webhook_delivery.c.event_seq),
            )
        )
        .where(webhook_delivery.c.id.in_(ids))
    )
    return list((await conn.execute(full)).all())


async def update_delivery(
    conn: AsyncConnection, *, project_id: str, id: str, **values: Any
) -> None:
    """Change a delivery."""
    await conn.execute(
        update(webhook_delivery)
        .where(webhook_delivery.c.project_id == project_id, webhook_delivery.c.id == id)
        .values(**values)
    )


async def insert_attempt(conn: AsyncConnection, **values: Any) -> None:
    """Log one delivery attempt."""
    await conn.execute(webhook_attempt.insert().values(**values))


async def list_attempts(
    conn: AsyncConnection, *, project_id: str, endpoint_id: str, limit: int
) -> list[Record]:
    """The endpoint's latest attempts, newest first."""
    query = (
        select(webhook_attempt)
        .where(
            webhook_attempt.c.project_id == project_id,
            webhook_attempt.c.endpoint_id == endpoint_id,
        )
        .order_by(webhook_attempt.c.created_at.desc())
        .limit(limit)
    )
    return list((await conn.execute(query)).all())


async def list_deliveries(
    conn: AsyncConnection, *, project_id: str, endpoint_id: str, status: str | None, limit: int
) -> list[Record]:
    """The endpoint's deliveries, newest event first."""
    query = select(webhook_delivery).where(
        webhook_delivery.c.project_id == project_id, webhook_delivery.c.endpoint_id == endpoint_id
    )
    if status:
        query = query.where(webhook_delivery.c.status == status)
    query = query.order_by(webhook_delivery.c.event_seq.desc()).limit(limit)
    return list((await conn.execute(query)).all())


async def requeue(
    conn: AsyncConnection,
    *,
    project_id: str,
    endpoint_id: str,
    now: datetime,
    event_seq: int | None = None,
) -> int:
    """Deliver again: one event's delivery, or every failed one of the endpoint."""
    query = update(webhook_delivery).where(
        webhook_delivery.c.project_id == project_id, webhook_delivery.c.endpoint_id == endpoint_id
    )
    if event_seq is None:
        query = query.where(webhook_delivery.c.status == "failed")
    else:
        query = query.where(webhook_delivery.c.event_seq == event_seq)
    result = await conn.execute(
        query.values(
            status="pending", attempts=0, next_attempt_at=now, locked_until=None, updated_at=now
        )
    )
    return int(result.rowcount)
