"""Owners' pages: their projects, a project's batches, a batch's jobs, a read-only job viewer.

An owner signs in with an API key and sees the projects of the key's account; an admin (the
admin token) sees every account's. As in the API, a project of another account answers 403 and
a batch or job id that is not in the project answers 404. These pages only read; the quality
page (``web.quality``) has forms for the project's rules, groups and assignments.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from starlette.requests import Request
from starlette.responses import Response

from labelyard.core import analytics as figures
from labelyard.core.model import JobStatus, Project, as_utc
from labelyard.core.sessions import ADMIN
from labelyard.services import analytics, audit, batches, overview, projects
from labelyard.web import charts, render, session

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


async def _owned(request: Request, project_id: str) -> overview.OwnedProject:
    """The project, if the signed-in owner's account owns it (for an admin, any project)."""
    signed = await session.require_owner(request)
    account_id = None if signed.kind == ADMIN else signed.account_id
    return await overview.owned_project(
        session.state_of(request).db, project_id=project_id, account_id=account_id
    )


async def _project(request: Request, project_id: str) -> Project:
    return (await _owned(request, project_id)).project


async def projects_page(request: Request) -> Response:
    signed = await session.require_owner(request)
    account_id = None if signed.kind == ADMIN else signed.account_id
    rows = await overview.project_summaries(session.state_of(request).db, account_id=account_id)
    return render(request, "owner_projects.html", projects=rows, every_account=account_id is None)


async def project_page(request: Request, project_id: str) -> Response:
    project = await _project(request, project_id)
    db = session.state_of(request).db
    details = await projects.project_details(db, project)
    counts = await overview.job_counts(db, project)
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
    owned = await _owned(request, project_id)
    state = session.state_of(request)
    full = await overview.job_in_full(state.db, state.blobs, state.media, owned, job_id=job_id)
    return render(
        request,
        "owner_job.html",
        project=owned.project,
        job=full.job,
        step=full.step,
        history=full.history,
        names=full.names,
        when=when,
        viewer=full.viewer,
    )


async def audit_page(request: Request, project_id: str) -> Response:
    project = await _project(request, project_id)
    state = session.state_of(request)
    page = await audit.project_log(
        state.db,
        project,
        page_token=request.query_params.get("page_token"),
        limit=None,
        token_key=state.token_key,
    )
    return render(
        request,
        "owner_audit.html",
        project=project,
        page=page,
        first_page=not request.query_params.get("page_token"),
    )


# The daily activity chart: finished steps by kind, bottom to top.
ACTIVITY = (
    ("submits", "submits", "submitted"),
    ("accepts", "accepts", "accepted"),
    ("rejects", "rejects", "rejected"),
)

WORKERS_SHOWN = 100
# The workers table shows the first WORKERS_SHOWN by one of these (most, fastest, best first);
# the CSV has every worker.
WORKER_SORTS: dict[str, Callable[[figures.WorkerFigures], tuple[float, str]]] = {
    "finished": lambda w: (-w.counts["finished"], w.worker_id),
    "throughput": lambda w: (-(w.throughput_per_hour or 0.0), w.worker_id),
    "reject_rate": lambda w: (w.reject_rate if w.reject_rate is not None else 2.0, w.worker_id),
    "reject_rate_desc": lambda w: (-(w.reject_rate or 0.0), w.worker_id),
}


async def analytics_page(request: Request, project_id: str) -> Response:
    project = await _project(request, project_id)
    db = session.state_of(request).db
    since, until = request.query_params.get("since"), request.query_params.get("until")
    found, named = await asyncio.gather(
        analytics.report_for(db, project, since=since or None, until=until or None),
        analytics.names(db, project),
    )
    sort = request.query_params.get("sort", "finished")
    if sort not in WORKER_SORTS:
        sort = "finished"
    shown = sorted(found.workers, key=WORKER_SORTS[sort])[:WORKERS_SHOWN]
    days = [day["day"] for day in found.days]
    progress_lines = [
        (named.get(b.batch_id, b.batch_id), [int(d["completed_total"]) for d in b.days])
        for b in found.progress
    ]
    return render(
        request,
        "owner_analytics.html",
        project=project,
        report=found,
        workers=shown,
        sort=sort,
        names=named,
        activity=charts.stacked_bars(found.days, ACTIVITY),
        activity_series=ACTIVITY,
        progress=charts.lines(days, progress_lines),
        range_query={"since": found.since.isoformat(), "until": found.until.isoformat()},
    )


async def analytics_csv(request: Request, project_id: str, table: str) -> Response:
    project = await _project(request, project_id)
    db = session.state_of(request).db
    since, until = request.query_params.get("since") or None, request.query_params.get("until")
    if table == "workers":
        first, last, workers = await analytics.workers_report(
            db, project, since=since, until=until or None
        )
        body = figures.workers_csv(workers)
    else:
        found = await analytics.report_for(
            db, project, since=since, until=until or None, every_batch=True
        )
        first, last, body = found.since, found.until, figures.batches_csv(found.progress)
    name = f"{table}-{first}-{last}.csv"
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )


async def workers_csv(request: Request, project_id: str) -> Response:
    return await analytics_csv(request, project_id, "workers")


async def batches_csv(request: Request, project_id: str) -> Response:
    return await analytics_csv(request, project_id, "batches")


PROJECT = "/ui/projects/{project_id}"
ROUTES = (
    ("GET", "/ui/projects", projects_page),
    ("GET", PROJECT, project_page),
    ("GET", f"{PROJECT}/batches/{{batch_id}}", batch_page),
    ("GET", f"{PROJECT}/jobs/{{job_id}}", job_page),
    ("GET", f"{PROJECT}/audit", audit_page),
    ("GET", f"{PROJECT}/analytics", analytics_page),
    ("GET", f"{PROJECT}/analytics/workers.csv", workers_csv),
    ("GET", f"{PROJECT}/analytics/batches.csv", batches_csv),
)
