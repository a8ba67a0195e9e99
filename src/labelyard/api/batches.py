"""API.md 3.1 and 3.5: create a batch; page through its jobs."""

from __future__ import annotations

from starlette.responses import Response

from labelyard.api.deps import Body, OwnerActor, ProjectAccess, ProjectKeyAccess, State
from labelyard.core import commands
from labelyard.http.envelope import ok
from labelyard.services import batch_results, batches, job_actions


async def create(project: ProjectAccess, state: State, body: Body, actor: OwnerActor) -> Response:
    """Create a batch in the project."""
    created = await batches.create_batch(
        state.db, project, commands.parse_batch_create(body), actor=actor
    )
    return ok(created)


async def jobs(
    key: ProjectKeyAccess,
    state: State,
    batch_id: str,
    page_token: str | None = None,
    limit: str | None = None,
    status: str | None = None,
) -> Response:
    """One page of the batch's jobs (100 by default) and ``next_page_token``."""
    page = await batches.list_batch_jobs_for_key(
        state.db,
        key,
        batch_id=batch_id,
        page_token=page_token,
        limit=limit,
        status=status,
        token_key=state.token_key,
        base_url=state.base_url,
    )
    return ok(page)


async def results(
    project: ProjectAccess,
    state: State,
    batch_id: str,
    page_token: str | None = None,
    limit: str | None = None,
) -> Response:
    """One page of the batch's jobs, each completed job with its result document inline (the
    page itself, not in the envelope: it holds annotation bodies)."""
    body = await batch_results.batch_results(
        state.db,
        state.blobs,
        project,
        batch_id=batch_id,
        page_token=page_token,
        limit=limit,
        token_key=state.token_key,
        base_url=state.base_url,
    )
    return Response(body, media_type="application/json")


async def abort(project: ProjectAccess, state: State, batch_id: str, actor: OwnerActor) -> Response:
    """Abort every created or in-progress job of the batch."""
    return ok(await job_actions.abort_batch(state.db, project, batch_id=batch_id, actor=actor))
