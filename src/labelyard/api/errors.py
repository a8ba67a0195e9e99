"""The one place errors become responses: ours by their class, everything else as 500."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from labelyard.api.envelope import failure
from labelyard.errors import InvalidInput, LabelyardError, MissingParameter, NotFound, ServerFault

log = logging.getLogger("labelyard.api")


async def _ours(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LabelyardError)
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


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return failure(ServerFault())


def install(app: FastAPI) -> None:
    """Register the handlers that render every error as API.md's envelope."""
    app.add_exception_handler(LabelyardError, _ours)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(Exception, _unexpected)
