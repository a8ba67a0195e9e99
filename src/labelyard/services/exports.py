"""Exports as an API resource: queue one, read its status, progress, report and download URL.

A worker runs them (``services.export_runs``); see docs/exports.md.
"""

from __future__ import annotations

from typing import Any

from labelyard.blobs import BlobStore
from labelyard.core.ids import new_id, require_uuid
from labelyard.core.model import Project, rfc3339
from labelyard.errors import NotFound
from labelyard.exports.spec import ExportSpec, check_base
from labelyard.services import utcnow
from labelyard.services.results import result_url
from labelyard.store import Record
from labelyard.store import batches as batch_store
from labelyard.store import exports as store
from labelyard.store.engine import Database

EMPTY_REPORT = {"skipped": [], "skipped_total": 0, "truncated": False}


def _view(row: Record, blobs: BlobStore, base_url: str) -> dict[str, Any]:
    """An export as the API answers it (API.md section 1: SDK-safe keys only)."""
    done = row.status == store.DONE
    return {
        "export_id": row.id,
        "project_id": row.project_id,
        "format": row.format,
        "batch_id": row.batch_id,
        "statuses": list(row.statuses),
        "status": row.status,
        "total_jobs": max(int(row.total_jobs), int(row.done_jobs)),
        "done_jobs": int(row.done_jobs),
        "skipped_jobs": int(row.skipped_jobs),
        "report": row.report or EMPTY_REPORT,
        "download_url": result_url(blobs, base_url, row.result_key) if done else "",
        "error": row.error,
        "created_at": rfc3339(row.created_at),
        "updated_at": rfc3339(row.updated_at),
        "finished_at": rfc3339(row.finished_at) if row.finished_at else None,
    }


async def create_export(
    db: Database, blobs: BlobStore, project: Project, spec: ExportSpec, *, base_url: str
) -> dict[str, Any]:
    """Queue an export of the project for a worker."""
    check_base(spec.format, project.base)
    export_id = new_id()
    now = utcnow()
    async with db.write() as conn:
        if spec.batch_id is not None:
            found = await batch_store.get_batch(conn, project_id=project.id, id=spec.batch_id)
            if found is None:
                raise NotFound("no such batch in this project")
        await store.insert_export(
            conn,
            project_id=project.id,
            id=export_id,
            format=spec.format.value,
            batch_id=spec.batch_id,
            statuses=list(spec.statuses),
            status=store.QUEUED,
            total_jobs=0,
            done_jobs=0,
            skipped_jobs=0,
            created_at=now,
            updated_at=now,
        )
        row = await store.get_export(conn, project_id=project.id, id=export_id)
    assert row is not None
    return _view(row, blobs, base_url)


async def get_export(
    db: Database, blobs: BlobStore, project: Project, *, export_id: str, base_url: str
) -> dict[str, Any]:
    """An export's status, progress, report and (once done) download URL."""
    export_id = require_uuid(export_id, "export_id")
    async with db.read() as conn:
        row = await store.get_export(conn, project_id=project.id, id=export_id)
    if row is None:
        raise NotFound("no such export in this project")
    return _view(row, blobs, base_url)
