"""The worker API (/work/v1): annotators, reviewers and programs move jobs through workflows."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Security
from fastapi.security import HTTPAuthorizationCredentials
from starlette.responses import Response

from labelyard.api.deps import Body, State, bearer
from labelyard.core import commands
from labelyard.http.envelope import ok
from labelyard.services import work, workers
from labelyard.services.workers import Worker
from labelyard.state import AppState


async def worker_access(
    project_id: str,
    state: State,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)] = None,
) -> Worker:
    """The worker whose token is in ``Authorization: Bearer ...``, in the path's project."""
    token = credentials.credentials if credentials else None
    return await workers.authorize(state.db, token=token, project_id=project_id)


WorkerAccess = Annotated[Worker, Depends(worker_access)]


async def claim(worker: WorkerAccess, state: State, body: Body) -> Response:
    """Lease the next free job of a step (204 when there is none), or with ``count`` up to
    that many (``{"jobs": [...]}``, empty when there is none)."""
    command = commands.parse_claim(body)
    lease = state.settings.lease_seconds
    if command.count is not None:
        jobs = await work.claim_many(state.db, worker, command, default_lease=lease, rng=state.rng)
        return ok({"jobs": jobs})
    job = await work.claim(state.db, worker, command, default_lease=lease, rng=state.rng)
    return ok(job) if job is not None else Response(status_code=204)


async def submit_many(worker: WorkerAccess, state: State, body: Body) -> Response:
    """Hand in many annotate steps in one transaction; a result per item."""
    items = commands.parse_submit_list(body)
    return ok(
        await work.submit_many(
            state.db, state.blobs, worker, items=items, base_url=state.base_url, rng=state.rng
        )
    )


async def review_many(worker: WorkerAccess, state: State, body: Body) -> Response:
    """Accept or reject many review steps in one transaction; a result per item."""
    items = commands.parse_review_list(body)
    return ok(
        await work.review_many(state.db, state.blobs, worker, items=items, base_url=state.base_url)
    )


async def _act(worker: Worker, state: AppState, job_id: str, action: str, body: object) -> Response:
    return ok(
        await work.act(
            state.db,
            state.blobs,
            worker,
            job_id=job_id,
            action=commands.parse_job_action(action, body),
            default_lease=state.settings.lease_seconds,
            base_url=state.base_url,
            rng=state.rng,
        )
    )


async def heartbeat(worker: WorkerAccess, state: State, job_id: str, body: Body) -> Response:
    """Extend the lease on a job."""
    return await _act(worker, state, job_id, "heartbeat", body)


async def draft(worker: WorkerAccess, state: State, job_id: str, body: Body) -> Response:
    """Save work in progress."""
    return await _act(worker, state, job_id, "draft", body)


async def submit(worker: WorkerAccess, state: State, job_id: str, body: Body) -> Response:
    """Hand in the annotations of an annotate step."""
    return await _act(worker, state, job_id, "submit", body)


async def skip(worker: WorkerAccess, state: State, job_id: str, body: Body) -> Response:
    """Give a job back without working it."""
    return await _act(worker, state, job_id, "skip", body)


async def review(worker: WorkerAccess, state: State, job_id: str, body: Body) -> Response:
    """Accept or reject a job in a review step."""
    return await _act(worker, state, job_id, "review", body)
