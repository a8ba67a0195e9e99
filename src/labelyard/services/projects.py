"""Projects and workflows: creation (admin, CLI) and the read views of API.md 3.3 and 3.4."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncConnection

from labelyard.core import lifecycle
from labelyard.core.audit import Actor
from labelyard.core.ids import new_id, require_uuid
from labelyard.core.model import (
    DEFAULT_BATCH_NAME,
    DEFAULT_WORKFLOW_NAME,
    DEFAULT_WORKFLOW_STEPS,
    DEFAULT_WORKFLOW_TAG,
    Base,
    BatchCounters,
    Project,
    ProjectStats,
    rfc3339,
)
from labelyard.core.schema import parse_schema
from labelyard.core.validation import require_name
from labelyard.errors import InvalidInput, NotFound
from labelyard.services import accounts, audit, utcnow
from labelyard.store import accounts as account_store
from labelyard.store import batches as batch_store
from labelyard.store import events as event_store
from labelyard.store import projects as store
from labelyard.store.engine import Database


def parse_base(value: object) -> Base:
    """A project base type from its name."""
    try:
        return Base(str(value).upper())
    except ValueError:
        names = ", ".join(b.value for b in Base)
        raise InvalidInput(f"base must be one of {names}") from None


async def create_project(
    db: Database, *, name: object, base: object, actor: Actor, account_id: object = None
) -> dict[str, str]:
    """A project with its default workflow and batch, and a new API key for its account.

    Without ``account_id`` the ``default`` account is used, created if needed.
    """
    label = require_name(name)
    kind = parse_base(base)
    if account_id is None:
        account_id = await accounts.default_account(db)
    account = require_uuid(account_id, "account_id")
    project_id, workflow_id, batch_id = new_id(), new_id(), new_id()
    now = utcnow()
    async with db.write() as conn:
        if not await account_store.account_exists(conn, id=account):
            raise NotFound(f"no account {account}")
        await store.insert_project(
            conn, id=project_id, account_id=account, name=label, base=kind.value, now=now
        )
        await event_store.insert_feed(conn, project_id=project_id)
        await store.insert_workflow(
            conn,
            id=workflow_id,
            project_id=project_id,
            name=DEFAULT_WORKFLOW_NAME,
            tag=DEFAULT_WORKFLOW_TAG,
            steps=list(DEFAULT_WORKFLOW_STEPS),
            is_default=True,
            now=now,
        )
        await batch_store.insert_batch(
            conn,
            id=batch_id,
            project_id=project_id,
            name=DEFAULT_BATCH_NAME,
            description="",
            label="",
            is_default=True,
            now=now,
        )
        await audit.record(
            conn,
            actor,
            action="project.create",
            account_id=account,
            project_id=project_id,
            target_type="project",
            target_id=project_id,
            summary={"name": label, "base": kind.value},
            now=now,
        )
    key = await accounts.create_key(db, account_id=account, actor=actor)
    return {
        "account_id": account,
        "project_id": project_id,
        "work_flow_id": workflow_id,
        "default_batch_id": batch_id,
        "api_key": key.api_key,
    }


def _digest(value: Any) -> str:
    """A short digest telling versions of a document apart in the audit log."""
    return hashlib.sha256(orjson.dumps(value, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "workflow"


async def create_workflow(
    db: Database,
    *,
    project_id: object,
    name: object,
    actor: Actor,
    tag: object = None,
    steps: object = None,
) -> dict[str, Any]:
    """A new workflow of the project; its tag defaults to a slug of its name."""
    project = require_uuid(project_id, "project_id")
    label = require_name(name)
    tag_name = require_name(tag, "tag") if tag else _slug(label)
    route = lifecycle.parse_steps(steps)
    workflow_id = new_id()
    now = utcnow()
    async with db.write() as conn:
        row = await store.get_project(conn, id=project)
        if row is None:
            raise NotFound(f"no project {project}")
        await store.insert_workflow(
            conn,
            id=workflow_id,
            project_id=project,
            name=label,
            tag=tag_name,
            steps=route,
            is_default=False,
            now=now,
        )
        await audit.record(
            conn,
            actor,
            action="workflow.create",
            account_id=row.account_id,
            project_id=project,
            target_type="workflow",
            target_id=workflow_id,
            summary={"name": label, "tag": tag_name, "steps": route},
            now=now,
        )
    return {
        "work_flow_id": workflow_id,
        "project_id": project,
        "name": label,
        "tag": tag_name,
        "steps": route,
    }


def _counters(row: Any) -> BatchCounters:
    return BatchCounters(
        total_jobs=row.total_jobs,
        completed_jobs=row.completed_jobs,
        aborted_jobs=row.aborted_jobs,
        total_frames=row.total_frames,
        completed_frames=row.completed_frames,
        annotations=row.annotations,
    )


async def _batches(conn: AsyncConnection, project: Project) -> list[tuple[Any, BatchCounters]]:
    rows = await batch_store.list_batches(conn, project_id=project.id)
    return [(row, _counters(row)) for row in rows]


async def project_details(db: Database, project: Project) -> dict[str, Any]:
    """API.md 3.3: the project with every batch's counters (no scan of jobs)."""
    async with db.read() as conn:
        batches = await _batches(conn, project)
    return {
        "name": project.name,
        "base": project.base.value,
        "batches": [
            {
                "id": row.id,
                "name": row.name,
                "description": row.description,
                "is_default": bool(row.is_default),
                "total_jobs": counters.total_jobs,
                "completed_jobs": counters.completed_jobs,
                "total_frames": counters.total_frames,
                "completed_frames": counters.completed_frames,
                "annotations": counters.annotations,
                "created_at": rfc3339(row.created_at),
                "status": counters.status,
            }
            for row, counters in batches
        ],
    }


async def project_stats(db: Database, project: Project) -> dict[str, Any]:
    """API.md 3.4: the project's totals, summed over its batches' counters."""
    async with db.read() as conn:
        batches = await _batches(conn, project)
    stats = ProjectStats.from_batches(counters for _, counters in batches)
    return {
        "name": project.name,
        "base": project.base.value,
        "total_batches": stats.total_batches,
        "completed_batches": stats.completed_batches,
        "total_jobs": stats.total_jobs,
        "completed_jobs": stats.completed_jobs,
        "total_frames": stats.total_frames,
        "completed_frames": stats.completed_frames,
        "annotations": stats.annotations,
    }


async def set_label_schema(
    db: Database, *, project_id: object, schema: object, actor: Actor
) -> dict[str, Any]:
    """Replace the project's label schema (validated for its base type)."""
    project = require_uuid(project_id, "project_id")
    now = utcnow()
    async with db.write() as conn:
        row = await store.get_project(conn, id=project)
        if row is None:
            raise NotFound(f"no project {project}")
        parsed = parse_schema(schema, Base(row.base))
        await store.set_label_schema(conn, id=project, label_schema=parsed.to_json())
        await audit.record(
            conn,
            actor,
            action="schema.set",
            account_id=row.account_id,
            project_id=project,
            target_type="project",
            target_id=project,
            summary={"digest": _digest(parsed.to_json())},
            now=now,
        )
    return {"project_id": project, "schema": parsed.to_json()}


async def get_label_schema(db: Database, *, project_id: object) -> dict[str, Any]:
    """The project's label schema."""
    project = require_uuid(project_id, "project_id")
    async with db.read() as conn:
        row = await store.get_project(conn, id=project)
    if row is None:
        raise NotFound(f"no project {project}")
    return {
        "project_id": project,
        "schema": parse_schema(row.label_schema, Base(row.base)).to_json(),
    }
