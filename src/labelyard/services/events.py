"""Writing events into the outbox (in the caller's transaction) and reading the change feed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from labelyard.core import events as rules
from labelyard.core import pagination
from labelyard.core.ids import new_time_ids
from labelyard.core.model import BatchCounters, Project, rfc3339
from labelyard.store import batches as batch_store
from labelyard.store import events as store
from labelyard.store import history as history_store
from labelyard.store.batches import COUNTER_COLUMNS
from labelyard.store.engine import Database

FEED_LIMIT, MAX_FEED_LIMIT = 100, 1000


async def emit(
    conn: AsyncConnection,
    *,
    project_id: str,
    events: Sequence[tuple[str, dict[str, Any]]],
    now: datetime,
) -> None:
    """Append events (type, body) to the project's outbox in the current transaction."""
    await store.insert_events(
        conn,
        project_id=project_id,
        events=[
            (event_id, kind, body)
            for event_id, (kind, body) in zip(new_time_ids(len(events), now), events, strict=True)
        ],
        now=now,
    )


async def emit_encoded(
    conn: AsyncConnection, *, project_id: str, kind: str, bodies: Sequence[str], now: datetime
) -> None:
    """``emit`` of events of one ``kind`` whose bodies are JSON text already."""
    await store.insert_encoded_events(
        conn,
        project_id=project_id,
        ids=new_time_ids(len(bodies), now),
        kind=kind,
        bodies=bodies,
        now=now,
    )


async def record(
    conn: AsyncConnection,
    job: Mapping[Any, Any],
    transitions: Sequence[dict[str, Any]],
    *,
    now: datetime,
    then: Sequence[tuple[str, dict[str, Any]]] = (),
) -> None:
    """Record transitions of ``job`` in its history and publish the events they make."""
    pairs = [(job, transition) for transition in transitions]
    await record_many(conn, str(job["project_id"]), pairs, now=now, then=then)


async def record_many(
    conn: AsyncConnection,
    project_id: str,
    changes: Sequence[tuple[Mapping[Any, Any], dict[str, Any]]],
    *,
    now: datetime,
    then: Sequence[tuple[str, dict[str, Any]]] = (),
) -> None:
    """Record ``(job, transition)`` pairs of one project and publish their events, in order,
    followed by ``then`` (the batch events that ``count`` returned)."""
    await history_store.insert_transitions(conn, [transition for _, transition in changes])
    published: list[tuple[str, dict[str, Any]]] = []
    for job, transition in changes:
        published += rules.job_events(transition, dict(job))
    await emit(conn, project_id=project_id, events=[*published, *then], now=now)


async def count(
    conn: AsyncConnection, *, project_id: str, batch_id: str, **deltas: int
) -> list[tuple[str, dict[str, Any]]]:
    """Change a batch's counters; ``[batch.completed]`` if that completed the batch, to pass on
    to ``record(..., then=...)``.

    Lock order: a change locks its job, then its batch (here), then the project's feed row
    (``record``/``emit``); creates lock batches then the feed too, so none of them deadlock.
    """
    row = await batch_store.add_to_counters(conn, project_id=project_id, id=batch_id, **deltas)
    after = BatchCounters(**{name: int(row._mapping[name]) for name in COUNTER_COLUMNS})
    before = BatchCounters(
        **{name: int(row._mapping[name]) - deltas.get(name, 0) for name in COUNTER_COLUMNS}
    )
    completed = rules.batch_completed(batch_id, before, after)
    return [completed] if completed is not None else []


async def changes(
    db: Database, project: Project, *, since: str | None, limit: str | None, token_key: bytes
) -> dict[str, Any]:
    """The change feed: events after ``since`` in order, and the token to continue from."""
    size = pagination.parse_limit(limit)
    scope = f"feed:{project.id}"
    after = pagination.decode_token(token_key, since or "", batch_id=scope, query="")
    async with db.read() as conn:
        rows = await store.list_events(conn, project_id=project.id, after=after, limit=size)
    last = rows[-1].seq if rows else after
    return {
        "events": [
            {
                "id": row.id,
                "type": row.type,
                "created_at": rfc3339(row.created_at),
                "data": row.body,
            }
            for row in rows
        ],
        "next_token": pagination.encode_token(token_key, batch_id=scope, query="", position=last),
    }
