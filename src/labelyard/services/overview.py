"""What owners see in the web UI: their projects, a project's progress, a job in full.

Reads only: owners change jobs through the API. An owner sees the projects of its account;
an admin (``account_id=None``) sees every account's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from labelyard.blobs import BlobStore
from labelyard.core import annotations as notes
from labelyard.core.ids import require_uuid
from labelyard.core.model import Base, JobStatus, Project
from labelyard.core.schema import LabelSchema, parse_schema
from labelyard.errors import Forbidden, NotFound
from labelyard.services import results
from labelyard.services.lifecycle import step_name
from labelyard.services.media import MediaSigner
from labelyard.store import Record
from labelyard.store import history as history_store
from labelyard.store import overview as store
from labelyard.store import projects as project_store
from labelyard.store.engine import Database


@dataclass(frozen=True, slots=True)
class OwnedProject:
    """A project its owner (or the admin) may look at, with its label schema."""

    project: Project
    schema: LabelSchema


@dataclass(frozen=True, slots=True)
class JobInFull:
    """A job with its history, the names of the workers in it and what the viewer draws."""

    job: Record
    step: str | None
    history: list[Record]
    names: dict[str, str]
    viewer: dict[str, Any]


async def owned_project(db: Database, *, project_id: str, account_id: str | None) -> OwnedProject:
    """The project, if ``account_id`` owns it (None: the admin, any project); else 403."""
    async with db.read() as conn:
        row = await project_store.get_project(conn, id=require_uuid(project_id, "project_id"))
    if row is None or (account_id is not None and row.account_id != account_id):
        raise Forbidden("this project is not one of your account's")
    project = Project(id=row.id, account_id=row.account_id, name=row.name, base=Base(row.base))
    return OwnedProject(project=project, schema=parse_schema(row.label_schema, project.base))


async def project_summaries(db: Database, *, account_id: str | None) -> list[Record]:
    """The projects an owner sees, with their totals (counted off the event loop)."""
    async with db.scan() as conn:
        return await store.project_summaries(conn, account_id=account_id)


async def job_counts(db: Database, project: Project) -> dict[str, dict[str, int]]:
    """For each batch of the project, its jobs by status (off its counters: a read of the
    project's batch rows, whatever the number of jobs)."""
    async with db.read() as conn:
        return await store.job_counts(conn, project_id=project.id)


async def job_in_full(
    db: Database, blobs: BlobStore, media: MediaSigner, owned: OwnedProject, *, job_id: str
) -> JobInFull:
    """The job in full, its transitions (oldest first), the workers' names, its viewer data."""
    project = owned.project
    async with db.read() as conn:
        job = await store.job_detail(
            conn, project_id=project.id, job_id=require_uuid(job_id, "job_id")
        )
        if job is None:
            raise NotFound("no such job in this project")
        history = await history_store.list_transitions(conn, project_id=project.id, job_id=job.id)
        names = await store.worker_names(
            conn, ids={row.worker_id for row in history if row.worker_id}
        )
    viewer = {
        "job_id": job.id,
        "project_id": project.id,
        "base": project.base.value,
        # Private-bucket media as presigned links; the stored data is unchanged.
        "data": await media.browser_data(db, account_id=project.account_id, data=job.data),
        "draft": await _shown_annotations(db, blobs, owned, job),
        "schema": owned.schema.to_json(),
        "step": "view",
        "comment": job.comment,
    }
    return JobInFull(job=job, step=step_name(job), history=history, names=names, viewer=viewer)


async def _shown_annotations(
    db: Database, blobs: BlobStore, owned: OwnedProject, job: Record
) -> Any:
    """A completed job's result; else the work so far; else the valid pre-labels (or nothing),
    as a worker's first claim would start from."""
    project = owned.project
    if project.base is Base.SEGMENTATION and job.draft is not None:
        # The final annotations with their masks as PNGs the viewer draws (the result only
        # links them).
        return job.draft
    if job.status == JobStatus.COMPLETED and job.result_key:
        raw = await results.read_result(db, blobs, project, job_id=job.id)
        body = orjson.loads(raw)["data"]  # laid out by core.annotations.result_document
        if notes.uses_tracks(project.base):
            return body["annotation_data"]["annotations"]
        return body["annotations"]
    if job.draft is not None:
        return job.draft
    return notes.starting_draft(project.base, owned.schema, job.data)
