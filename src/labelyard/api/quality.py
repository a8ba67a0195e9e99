"""Quality rules, worker groups, assignments, workers' scores and consensus versions
(docs/quality.md)."""

from __future__ import annotations

import orjson
from starlette.responses import Response

from labelyard.api.deps import Body, ProjectAccess, State
from labelyard.core import commands
from labelyard.http.envelope import ok
from labelyard.services import quality


async def get_settings(project: ProjectAccess, state: State) -> Response:
    """The project's quality rules."""
    return ok(await quality.get_settings(state.db, project))


async def update_settings(project: ProjectAccess, state: State, body: Body) -> Response:
    """Change some quality rules (only the keys given)."""
    return ok(await quality.update(state.db, project, body))


async def groups(project: ProjectAccess, state: State) -> Response:
    """The project's worker groups and their members."""
    return ok(await quality.list_groups(state.db, project))


async def create_group(project: ProjectAccess, state: State, body: Body) -> Response:
    """A new worker group."""
    return ok(await quality.create_group(state.db, project, name=commands.parse_group_create(body)))


async def set_members(project: ProjectAccess, state: State, group_id: str, body: Body) -> Response:
    """Replace a group's members."""
    return ok(
        await quality.set_members(
            state.db, project, group_id=group_id, worker_ids=commands.parse_members(body)
        )
    )


async def delete_group(project: ProjectAccess, state: State, group_id: str) -> Response:
    """Remove a group."""
    return ok(await quality.delete_group(state.db, project, group_id=group_id))


async def assign_job(project: ProjectAccess, state: State, job_id: str, body: Body) -> Response:
    """Assign a job to a worker or group (or unassign it)."""
    return ok(
        await quality.assign_job(state.db, project, job_id=job_id, to=commands.parse_assign(body))
    )


async def assign_batch(project: ProjectAccess, state: State, batch_id: str, body: Body) -> Response:
    """Assign every unfinished job of a batch to a worker or group (or unassign them)."""
    return ok(
        await quality.assign_batch(
            state.db, project, batch_id=batch_id, to=commands.parse_assign(body)
        )
    )


async def workers(project: ProjectAccess, state: State) -> Response:
    """Every worker's tally: accepted, rejected, gold jobs and gold score."""
    return ok(await quality.workers_quality(state.db, project))


async def worker(project: ProjectAccess, state: State, worker_id: str) -> Response:
    """One worker's tally and latest gold scores."""
    return ok(await quality.worker_quality(state.db, project, worker_id=worker_id))


async def versions(project: ProjectAccess, state: State, job_id: str) -> Response:
    """A consensus job's versions, as JSON itself (annotation bodies carry ``_id`` keys, so
    not in the envelope, like a result)."""
    found = await quality.job_versions(state.db, project, job_id=job_id)
    return Response(orjson.dumps(found), media_type="application/json")
