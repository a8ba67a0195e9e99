"""The outbox: events numbered per project in commit order, and the change feed over them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from labelyard.store import Record
from labelyard.store.bulk import Converted, Same, insert_columns
from labelyard.store.tables import event, project_feed


async def insert_feed(conn: AsyncConnection, *, project_id: str) -> None:
    """The feed row of a new project."""
    await conn.execute(
        project_feed.insert().values(project_id=project_id, last_seq=0, fanout_seq=0)
    )


# Every event written takes its number here: built once.
_NUMBER = (
    update(project_feed)
    .where(project_feed.c.project_id == bindparam("f_project_id"))
    .values(last_seq=project_feed.c.last_seq + bindparam("count", type_=BigInteger))
    .returning(project_feed.c.last_seq)
)


async def insert_events(
    conn: AsyncConnection,
    *,
    project_id: str,
    events: Sequence[tuple[str, str, dict[str, Any]]],
    now: datetime,
) -> None:
    """Append ``(id, type, body)`` events to the project's outbox, in order.

    The numbers come from the project's feed row, updated (so locked) until commit: a reader of
    the feed never sees a later number before an earlier one is committed.
    """
    if not events:
        return
    result = await conn.execute(_NUMBER, {"f_project_id": project_id, "count": len(events)})
    first = int(result.scalar_one()) - len(events) + 1
    await insert_columns(
        conn,
        event,
        {
            "project_id": Same(project_id),
            "seq": list(range(first, first + len(events))),
            "id": [event_id for event_id, _, _ in events],
            "type": [kind for _, kind, _ in events],
            "body": [body for _, _, body in events],
            "created_at": Same(now),
        },
        count=len(events),
    )


async def insert_encoded_events(
    conn: AsyncConnection,
    *,
    project_id: str,
    ids: Sequence[str],
    kind: str,
    bodies: Sequence[str],
    now: datetime,
) -> None:
    """``insert_events`` of events of one ``kind`` whose bodies are JSON text already (a bulk
    create's ``job.created``: no dict kept per event)."""
    if not bodies:
        return
    result = await conn.execute(_NUMBER, {"f_project_id": project_id, "count": len(bodies)})
    first = int(result.scalar_one()) - len(bodies) + 1
    await insert_columns(
        conn,
        event,
        {
            "project_id": Same(project_id),
            "seq": range(first, first + len(bodies)),
            "id": ids,
            "type": Same(kind),
            "body": Converted(bodies),
            "created_at": Same(now),
        },
        count=len(bodies),
    )


async def list_events(
    conn: AsyncConnection, *, project_id: str, after: int, limit: int
) -> list[Record]:
    """Up to ``limit`` events of the project after number ``after``, in order."""
    query = (
        select(event)
        .where(event.c.project_id == project_id, event.c.seq > after)
        .order_by(event.c.seq)
        .limit(limit)
    )
    return list((await conn.execute(query)).all())


async def event_by_id(conn: AsyncConnection, *, project_id: str, event_id: str) -> Record | None:
    """One event of the project."""
    query = select(event).where(event.c.project_id == project_id, event.c.id == event_id)
    return (await conn.execute(query)).first()


async def feeds_to_fan_out(conn: AsyncConnection, *, limit: int) -> list[Record]:
    """Projects with events not yet turned into deliveries, locked (busy ones are skipped)."""
    query = (
        select(project_feed).where(project_feed.c.last_seq > project_feed.c.fanout_seq).limit(limit)
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return list((await conn.execute(query)).all())


async def set_fanout(conn: AsyncConnection, *, project_id: str, seq: int) -> None:
    """Record how far the project's events were fanned out."""
    await conn.execute(
        update(project_feed).where(project_feed.c.project_id == project_id).values(fanout_seq=seq)
    )
