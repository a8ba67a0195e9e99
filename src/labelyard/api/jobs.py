"""API.md 3.2, 3.6 and 4: create jobs one by one or in bulk; read a job."""

from __future__ import annotations

from starlette.responses import Response

from labelyard.api.deps import Body, ProjectAccess, State
from labelyard.api.envelope import ok
from labelyard.services import jobs


async def create(project: ProjectAccess, state: State, body: Body) -> Response:
    """Create a job (an identical replay answers the existing job)."""
    return ok(await jobs.create_job(state.db, project, body))


async def create_bulk(project: ProjectAccess, state: State, body: Body) -> Response:
    """Create up to 10,000 jobs; ``results[i]`` tells what happened to ``jobs[i]``."""
    return ok(await jobs.create_jobs(state.db, project, body))


async def get(project: ProjectAccess, state: State, job_id: str) -> Response:
    """A job's metadata and, once completed, its result URL."""
    return ok(await jobs.get_job(state.db, project, job_id=job_id))


async def find(project: ProjectAccess, state: State, reference_id: str | None = None) -> Response:
    """The job with this ``reference_id``."""
    return ok(await jobs.find_job(state.db, project, reference_id=reference_id))
