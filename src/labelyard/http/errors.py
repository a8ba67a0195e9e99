"""The one place errors become responses: ours by their class, anything else as 500.

API routes answer the envelope; the app may name a second renderer for paths that are pages
(the web UI), so this edge knows neither api nor web.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from labelyard.errors import InvalidInput, LabelyardError, MissingParameter, NotFound
from labelyard.http.envelope import failure


@dataclass(frozen=True, slots=True)
class Pages:
    """How errors on pages are rendered: which paths are pages, and the page to answer."""

    is_page: Callable[[str], bool]
    render: Callable[[Request, LabelyardError], Response]


def _ours(pages: Pages | None) -> Callable[[Request, Exception], Awaitable[Response]]:
    async def handle(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, LabelyardError)
        if pages is not None and pages.is_page(request.url.path):
            return pages.render(request, exc)
        return failure(exc)

    return handle


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


def install(app: FastAPI, *, pages: Pages | None = None) -> None:
    """Register the handlers that render every error as API.md's envelope (or, on ``pages``,
    as a page)."""
    app.add_exception_handler(LabelyardError, _ours(pages))
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(HTTPException, _http)
