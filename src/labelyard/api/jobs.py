"""API.md 3.2, 3.6 and 4: create jobs one by one or in bulk; read a job."""

from __future__ import annotations

from starlette.responses import Response

from labelyard.api.deps import (
    Body,
    BulkBody,
    OwnerActor,
    ProjectAccess,
    ProjectKeyAccess,
    State,
    Workflows,
)
from labelyard.core import commands
from labelyard.http.envelope import ok
from labelyard.services import job_actions, jobs, media_checks, pulls, results


async def create(
    project: ProjectAccess, state: State, body: Body, workflows: Workflows
) -> Response:
    """Create a job (an identical replay answers the existing job)."""
    return ok(await state.creates.create_job(state.db, project, body, workflows))


async def create_bulk(project: ProjectAccess, state: State, body: BulkBody) -> Response:
    """Create up to 10,000 jobs; ``results[i]`` tells what happened to ``jobs[i]``."""
    return ok(await jobs.create_jobs(state.db, project, commands.parse_bulk(body)))


async def create_completed(project: ProjectAccess, state: State, body: BulkBody) -> Response:
    """Create up to 10,000 jobs completed at once with the annotations each carries."""
    items = commands.parse_bulk(body)
    return ok(
        await pulls.create_completed(state.db, state.blobs, project, items, base_url=state.base_url)
    )


async def get(key: ProjectKeyAccess, state: State, job_id: str) -> Response:
    """A job's metadata and, once completed, its result URL."""
    found = await jobs.get_job_for_key(
        state.db, state.blobs, key, job_id=job_id, base_url=state.base_url
    )
    return ok(found)


async def find(project: ProjectAccess, state: State, reference_id: str | None = None) -> Response:
    """The job with this ``reference_id``."""
    found = await jobs.find_job(
        state.db, state.blobs, project, reference_id=reference_id, base_url=state.base_url
    )
    return ok(found)


async def result(project: ProjectAccess, state: State, job_id: str) -> Response:
    """The result JSON of a completed job, itself (not in the envelope, no redirect)."""
    body = await results.read_result(state.db, state.blobs, project, job_id=job_id)
    return Response(body, media_type="application/json")


async def history(project: ProjectAccess, state: State, job_id: str) -> Response:
    """Every transition of the job: action, statuses, steps, worker, comment, time."""
    return ok(await job_actions.job_history(state.db, project, job_id=job_id))


async def abort(project: ProjectAccess, state: State, job_id: str, actor: OwnerActor) -> Response:
    """Abort a created or in-progress job."""
    return ok(await job_actions.abort_job(state.db, project, job_id=job_id, actor=actor))


async def reopen(
    project: ProjectAccess, state: State, job_id: str, body: Body, actor: OwnerActor
) -> Response:
    """Send a completed or aborted job back into a step (``{"step": name}``)."""
    return ok(
        await job_actions.reopen_job(
            state.db, project, job_id=job_id, step=commands.parse_reopen(body), actor=actor
        )
    )


async def priority(
    project: ProjectAccess, state: State, job_id: str, body: Body, actor: OwnerActor
) -> Response:
    """Change a job's ``priority_weight``."""
    return ok(
        await job_actions.set_priority(
            state.db, project, job_id=job_id, priority=commands.parse_priority(body), actor=actor
        )
    )


async def retry_media(project: ProjectAccess, state: State, job_id: str) -> Response:
    """Check the job's media again (after fixing it); it is handed out once the check passes."""
    return ok(await media_checks.retry(state.db, project, job_id=job_id))
