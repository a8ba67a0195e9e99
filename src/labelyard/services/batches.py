"""Batches: create (API.md 3.1) and page through their jobs (API.md 3.5)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from labelyard.core import lifecycle, pagination
from labelyard.core.audit import Actor
from labelyard.core.commands import BatchCreate
from labelyard.core.ids import new_id, require_uuid
from labelyard.core.model import Project, ProjectKey
from labelyard.errors import LabelyardError, NotFound
from labelyard.services import accounts, audit, utcnow
from labelyard.store import batches as store
from labelyard.store import jobs as job_store
from labelyard.store import keyed
from labelyard.store.engine import Database


async def create_batch(
    db: Database, project: Project, batch: BatchCreate, *, actor: Actor
) -> dict[str, str]:
    """A new batch in the project; names are unique per project."""
    batch_id = new_id()
    now = utcnow()
    async with db.write() as conn:
        await store.insert_batch(
            conn,
            id=batch_id,
            project_id=project.id,
            name=batch.name,
            description=batch.description,
            label=batch.label,
            is_default=False,
            now=now,
        )
        await audit.record_in(
            conn,
            actor,
            project,
            action="batch.create",
            target_type="batch",
            target_id=batch_id,
            summary={"name": batch.name},
            now=now,
        )
    return {"batch_id": batch_id}


async def list_batch_jobs(
    db: Database,
    project: Project,
    *,
    batch_id: str,
    page_token: str | None,
    limit: str | None,
    status: str | None,
    token_key: bytes,
    base_url: str,
) -> dict[str, Any]:
    """One page of the batch's jobs in creation order, and the token of the next page.

    Each job's ``viewer_url`` is its page in the web UI, under ``base_url`` ("" gives a path).
    """
    batch_id = require_uuid(batch_id, "batch_id")
    size = pagination.parse_limit(limit)
    statuses = lifecycle.parse_statuses(status)
    query = pagination.query_of(statuses)
    after = pagination.decode_token(token_key, page_token or "", batch_id=batch_id, query=query)
    async with db.read() as conn:
        page = await job_store.page_jobs(
            conn,
            project_id=project.id,
            batch_id=batch_id,
            after=after,
            statuses=statuses,
            limit=size + 1,
        )
    if page is None:
        raise NotFound(f"no batch {batch_id} in this project")
    name, rows = page
    return _page(project.id, batch_id, name, rows, size, query, token_key, base_url)


async def list_batch_jobs_for_key(
    db: Database,
    key: ProjectKey,
    *,
    batch_id: str,
    page_token: str | None,
    limit: str | None,
    status: str | None,
    token_key: bytes,
    base_url: str,
) -> dict[str, Any]:
    """``list_batch_jobs`` for an API key: the key, the project, the batch and the page checked
    and read in one statement (``store.keyed``). The same answers, errors in the same order."""
    lookup = accounts.key_lookup(key)
    try:
        canonical = require_uuid(batch_id, "batch_id")
        size = pagination.parse_limit(limit)
        statuses = lifecycle.parse_statuses(status)
        query = pagination.query_of(statuses)
        after = pagination.decode_token(
            token_key, page_token or "", batch_id=canonical, query=query
        )
    except LabelyardError:
        lookup = None
    if lookup is None:  # refused: by the key check first, as every request is
        project = await accounts.authorize(db, api_key=key.api_key, project_id=key.project_id)
        return await list_batch_jobs(
            db,
            project,
            batch_id=batch_id,
            page_token=page_token,
            limit=limit,
            status=status,
            token_key=token_key,
            base_url=base_url,
        )
    key_hash, project_id = lookup
    page = await keyed.page_for_key(
        db,
        key_hash=key_hash,
        project_id=project_id,
        batch_id=canonical,
        after=after,
        statuses=statuses,
        limit=size + 1,
    )
    if page is None or page.project_id is None:
        accounts.refuse(key_found=page is not None)
    if page.name is None:
        raise NotFound(f"no batch {canonical} in this project")
    return _page(project_id, canonical, page.name, page.rows, size, query, token_key, base_url)


def _page(
    project_id: str,
    batch_id: str,
    name: str,
    rows: Sequence[Sequence[Any]],
    size: int,
    query: str,
    token_key: bytes,
    base_url: str,
) -> dict[str, Any]:
    """The page as API.md 3.5 shows it, from rows of the project id, the batch name, the keyset
    position and the job columns (``store.keyed.page_for_key``, ``store.jobs.page_jobs``)."""
    next_token = ""
    if len(rows) > size:
        rows = rows[:size]
        next_token = pagination.encode_token(
            token_key, batch_id=batch_id, query=query, position=rows[-1][2]
        )
    viewer = f"{base_url}/ui/projects/{project_id}/jobs/"
    return {
        "id": batch_id,
        "project_id": project_id,
        "name": name,
        "jobs": [
            {
                "id": job_id,
                "reference_id": ref,
                "status": job_status,
                "frames": frames,
                "annotations": notes,
                "priority_weight": weight,
                "tag": tag,
                "viewer_url": viewer + job_id,
            }
            for _, _, _, job_id, ref, job_status, frames, notes, weight, tag in rows
        ],
        "next_page_token": next_token,
    }
