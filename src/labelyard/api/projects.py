"""API.md 3.3 and 3.4: project details and stats; the label schema (extension)."""

from __future__ import annotations

from starlette.responses import Response

from labelyard.api.deps import ProjectAccess, State
from labelyard.http.envelope import ok
from labelyard.services import projects


async def details(project: ProjectAccess, state: State) -> Response:
    """The project with each batch's counters and status."""
    return ok(await projects.project_details(state.db, project))


async def stats(project: ProjectAccess, state: State) -> Response:
    """The project's totals over all batches."""
    return ok(await projects.project_stats(state.db, project))


async def schema(project: ProjectAccess, state: State) -> Response:
    """The project's label schema (its classes), for clients that map labels onto it."""
    return ok(await projects.get_label_schema(state.db, project_id=project.id))
