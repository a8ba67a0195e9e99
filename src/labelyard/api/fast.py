"""Hot routes served without FastAPI's per-request dependency solving.

``fast(handler, path)`` gives a plain Starlette endpoint that resolves what the handler's
signature asks for (the project named in the path with the caller's ``x-api-key``, which the
handler's service checks in the statement that reads; the app state; path parameters; optional
string query parameters) and calls the same handler: one implementation, with the FastAPI route
kept beside it for the OpenAPI document. A job create's handler, ``(project, state, body,
workflows)``, gets what ``api.deps`` would give it, in the same order (the key checked against
the project first, then the JSON body), and the project's workflows, read in the one statement
that checks the key (``services.jobs.authorize_create``).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from labelyard.core.model import ProjectKey
from labelyard.core.validation import MAX_JSON_DEPTH
from labelyard.http.body import parse_json
from labelyard.services import jobs
from labelyard.state import AppState

Handler = Callable[..., Awaitable[Response]]


def fast(handler: Handler, path: str) -> Callable[[Request], Awaitable[Response]]:
    """A Starlette endpoint for ``handler(key, state, <path params>, <query params>)`` or
    ``handler(project, state, body, workflows)``."""
    names = list(inspect.signature(handler).parameters)
    if names == ["project", "state", "body", "workflows"]:
        return _create(handler)
    if names[:2] != ["key", "state"]:
        raise TypeError(f"{handler.__qualname__} does not take (key, state, ...)")
    path_names = [name for name in names[2:] if "{" + name + "}" in path]
    query_names = [name for name in names[2:] if name not in path_names]

    async def endpoint(request: Request) -> Response:
        state: AppState = request.app.state.labelyard
        params = request.path_params
        key = ProjectKey(project_id=params["project_id"], api_key=request.headers.get("x-api-key"))
        arguments: dict[str, Any] = {name: params[name] for name in path_names}
        if query_names:
            query = request.query_params
            for name in query_names:
                arguments[name] = query.get(name)
        return await handler(key, state, **arguments)

    endpoint.__name__ = f"fast_{handler.__name__}"
    return endpoint


def _create(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    # A job create: the key, the project and its workflows in one read, then the body.
    async def endpoint(request: Request) -> Response:
        state: AppState = request.app.state.labelyard
        project, workflows = await jobs.authorize_create(
            state.db,
            api_key=request.headers.get("x-api-key"),
            project_id=request.path_params["project_id"],
        )
        body = parse_json(await request.body(), depth=MAX_JSON_DEPTH)
        return await handler(project, state, body, workflows)

    endpoint.__name__ = f"fast_{handler.__name__}"
    return endpoint
