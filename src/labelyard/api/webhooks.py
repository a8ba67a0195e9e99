"""A project's webhook endpoints and the legacy callback (x-api-key)."""

from __future__ import annotations

from starlette.responses import Response

from labelyard.api.deps import Body, ProjectAccess, State
from labelyard.core import commands
from labelyard.http.envelope import ok
from labelyard.services import webhooks


async def create(project: ProjectAccess, state: State, body: Body) -> Response:
    """Add an endpoint; the answer carries its signing secret, once."""
    return ok(
        await webhooks.create_endpoint(
            state.db, state.box, project, commands.parse_webhook_create(body)
        )
    )


async def index(project: ProjectAccess, state: State) -> Response:
    """The project's endpoints."""
    return ok(await webhooks.list_endpoints(state.db, project))


async def get(project: ProjectAccess, state: State, webhook_id: str) -> Response:
    """One endpoint, with whether it is enabled and why not."""
    return ok(await webhooks.get_endpoint(state.db, project, endpoint_id=webhook_id))


async def update(project: ProjectAccess, state: State, webhook_id: str, body: Body) -> Response:
    """Change an endpoint's url, event types, description or enabled."""
    changed = await webhooks.update_endpoint(
        state.db, project, endpoint_id=webhook_id, change=commands.parse_webhook_update(body)
    )
    return ok(changed)


async def delete(project: ProjectAccess, state: State, webhook_id: str) -> Response:
    """Remove an endpoint."""
    return ok(await webhooks.delete_endpoint(state.db, project, endpoint_id=webhook_id))


async def rotate(project: ProjectAccess, state: State, webhook_id: str) -> Response:
    """A new signing secret, shown once."""
    return ok(await webhooks.rotate_secret(state.db, state.box, project, endpoint_id=webhook_id))


async def attempts(
    project: ProjectAccess, state: State, webhook_id: str, limit: str | None = None
) -> Response:
    """The delivery log: every attempt with status, latency and the start of the answer."""
    log = await webhooks.attempts(state.db, project, endpoint_id=webhook_id, limit=limit)
    return ok(log)


async def deliveries(
    project: ProjectAccess,
    state: State,
    webhook_id: str,
    status: str | None = None,
    limit: str | None = None,
) -> Response:
    """Deliveries (one per event) and their state: pending, succeeded, failed."""
    found = await webhooks.deliveries(
        state.db, project, endpoint_id=webhook_id, status=status, limit=limit
    )
    return ok(found)


async def redeliver(project: ProjectAccess, state: State, webhook_id: str, body: Body) -> Response:
    """Send one event again, or every failed delivery of the endpoint."""
    again = commands.parse_redeliver(body)
    return ok(await webhooks.redeliver(state.db, project, endpoint_id=webhook_id, again=again))


async def set_callback(project: ProjectAccess, state: State, body: Body) -> Response:
    """Set (or with "" remove) the legacy ``callback_url`` that receives completed jobs."""
    return ok(
        await webhooks.set_callback(state.db, state.box, project, commands.parse_callback(body))
    )


async def get_callback(project: ProjectAccess, state: State) -> Response:
    """The legacy ``callback_url`` and its delivery state."""
    return ok(await webhooks.get_callback(state.db, project))
