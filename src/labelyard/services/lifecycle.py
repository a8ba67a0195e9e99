"""Steps shared by every change of a job's state: its route, its transition record, completion."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncConnection

from labelyard.blobs import BlobStore, result_key
from labelyard.core import annotations as notes
from labelyard.core.ids import new_id
from labelyard.core.lifecycle import Route
from labelyard.core.model import Base, JobStatus
from labelyard.services.events import count, record
from labelyard.services.point_clouds import write_segmentation
from labelyard.services.results import result_url
from labelyard.store import Record
from labelyard.store import work as store


def transition_record(
    job: Record,
    *,
    action: str,
    to_status: str,
    route: Route,
    to_index: int | None,
    worker_id: str | None,
    comment: str | None,
    now: datetime,
) -> dict[str, Any]:
    """The history row of a change of ``job`` (from its current state to ``to_*``)."""
    return {
        "project_id": job.project_id,
        "id": new_id(),
        "job_id": job.id,
        "action": action,
        "from_status": job.status,
        "to_status": to_status,
        "from_step": route.name_of(job.step_index) if job.queue else None,
        "to_step": route.name_of(to_index) if to_index is not None else None,
        "worker_id": worker_id,
        "comment": comment,
        "created_at": now,
    }


def route_of(job: Record) -> Route:
    """The steps of the job's workflow (read with the job by ``store.work``)."""
    return Route(tuple(job.steps))


async def send_to_step(
    conn: AsyncConnection,
    job: Record,
    route: Route,
    index: int,
    *,
    action: str,
    worker_id: str | None,
    comment: str | None,
    now: datetime,
    columns: dict[str, Any],
) -> dict[str, Any]:
    """Put the job into step ``index`` (free for the next claim) and record why.

    ``columns`` are further columns of the job to set (the draft, the reviewer's comment...).
    """
    await store.update_job(
        conn,
        project_id=job.project_id,
        job_id=job.id,
        status=JobStatus.IN_PROGRESS.value,
        step_index=index,
        queue=route.kinds[index],
        lease_holder=None,
        lease_expires_at=None,
        updated_at=now,
        **columns,
    )
    transition = transition_record(
        job,
        action=action,
        to_status=JobStatus.IN_PROGRESS.value,
        route=route,
        to_index=index,
        worker_id=worker_id,
        comment=comment,
        now=now,
    )
    await record(conn, job._mapping, [transition], now=now)
    return {"job_id": job.id, "status": JobStatus.IN_PROGRESS.value, "step": route.name_of(index)}


async def complete(
    conn: AsyncConnection,
    blobs: BlobStore,
    base: Base,
    job: Record,
    route: Route,
    *,
    annotations: Any,
    action: str,
    worker_id: str | None,
    comment: str | None,
    now: datetime,
    base_url: str,
) -> dict[str, Any]:
    """Finish the job: its result file, status, counters and transition, all or nothing.

    The result is written before the transaction commits, so a completed job always has its
    file; if the commit fails the file is simply overwritten by the next completion.
    """
    key = result_key(job.project_id, job.id)
    objects = notes.count(base, annotations)
    document = notes.result_document(base, job.data, annotations)
    if base is Base.POINT_CLOUD_SEGMENTATION:
        # Point labels go to a PCD of their own beside the JSON (API.md 3.7).
        segmentation = await write_segmentation(conn, blobs, job, annotations, base_url=base_url)
        document["data"]["annotation_data"].update(segmentation)
    await blobs.put(key, orjson.dumps(document))
    await store.update_job(
        conn,
        project_id=job.project_id,
        job_id=job.id,
        status=JobStatus.COMPLETED.value,
        queue=None,
        lease_holder=None,
        lease_expires_at=None,
        draft=annotations,
        annotations=objects,
        result_key=key,
        completed_at=now,
        updated_at=now,
    )
    batch_events = await count(
        conn,
        project_id=job.project_id,
        batch_id=job.batch_id,
        completed_jobs=1,
        completed_frames=job.frames,
        annotations=objects,
    )
    await record(
        conn,
        {**job._mapping, "result": result_url(blobs, base_url, key)},
        [
            transition_record(
                job,
                action=action,
                to_status=JobStatus.COMPLETED.value,
                route=route,
                to_index=None,
                worker_id=worker_id,
                comment=comment,
                now=now,
            )
        ],
        now=now,
        then=batch_events,
    )
    return {"job_id": job.id, "status": JobStatus.COMPLETED.value, "step": None}
