"""What a project's owner (x-api-key) may do to jobs: abort, reopen, reprioritise, inspect."""

from __future__ import annotations

from typing import Any

from labelyard.core.ids import require_uuid
from labelyard.core.model import JobStatus, Project, rfc3339
from labelyard.errors import Conflict, InvalidInput, InvalidPriority, NotFound
from labelyard.services import utcnow
from labelyard.services.events import count, record, record_many
from labelyard.services.lifecycle import route_of, send_to_step, transition_record
from labelyard.store import batches as batch_store
from labelyard.store import history as history_store
from labelyard.store import jobs as job_store
from labelyard.store import work as store
from labelyard.store.engine import Database

OPEN = (JobStatus.CREATED.value, JobStatus.IN_PROGRESS.value)


async def abort_job(db: Database, project: Project, *, job_id: str) -> dict[str, Any]:
    """Stop a job that is not finished; it leaves the queue and never gets a result."""
    now = utcnow()
    async with db.write() as conn:
        job = await store.lock_job(
            conn, project_id=project.id, job_id=require_uuid(job_id, "job_id")
        )
        if job is None:
            raise NotFound("no such job in this project")
        if job.status not in OPEN:
            raise Conflict(
                f"the job is {job.status}; only created or in-progress jobs can be aborted"
            )
        route = route_of(job)
        await store.update_job(
            conn,
            project_id=project.id,
            job_id=job.id,
            status=JobStatus.ABORTED.value,
            queue=None,
            lease_holder=None,
            lease_expires_at=None,
            updated_at=now,
        )
        batch_events = await count(
            conn, project_id=project.id, batch_id=job.batch_id, aborted_jobs=1
        )
        await record(
            conn,
            job._mapping,
            [
                transition_record(
                    job,
                    action="abort",
                    to_status=JobStatus.ABORTED.value,
                    route=route,
                    to_index=None,
                    worker_id=None,
                    comment=None,
                    now=now,
                )
            ],
            now=now,
            then=batch_events,
        )
    return {"job_id": job.id, "status": JobStatus.ABORTED.value}


async def abort_batch(db: Database, project: Project, *, batch_id: str) -> dict[str, Any]:
    """Abort every created or in-progress job of the batch, in one transaction."""
    batch_id = require_uuid(batch_id, "batch_id")
    now = utcnow()
    async with db.write() as conn:
        if await batch_store.get_batch(conn, project_id=project.id, id=batch_id) is None:
            raise NotFound(f"no batch {batch_id} in this project")
        jobs = await store.open_jobs_of_batch(
            conn, project_id=project.id, batch_id=batch_id, statuses=OPEN
        )
        await store.set_jobs(
            conn,
            project_id=project.id,
            job_ids=[job.id for job in jobs],
            status=JobStatus.ABORTED.value,
            queue=None,
            lease_holder=None,
            lease_expires_at=None,
            updated_at=now,
        )
        batch_events = await count(
            conn, project_id=project.id, batch_id=batch_id, aborted_jobs=len(jobs)
        )
        await record_many(
            conn,
            project.id,
            [
                (
                    job._mapping,
                    transition_record(
                        job,
                        action="abort",
                        to_status=JobStatus.ABORTED.value,
                        route=route_of(job),
                        to_index=None,
                        worker_id=None,
                        comment=None,
                        now=now,
                    ),
                )
                for job in jobs
            ],
            now=now,
            then=batch_events,
        )
    return {"batch_id": batch_id, "aborted_jobs": len(jobs)}


async def reopen_job(
    db: Database, project: Project, *, job_id: str, body: object
) -> dict[str, Any]:
    """Send a completed or aborted job back into a named step of its workflow."""
    if not isinstance(body, dict):
        raise InvalidInput("body must be a JSON object")
    now = utcnow()
    async with db.write() as conn:
        job = await store.lock_job(
            conn, project_id=project.id, job_id=require_uuid(job_id, "job_id")
        )
        if job is None:
            raise NotFound("no such job in this project")
        if job.status in OPEN:
            raise Conflict(
                f"the job is {job.status}; only completed or aborted jobs can be reopened"
            )
        route = route_of(job)
        step = body.get("step") or route.name_of(0)
        index = route.index_of(str(step))
        if job.status == JobStatus.COMPLETED.value:
            await count(
                conn,
                project_id=project.id,
                batch_id=job.batch_id,
                completed_jobs=-1,
                completed_frames=-job.frames,
                annotations=-job.annotations,
            )
        else:
            await count(conn, project_id=project.id, batch_id=job.batch_id, aborted_jobs=-1)
        return await send_to_step(
            conn,
            job,
            route,
            index,
            action="reopen",
            worker_id=None,
            comment=None,
            now=now,
            columns={"annotations": 0, "result_key": None, "completed_at": None},
        )


async def set_priority(
    db: Database, project: Project, *, job_id: str, body: object
) -> dict[str, Any]:
    """Change a job's ``priority_weight`` (1..10; higher is served first)."""
    priority = body.get("priority_weight") if isinstance(body, dict) else None
    if type(priority) is not int or not 1 <= priority <= 10:
        raise InvalidPriority()
    async with db.write() as conn:
        job = await store.lock_job(
            conn, project_id=project.id, job_id=require_uuid(job_id, "job_id")
        )
        if job is None:
            raise NotFound("no such job in this project")
        await store.update_job(
            conn,
            project_id=project.id,
            job_id=job.id,
            priority_weight=priority,
            updated_at=utcnow(),
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
                "created_at": rfc3339(row.created_at),
            }
            for row in rows
        ],
    }
