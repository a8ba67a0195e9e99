"""The one place errors become responses: ours by their class, anything else as 500."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from labelyard import web
from labelyard.api.envelope import failure
from labelyard.errors import InvalidInput, LabelyardError, MissingParameter, NotFound, ServerFault

log = logging.getLogger("labelyard.api")


async def _ours(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LabelyardError)
    if web.is_page(request.url.path):
        return web.error_page(request, exc)
    return failure(exc)


async def _validation(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    first = errors[0] if errors else {}
    where = ".".join(str(part) for part in first.get("loc", ()) if part not in ("query", "path"))
    if first.get("type") == "missing":
        return failure(MissingParameter(f"{where} is required"))
    return failure(InvalidInput(f"{where}: {first.get('msg', 'invalid value')}"))


async def _http(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return failure(NotFound("no such route"))
    error = LabelyardError(str(exc.detail))
    error.status, error.code = exc.status_code, "invalid_request_error"
    return failure(error)


class FaultBarrier:
    """Outermost guard: an unexpected exception is logged and answered 500 ``api_error``.

    The body never carries the exception; the log has it. If the response had already started,
    the connection is closed, as nothing sensible can be added to it.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except LabelyardError as exc:  # raised outside a route (e.g. by a middleware)
            if not started:
                await failure(exc)(scope, receive, send)
        except Exception:
            log.exception("unexpected error on %s %s", scope["method"], scope["path"])
            if not started:
                await failure(ServerFault())(scope, receive, send)


def install(app: FastAPI) -> None:
    """Register the handlers that render every error as API.md's envelope."""
    app.add_exception_handler(LabelyardError, _ours)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(HTTPException, _http)
