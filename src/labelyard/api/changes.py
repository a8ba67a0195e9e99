"""The change feed of a project (x-api-key)."""

from __future__ import annotations

from starlette.responses import Response

from labelyard.api.deps import ProjectAccess, State
from labelyard.http.envelope import ok
from labelyard.services import events


async def changes(
    project: ProjectAccess, state: State, since: str | None = None, limit: str | None = None
) -> Response:
    """Events after ``since`` (a token from the previous answer), in order, and the next token."""
    feed = await events.changes(
        state.db, project, since=since, limit=limit, token_key=state.token_key
    )
    return ok(feed)
