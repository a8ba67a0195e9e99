"""Owners' pages: their projects, a project's batches, a batch's jobs, a read-only job viewer.

An owner signs in with an API key and sees the projects of the key's account; an admin (the
admin token) sees every account's. As in the API, a project of another account answers 403 and
a batch or job id that is not in the project answers 404. Every page is a GET: owners change
jobs through the API.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from labelyard.core import annotations as notes
from labelyard.core.ids import require_uuid
from labelyard.core.model import Base, JobStatus, Project, as_utc
from labelyard.core.schema import LabelSchema, parse_schema
from labelyard.core.sessions import ADMIN
from labelyard.errors import Forbidden, NotFound
from labelyard.services import batches, projects, results
from labelyard.services.lifecycle import step_name
from labelyard.state import AppState
from labelyard.store import Record, owner_views
from labelyard.store import history as history_store
from labelyard.store import projects as project_store
from labelyard.web import render, session

# A batch's progress bar, left to right: (job status, what the page calls it).
PROGRESS = (
    (JobStatus.COMPLETED.value, "completed"),
    (JobStatus.IN_PROGRESS.value, "in progress"),
    (JobStatus.CREATED.value, "waiting"),
    (JobStatus.ABORTED.value, "aborted"),
)
STATUSES = tuple(status.value for status in JobStatus)


@dataclass(frozen=True, slots=True)
class Segment:
    """A part of a progress bar: the jobs in one status, where it starts and its width (%)."""

    status: str
    label: str
    count: int
    x: float
    width: float


def progress(counts: dict[str, int]) -> list[Segment]:
    """A batch's progress bar from its job counts by status."""
    total = sum(counts.values())
    segments, x = [], 0.0
    for status, label in PROGRESS:
        count = counts.get(status, 0)
        width = 100 * count / total if total else 0.0
        segments.append(Segment(status, label, count, round(x, 3), round(width, 3)))
        x += width
    return segments


def when(moment: datetime) -> str:
    """A time as the pages show it."""
    return as_utc(moment).strftime("%Y-%m-%d %H:%M:%S UTC")


async def _project_row(request: Request, project_id: str) -> Record:
    """The project's row, if the signed-in owner's account owns it (for an admin, any)."""
    signed = await session.require_owner(request)
    async with session.state_of(request).db.read() as conn:
        row = await project_store.get_project(conn, id=require_uuid(project_id, "project_id"))
    if row is None or (signed.kind != ADMIN and row.account_id != signed.account_id):
        raise Forbidden("this project is not one of your account's")
    return row


def _as_project(row: Record) -> Project:
    return Project(id=row.id, account_id=row.account_id, name=row.name, base=Base(row.base))


async def _project(request: Request, project_id: str) -> Project:
    """The project, if the signed-in owner's account owns it (for an admin, any project)."""
    return _as_project(await _project_row(request, project_id))


async def projects_page(request: Request) -> Response:
    signed = await session.require_owner(request)
    account_id = None if signed.kind == ADMIN else signed.account_id
    async with session.state_of(request).db.read() as conn:
        rows = await owner_views.project_summaries(conn, account_id=account_id)
    return render(request, "owner_projects.html", projects=rows, every_account=account_id is None)


async def project_page(request: Request, project_id: str) -> Response:
    project = await _project(request, project_id)
    db = session.state_of(request).db
    details = await projects.project_details(db, project)
    async with db.read() as conn:
        counts = await owner_views.job_counts(conn, project_id=project.id)
    bars = {batch["id"]: progress(counts.get(batch["id"], {})) for batch in details["batches"]}
    return render(request, "owner_project.html", project=project, details=details, bars=bars)


async def batch_page(request: Request, project_id: str, batch_id: str) -> Response:
    project = await _project(request, project_id)
    state = session.state_of(request)
    status = request.query_params.get("status", "")
    page = await batches.list_batch_jobs(
        state.db,
        project,
        batch_id=batch_id,
        page_token=request.query_params.get("page_token"),
        limit=None,
        status=status or None,
        token_key=state.token_key,
        base_url="",  # viewer links as paths of this site
    )
    return render(
        request,
        "owner_batch.html",
        project=project,
        page=page,
        status_filter=status,
        statuses=STATUSES,
        first_page=not request.query_params.get("page_token"),
    )


async def job_page(request: Request, project_id: str, job_id: str) -> Response:
    row = await _project_row(request, project_id)
    project = _as_project(row)
    state = session.state_of(request)
    job, history, names = await _job_with_history(state, project, job_id)
    return render(
        request,
        "owner_job.html",
        project=project,
        job=job,
        step=step_name(job),
        history=history,
        names=names,
        when=when,
        viewer=await _viewer(state, project, parse_schema(row.label_schema, project.base), job),
    )


async def _job_with_history(
    state: AppState, project: Project, job_id: str
) -> tuple[Record, list[Record], dict[str, str]]:
    """The job in full, its transitions (oldest first) and the names of the workers in them."""
    async with state.db.read() as conn:
        job = await owner_views.job_detail(
            conn, project_id=project.id, job_id=require_uuid(job_id, "job_id")
        )
        if job is None:
            raise NotFound("no such job in this project")
        history = await history_store.list_transitions(conn, project_id=project.id, job_id=job.id)
        names = await owner_views.worker_names(
            conn, ids={row.worker_id for row in history if row.worker_id}
        )
    return job, history, names


async def _viewer(
    state: AppState, project: Project, schema: LabelSchema, job: Record
) -> dict[str, Any]:
    """What viewer.js draws: the job's data and the annotations to show, with the schema."""
    return {
        "job_id": job.id,
        "project_id": project.id,
        "base": project.base.value,
        "data": job.data,
        "draft": await _shown_annotations(state, project, schema, job),
        "schema": schema.to_json(),
        "step": "view",
        "comment": job.comment,
    }


async def _shown_annotations(
    state: AppState, project: Project, schema: LabelSchema, job: Record
) -> Any:
    """A completed job's result; else the work so far; else the valid pre-labels (or nothing),
    as a worker's first claim would start from."""
    if job.status == JobStatus.COMPLETED and job.result_key:
        raw = await results.read_result(state.db, state.blobs, project, job_id=job.id)
        body = orjson.loads(raw)["data"]  # laid out by core.annotations.result_document
        if notes.uses_tracks(project.base):
            return body["annotation_data"]["annotations"]
        return body["annotations"]
    if job.draft is not None:
        return job.draft
    return notes.starting_draft(project.base, schema, job.data)


PROJECT = "/ui/projects/{project_id}"
ROUTES = (
    ("GET", "/ui/projects", projects_page),
    ("GET", PROJECT, project_page),
    ("GET", f"{PROJECT}/batches/{{batch_id}}", batch_page),
    ("GET", f"{PROJECT}/jobs/{{job_id}}", job_page),
)
