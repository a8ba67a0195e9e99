"""Workers' pages: sign-in, the queue, the annotate / review page, and the editor's JSON calls.

The JSON calls under ``/ui/api/work`` run the worker API's use cases (``services.work``) for the
signed-in worker; they need the session's CSRF token in ``X-CSRF-Token``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response

from labelyard.core import commands
from labelyard.core.sessions import ANONYMOUS, WORKER
from labelyard.errors import AuthFailure
from labelyard.http.body import json_body
from labelyard.http.envelope import ok
from labelyard.services import media_checks, point_clouds, work, workers
from labelyard.services import queue as work_queue
from labelyard.services.workers import Worker
from labelyard.web import redirect, render, session

UI_LEASE_SECONDS = 30 * 60  # a page heartbeats while open; a closed tab frees its job after this


async def home(request: Request) -> Response:
    kind = session.current(request).kind
    if kind == WORKER:
        return redirect("/ui/queue")
    if kind == ANONYMOUS:
        return redirect("/ui/login")
    return redirect("/ui/projects")


async def login_page(request: Request) -> Response:
    return render(request, "login.html", error=None)


async def login(request: Request) -> Response:
    fields = await session.form(request)
    try:
        signed = await session.sign_in(request, fields)
    except AuthFailure as exc:
        return render(
            request, "login.html", status=401, error=exc.message, method=fields.get("method")
        )
    return session.keep(request, redirect(signed.home), signed.session)


async def logout(request: Request) -> Response:
    await session.form(request)
    return await session.sign_out(request, redirect("/ui/login"))


async def _worker(request: Request, project_id: str) -> Worker:
    row = await session.require_worker(request)
    return await workers.worker_in_project(
        session.state_of(request).db, worker_id=row.id, project_id=project_id
    )


async def _for_browser(request: Request, worker: Worker, job: dict[str, Any]) -> dict[str, Any]:
    """The job with its private-bucket media as presigned links (the stored data is unchanged)."""
    state = session.state_of(request)
    data = await state.media.browser_data(state.db, account_id=worker.account_id, data=job["data"])
    return {**job, "data": data}


async def queue(request: Request) -> Response:
    row = await session.require_worker(request)
    state = session.state_of(request)
    projects = await work_queue.queues(
        state.db, account_id=row.account_id, worker_id=row.id, role=row.role
    )
    return render(
        request,
        "queue.html",
        worker=row,
        projects=projects,
        empty=request.query_params.get("empty"),
    )


async def start(request: Request) -> Response:
    """The queue page's "Start": claim the next job of a step and open it."""
    fields = await session.form(request)
    project_id, step = fields.get("project_id", ""), fields.get("step", "")
    worker = await _worker(request, project_id)
    state = session.state_of(request)
    job = await work.claim(
        state.db,
        worker,
        commands.parse_claim({"step": step}),
        default_lease=UI_LEASE_SECONDS,
        rng=state.rng,
    )
    if job is None:
        return redirect(f"/ui/queue?empty={quote(step)}")
    return redirect(f"/ui/work/{job['project_id']}/{job['job_id']}")


async def job_page(request: Request, project_id: str, job_id: str) -> Response:
    """The annotate or review page of a job this worker holds."""
    worker = await _worker(request, project_id)
    state = session.state_of(request)
    job = await work.held_view(state.db, worker, job_id=job_id)
    job = await _for_browser(request, worker, job)
    three_d = point_clouds.uses_3d_editor(job["base"], job["data"])
    if three_d and request.query_params.get("view") != "2d":
        # The lidar files' links come with the page: the first cloud is fetched at once.
        clouds = await point_clouds.editor_point_clouds(
            state.db,
            state.blobs,
            project_id=worker.project.id,
            job_id=job["job_id"],
            base_url=state.base_url,
            file_key=state.file_key,
            ttl=state.settings.file_link_seconds,
        )
        return render(request, "work3d.html", job=job, worker=worker, clouds=clouds)
    return render(request, "work.html", job=job, worker=worker, three_d=three_d)


async def _body(request: Request) -> Any:
    session.check_csrf_header(request)
    return await json_body(request)


async def claim_next(request: Request, project_id: str) -> Response:
    """The editor's "next job": claim in the same step; 204 when the queue is empty."""
    body = await _body(request)
    worker = await _worker(request, project_id)
    step = body.get("step") if isinstance(body, dict) else None
    state = session.state_of(request)
    job = await work.claim(
        state.db,
        worker,
        commands.parse_claim({"step": step, "lease_seconds": UI_LEASE_SECONDS}),
        default_lease=UI_LEASE_SECONDS,
        rng=state.rng,
    )
    if job is None:
        return Response(status_code=204)
    return ok(await _for_browser(request, worker, job))


async def upcoming(request: Request, project_id: str) -> Response:
    """The images of the job "next" would open, for the editor to load ahead."""
    worker = await _worker(request, project_id)
    step = request.query_params.get("step", "")
    state = session.state_of(request)
    sources = await work_queue.upcoming_sources(state.db, worker, step=step)
    urls = await state.media.browser_urls(state.db, account_id=worker.account_id, urls=sources)
    return ok({"sources": urls})


async def media_problem(request: Request, project_id: str, job_id: str) -> Response:
    """Why an image of a held job does not load in the browser: the server reads it now."""
    worker = await _worker(request, project_id)
    state = session.state_of(request)
    job = await work.held_view(state.db, worker, job_id=job_id)
    found = await media_checks.diagnose(
        state.db,
        state.media,
        state.outbound,
        account_id=worker.account_id,
        data=job["data"],
        src=request.query_params.get("src"),
        timeout=state.settings.media_check_timeout_seconds,
    )
    return ok(found)


async def job_point_clouds(request: Request, project_id: str, job_id: str) -> Response:
    """The 3D editor's lidar files of a job this worker holds: state, signed links, errors."""
    worker = await _worker(request, project_id)
    state = session.state_of(request)
    job = await work.held_view(state.db, worker, job_id=job_id)
    return ok(
        await point_clouds.editor_point_clouds(
            state.db,
            state.blobs,
            project_id=worker.project.id,
            job_id=job["job_id"],
            base_url=state.base_url,
            file_key=state.file_key,
            ttl=state.settings.file_link_seconds,
        )
    )


async def act(request: Request, project_id: str, job_id: str, action: str) -> Response:
    """Heartbeat, draft, submit, skip or review, as the worker API does them (a page's lease is
    always ``UI_LEASE_SECONDS``)."""
    body = await _body(request)
    if action == "heartbeat":
        body = {}
    command = commands.parse_job_action(action, body)
    worker = await _worker(request, project_id)
    state = session.state_of(request)
    return ok(
        await work.act(
            state.db,
            state.blobs,
            worker,
            job_id=job_id,
            action=command,
            default_lease=UI_LEASE_SECONDS,
            base_url=state.base_url,
            rng=state.rng,
        )
    )


API = "/ui/api/work/{project_id}"
ROUTES = (
    ("GET", "/ui", home),
    ("GET", "/ui/login", login_page),
    ("POST", "/ui/login", login),
    ("POST", "/ui/logout", logout),
    ("GET", "/ui/queue", queue),
    ("POST", "/ui/queue/start", start),
    ("GET", "/ui/work/{project_id}/{job_id}", job_page),
    ("POST", f"{API}/claim", claim_next),
    ("GET", f"{API}/upcoming", upcoming),
    ("GET", f"{API}/jobs/{{job_id}}/media-problem", media_problem),
    ("GET", f"{API}/jobs/{{job_id}}/pointclouds", job_point_clouds),
    ("POST", f"{API}/jobs/{{job_id}}/{{action}}", act),
)
