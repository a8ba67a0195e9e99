"""The audit log: every admin and owner action, written in the transaction of the action.

Services that change something an owner or the admin controls call ``record`` inside their
write transaction, so an action and its entry are committed together or not at all. Listings
go newest first, a page at a time, with keyset page tokens like the other listings.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from labelyard.core.audit import Actor, redact
from labelyard.core.ids import new_id, require_uuid
from labelyard.core.model import Project, rfc3339
from labelyard.core.pagination import decode_token, encode_token, parse_limit
from labelyard.store import Record
from labelyard.store import audit as store
from labelyard.store.engine import Database

_QUERY = "audit"


async def record(
    conn: AsyncConnection,
    actor: Actor,
    *,
    action: str,
    account_id: str | None,
    project_id: str | None = None,
    target_type: str,
    target_id: str = "",
    summary: Mapping[str, Any] | None = None,
    now: datetime,
) -> None:
    """Append one entry in the caller's transaction (``summary`` passes through ``redact``)."""
    await store.append_entry(
        conn,
        id=new_id(),
        account_id=account_id,
        project_id=project_id,
        actor_kind=actor.kind,
        actor_id=actor.id,
        address=actor.address[:64],
        action=action,
        target_type=target_type,
        target_id=target_id,
        summary=redact(dict(summary or {})),
        created_at=now,
    )


async def record_in(
    conn: AsyncConnection,
    actor: Actor,
    project: Project,
    *,
    action: str,
    target_type: str,
    target_id: str = "",
    summary: Mapping[str, Any] | None = None,
    now: datetime,
) -> None:
    """``record`` an action on something of ``project`` (filed under it and its account)."""
    await record(
        conn,
        actor,
        action=action,
        account_id=project.account_id,
        project_id=project.id,
        target_type=target_type,
        target_id=target_id,
        summary=summary,
        now=now,
    )


def view(row: Record) -> dict[str, Any]:
    """An entry as the API shows it."""
    return {
        "id": row.id,
        "account_id": row.account_id,
        "project_id": row.project_id,
        "actor": {"kind": row.actor_kind, "id": row.actor_id, "address": row.address},
        "action": row.action,
        "target": {"type": row.target_type, "id": row.target_id},
        "summary": row.summary,
        "created_at": rfc3339(row.created_at),
    }


async def _page(
    db: Database,
    *,
    scope: str,
    account_id: str | None,
    project_id: str | None,
    page_token: str | None,
    limit: str | None,
    token_key: bytes,
) -> dict[str, Any]:
    size = parse_limit(limit)
    before = decode_token(token_key, page_token or "", batch_id=scope, query=_QUERY)
    async with db.read() as conn:
        rows = await store.list_entries(
            conn, account_id=account_id, project_id=project_id, before=before, limit=size + 1
        )
    more = len(rows) > size
    rows = rows[:size]
    token = ""
    if more:
        token = encode_token(token_key, batch_id=scope, query=_QUERY, position=rows[-1].seq)
    return {"entries": [view(row) for row in rows], "next_page_token": token}


async def project_log(
    db: Database,
    project: Project,
    *,
    page_token: str | None,
    limit: str | None,
    token_key: bytes,
) -> dict[str, Any]:
    """The project's entries and its account's account-wide ones, newest first."""
    return await _page(
        db,
        scope=f"audit:{project.id}",
        account_id=project.account_id,
        project_id=project.id,
        page_token=page_token,
        limit=limit,
        token_key=token_key,
    )


async def admin_log(
    db: Database,
    *,
    account_id: str | None,
    page_token: str | None,
    limit: str | None,
    token_key: bytes,
) -> dict[str, Any]:
    """Every entry, or one account's, newest first."""
    account = require_uuid(account_id, "account_id") if account_id else None
    return await _page(
        db,
        scope=f"audit-admin:{account or ''}",
        account_id=account,
        project_id=None,
        page_token=page_token,
        limit=limit,
        token_key=token_key,
    )


async def latest(db: Database, *, account_id: str | None, limit: int) -> list[dict[str, Any]]:
    """The newest ``limit`` entries, of every account or one (for the command line)."""
    account = require_uuid(account_id, "account_id") if account_id else None
    async with db.read() as conn:
        rows = await store.list_entries(
            conn, account_id=account, project_id=None, before=0, limit=limit
        )
    return [view(row) for row in rows]
