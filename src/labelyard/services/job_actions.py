"""What a project's owner (x-api-key) may do to jobs: abort, reopen, reprioritise, inspect."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from labelyard.core import lifecycle
from labelyard.core.audit import Actor
from labelyard.core.ids import require_uuid
from labelyard.core.model import JobStatus, Project, rfc3339
from labelyard.errors import NotFound
from labelyard.services import audit, utcnow
from labelyard.services.lifecycle import apply, apply_all, state_of
from labelyard.store import Record
from labelyard.store import batches as batch_store
from labelyard.store import history as history_store
from labelyard.store import jobs as job_store
from labelyard.store import work as store
from labelyard.store.engine import Database


async def _locked(conn: AsyncConnection, project: Project, job_id: str) -> Record:
    job = await store.lock_job(conn, project_id=project.id, job_id=require_uuid(job_id, "job_id"))
    if job is None:
        raise NotFound("no such job in this project")
    return job


async def abort_job(db: Database, project: Project, *, job_id: str, actor: Actor) -> dict[str, Any]:
    """Stop a job that is not finished; it leaves the queue and never gets a result."""
    now = utcnow()
    async with db.write() as conn:
        job = await _locked(conn, project, job_id)
        await apply(conn, job, lifecycle.abort(state_of(job)), now=now)
        await audit.record_in(
            conn,
            actor,
            project,
            action="job.abort",
            target_type="job",
            target_id=job.id,
            summary={"reference_id": job.reference_id, "from_status": job.status},
            now=now,
        )
    return {"job_id": job.id, "status": JobStatus.ABORTED.value}


async def abort_batch(
    db: Database, project: Project, *, batch_id: str, actor: Actor
) -> dict[str, Any]:
    """Abort every created or in-progress job of the batch, in one transaction."""
    batch_id = require_uuid(batch_id, "batch_id")
    now = utcnow()
    async with db.write() as conn:
        if await batch_store.get_batch(conn, project_id=project.id, id=batch_id) is None:
            raise NotFound(f"no batch {batch_id} in this project")
        jobs = await store.open_jobs_of_batch(
            conn, project_id=project.id, batch_id=batch_id, statuses=lifecycle.OPEN_STATUSES
        )
        changes = [(job, lifecycle.abort(state_of(job))) for job in jobs]
        await apply_all(conn, project.id, changes, now=now)
        await audit.record_in(
            conn,
            actor,
            project,
            action="batch.abort",
            target_type="batch",
            target_id=batch_id,
            summary={"aborted_jobs": len(jobs)},
            now=now,
        )
    return {"batch_id": batch_id, "aborted_jobs": len(jobs)}


async def reopen_job(
    db: Database, project: Project, *, job_id: str, step: str | None, actor: Actor
) -> dict[str, Any]:
    """Send a completed or aborted job back into a named step of its workflow."""
    now = utcnow()
    async with db.write() as conn:
        job = await _locked(conn, project, job_id)
        answer = await apply(conn, job, lifecycle.reopen(state_of(job), step=step), now=now)
        await audit.record_in(
            conn,
            actor,
            project,
            action="job.reopen",
            target_type="job",
            target_id=job.id,
            summary={
                "reference_id": job.reference_id,
                "from_status": job.status,
                "step": answer["step"],
            },
            now=now,
        )
        return answer


async def set_priority(
    db: Database, project: Project, *, job_id: str, priority: int, actor: Actor
) -> dict[str, Any]:
    """Change a job's ``priority_weight`` (1..10; higher is served first)."""
    now = utcnow()
    async with db.write() as conn:
        job = await _locked(conn, project, job_id)
        await store.update_job(
            conn,
            project_id=project.id,
            job_id=job.id,
            priority_weight=priority,
            updated_at=now,
        )
        await audit.record_in(
            conn,
            actor,
            project,
            action="job.priority",
            target_type="job",
            target_id=job.id,
            summary={
                "reference_id": job.reference_id,
                "previous": job.priority_weight,
                "priority_weight": priority,
            },
            now=now,
        )
    return {"job_id": job.id, "priority_weight": priority}


async def job_history(db: Database, project: Project, *, job_id: str) -> dict[str, Any]:
    """Every transition of the job, oldest first."""
    job_id = require_uuid(job_id, "job_id")
    async with db.read() as conn:
        if await job_store.get_job(conn, project_id=project.id, id=job_id) is None:
            raise NotFound("no such job in this project")
        rows = await history_store.list_transitions(conn, project_id=project.id, job_id=job_id)
    return {
        "job_id": job_id,
        "transitions": [
            {
                "action": row.action,
                "from_status": row.from_status,
                "to_status": row.to_status,
                "from_step": row.from_step,
                "to_step": row.to_step,
                "worker_id": row.worker_id,
                "comment": row.comment,
                "detail": row.detail,
                "created_at": rfc3339(row.created_at),
            }
            for row in rows
        ],
    }
