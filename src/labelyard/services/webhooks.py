"""Webhook endpoints of a project (x-api-key): create, list, change, delete, rotate, redeliver."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from labelyard.core import events as rules
from labelyard.core.audit import Actor, safe_url
from labelyard.core.commands import Redeliver, WebhookCreate, WebhookUpdate
from labelyard.core.ids import new_id, require_uuid
from labelyard.core.model import Project, rfc3339
from labelyard.core.pagination import parse_limit
from labelyard.errors import InvalidInput, NotFound
from labelyard.secretbox import SecretBox
from labelyard.services import audit, utcnow
from labelyard.store import Record
from labelyard.store import events as event_store
from labelyard.store import webhooks as store
from labelyard.store.engine import Database

WEBHOOK, CALLBACK = "webhook", "callback"


def _view(row: Record) -> dict[str, Any]:
    return {
        "id": row.id,
        "url": row.url,
        "event_types": list(row.event_types),
        "description": row.description,
        "enabled": bool(row.enabled),
        "disabled_reason": row.disabled_reason or "",
        "failing_since": rfc3339(row.failing_since) if row.failing_since else "",
        "created_at": rfc3339(row.created_at),
        "updated_at": rfc3339(row.updated_at),
    }


def _new_secret(box: SecretBox) -> tuple[str, str]:
    """A new signing secret and its sealed form (the only one stored)."""
    secret = rules.new_secret(secrets.token_bytes(24))
    return secret, box.seal(secret)


def signing_secret(box: SecretBox, stored: str) -> str:
    """The secret to sign deliveries with, from its stored (sealed) form; endpoints made before
    secrets were sealed hold it plainly until ``seal_plain_secrets`` runs."""
    return stored if stored.startswith(rules.SECRET_PREFIX) else box.open(stored)


async def seal_plain_secrets(db: Database, box: SecretBox) -> int:
    """Seal the signing secrets still stored plainly (endpoints made by older versions)."""
    async with db.write() as conn:
        plain = await store.plain_secrets(conn, prefix=rules.SECRET_PREFIX)
        for row in plain:
            await store.update_endpoint(
                conn, project_id=row.project_id, id=row.id, secret=box.seal(row.secret)
            )
    return len(plain)


async def create_endpoint(
    db: Database, box: SecretBox, project: Project, hook: WebhookCreate, *, actor: Actor
) -> dict[str, Any]:
    """A new endpoint; its signing secret is in this answer only."""
    endpoint_id, now = new_id(), utcnow()
    secret, sealed = _new_secret(box)
    async with db.write() as conn:
        await store.insert_endpoint(
            conn,
            project_id=project.id,
            id=endpoint_id,
            kind=WEBHOOK,
            url=hook.url,
            event_types=hook.event_types,
            description=hook.description,
            secret=sealed,
            enabled=True,
            created_at=now,
            updated_at=now,
        )
        row = await store.get_endpoint(conn, project_id=project.id, id=endpoint_id)
        summary = {"url": safe_url(hook.url), "event_types": hook.event_types}
        await _record(conn, actor, project, "webhook.create", endpoint_id, summary, now)
    assert row is not None
    return _view(row) | {"secret": secret}


async def _record(
    conn: AsyncConnection,
    actor: Actor,
    project: Project,
    action: str,
    endpoint_id: str,
    summary: dict[str, Any],
    now: datetime,
) -> None:
    await audit.record_in(
        conn,
        actor,
        project,
        action=action,
        target_type="webhook",
        target_id=endpoint_id,
        summary=summary,
        now=now,
    )


async def _get(db: Database, project: Project, endpoint_id: str) -> Record:
    async with db.read() as conn:
        row = await store.get_endpoint(
            conn, project_id=project.id, id=require_uuid(endpoint_id, "webhook_id")
        )
    if row is None or row.kind != WEBHOOK:
        raise NotFound("no such webhook in this project")
    return row


async def list_endpoints(db: Database, project: Project) -> dict[str, Any]:
    """The project's webhook endpoints (without secrets)."""
    async with db.read() as conn:
        rows = await store.list_endpoints(conn, project_id=project.id, kind=WEBHOOK)
    return {"webhooks": [_view(row) for row in rows]}


async def get_endpoint(db: Database, project: Project, *, endpoint_id: str) -> dict[str, Any]:
    """One endpoint, with whether it is enabled and why not."""
    return _view(await _get(db, project, endpoint_id))


async def update_endpoint(
    db: Database, project: Project, *, endpoint_id: str, change: WebhookUpdate, actor: Actor
) -> dict[str, Any]:
    """Change url, event_types, description or enabled; enabling clears the failure state."""
    row = await _get(db, project, endpoint_id)
    values: dict[str, Any] = {"updated_at": utcnow()}
    if change.url is not None:
        values["url"] = change.url
    if change.event_types is not None:
        values["event_types"] = change.event_types
    if change.description is not None:
        values["description"] = change.description
    if change.enabled is not None:
        values["enabled"] = change.enabled
        if change.enabled:
            values |= {"disabled_reason": None, "failing_since": None}
        else:
            values["disabled_reason"] = "disabled by the owner"
    async with db.write() as conn:
        await store.update_endpoint(conn, project_id=project.id, id=row.id, **values)
        updated = await store.get_endpoint(conn, project_id=project.id, id=row.id)
        summary = {k: v for k, v in values.items() if k in ("event_types", "enabled")}
        if "url" in values:
            summary["url"] = safe_url(values["url"])
        if "description" in values:
            summary["description"] = values["description"]
        await _record(conn, actor, project, "webhook.update", row.id, summary, values["updated_at"])
    assert updated is not None
    return _view(updated)


async def delete_endpoint(
    db: Database, project: Project, *, endpoint_id: str, actor: Actor
) -> dict[str, Any]:
    """Remove an endpoint; its pending deliveries are dropped."""
    row = await _get(db, project, endpoint_id)
    async with db.write() as conn:
        await store.delete_endpoint(conn, project_id=project.id, id=row.id)
        summary = {"url": safe_url(row.url)}
        await _record(conn, actor, project, "webhook.delete", row.id, summary, utcnow())
    return {"id": row.id, "deleted": True}


async def rotate_secret(
    db: Database, box: SecretBox, project: Project, *, endpoint_id: str, actor: Actor
) -> dict[str, Any]:
    """A new signing secret (shown once); deliveries from now on are signed with it."""
    row = await _get(db, project, endpoint_id)
    secret, sealed = _new_secret(box)
    now = utcnow()
    async with db.write() as conn:
        await store.update_endpoint(
            conn, project_id=project.id, id=row.id, secret=sealed, updated_at=now
        )
        await _record(conn, actor, project, "webhook.rotate_secret", row.id, {}, now)
    return {"id": row.id, "secret": secret}


async def attempts(
    db: Database, project: Project, *, endpoint_id: str, limit: str | None
) -> dict[str, Any]:
    """The endpoint's delivery log, newest first."""
    row = await _get(db, project, endpoint_id)
    async with db.read() as conn:
        rows = await store.list_attempts(
            conn, project_id=project.id, endpoint_id=row.id, limit=parse_limit(limit)
        )
    return {
        "attempts": [
            {
                "event_id": a.event_id,
                "attempt": a.attempt,
                "status_code": a.status_code,
                "latency_ms": a.latency_ms,
                "response_snippet": a.response_snippet or "",
                "error": a.error or "",
                "created_at": rfc3339(a.created_at),
            }
            for a in rows
        ]
    }


async def deliveries(
    db: Database, project: Project, *, endpoint_id: str, status: str | None, limit: str | None
) -> dict[str, Any]:
    """The endpoint's deliveries (one per event), newest event first."""
    row = await _get(db, project, endpoint_id)
    if status and status not in ("pending", "succeeded", "failed"):
        raise InvalidInput("status must be pending, succeeded or failed")
    async with db.read() as conn:
        rows = await store.list_deliveries(
            conn, project_id=project.id, endpoint_id=row.id, status=status, limit=parse_limit(limit)
        )
    return {
        "deliveries": [
            {
                "event_id": d.event_id,
                "status": d.status,
                "attempts": d.attempts,
                "next_attempt_at": rfc3339(d.next_attempt_at) if d.status == "pending" else "",
                "last_status_code": d.last_status_code,
                "last_error": d.last_error or "",
            }
            for d in rows
        ]
    }


async def redeliver(
    db: Database, project: Project, *, endpoint_id: str, again: Redeliver, actor: Actor
) -> dict[str, Any]:
    """Deliver again: one event (even if sent before) or every failed delivery."""
    row = await _get(db, project, endpoint_id)
    now = utcnow()
    async with db.write() as conn:
        if again.failed or again.event_id is None:
            queued = await store.requeue(conn, project_id=project.id, endpoint_id=row.id, now=now)
            summary: dict[str, Any] = {"failed": True, "queued": queued}
            await _record(conn, actor, project, "webhook.redeliver", row.id, summary, now)
            return {"id": row.id, "queued": queued}
        found = await event_store.event_by_id(conn, project_id=project.id, event_id=again.event_id)
        if found is None:
            raise NotFound("no such event in this project")
        queued = await store.requeue(
            conn, project_id=project.id, endpoint_id=row.id, now=now, event_seq=found.seq
        )
        if queued == 0:
            await store.insert_deliveries(
                conn, [delivery_row(project.id, row.id, found.seq, found.id, now)]
            )
        summary = {"event_id": again.event_id, "queued": 1}
        await _record(conn, actor, project, "webhook.redeliver", row.id, summary, now)
    return {"id": row.id, "queued": 1}


def delivery_row(
    project_id: str, endpoint_id: str, event_seq: int, event_id: str, now: Any
) -> dict[str, Any]:
    """A new pending delivery of one event to one endpoint."""
    return {
        "project_id": project_id,
        "id": new_id(),
        "endpoint_id": endpoint_id,
        "event_seq": event_seq,
        "event_id": event_id,
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
        "updated_at": now,
    }


async def set_callback(
    db: Database, box: SecretBox, project: Project, url: str | None, *, actor: Actor
) -> dict[str, Any]:
    """The hosted API's legacy ``callback_url``: completed jobs, and jobs whose media failed, are
    posted to it (None removes it)."""
    now = utcnow()
    async with db.write() as conn:
        existing = await store.list_endpoints(conn, project_id=project.id, kind=CALLBACK)
        for row in existing:
            await store.delete_endpoint(conn, project_id=project.id, id=row.id)
        if url is None:
            for row in existing:
                summary = {"callback_url": ""}
                await _record(conn, actor, project, "callback.set", row.id, summary, now)
            return {"callback_url": ""}
        secret, sealed = _new_secret(box)
        endpoint_id = new_id()
        await store.insert_endpoint(
            conn,
            project_id=project.id,
            id=endpoint_id,
            kind=CALLBACK,
            url=url,
            event_types=list(rules.CALLBACK_EVENT_TYPES),
            description="legacy callback_url",
            secret=sealed,
            enabled=True,
            created_at=now,
            updated_at=now,
        )
        summary = {"callback_url": safe_url(url)}
        await _record(conn, actor, project, "callback.set", endpoint_id, summary, now)
    # The signing secret of the deliveries, shown this once (the hosted API's clients ignore
    # the extra field; a receiver that wants to can verify the webhook-signature header).
    return {"callback_url": url, "secret": secret}


async def get_callback(db: Database, project: Project) -> dict[str, Any]:
    """The project's callback_url, ``""`` if none, and its delivery state."""
    async with db.read() as conn:
        rows = await store.list_endpoints(conn, project_id=project.id, kind=CALLBACK)
    if not rows:
        return {"callback_url": "", "enabled": False, "disabled_reason": ""}
    row = rows[0]
    return {
        "callback_url": row.url,
        "enabled": bool(row.enabled),
        "disabled_reason": row.disabled_reason or "",
    }
