"""The web UI: server-rendered pages (Jinja2) and small hand-written JavaScript, under ``/ui``.

Workers (annotators, reviewers) sign in with their token or a username and password; owners
with an API key of their account, admins with the admin token. Pages are plain HTML forms; the
annotation editor is one JavaScript module that talks to ``/ui/api`` (the worker API's use
cases, authorised by the session cookie and a CSRF header instead of a bearer token).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.staticfiles import StaticFiles

from labelyard import __version__
from labelyard.errors import LabelyardError, RateLimited
from labelyard.web import session

STATIC = Path(__file__).parent / "static"
# Pages run only our own scripts and styles; images come from wherever the job data points.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src * data: blob:; script-src 'self'; style-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)

templates = Environment(
    loader=PackageLoader("labelyard.web", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def render(request: Request, name: str, status: int = 200, **context: Any) -> Response:
    """A page from ``templates/name``, with the session, its CSRF token and security headers."""
    current = session.current(request)
    body = templates.get_template(name).render(
        session=current,
        csrf=session.csrf_token(request),
        version=__version__,
        **context,
    )
    response = HTMLResponse(body, status_code=status)
    response.headers["content-security-policy"] = CONTENT_SECURITY_POLICY
    response.headers["cache-control"] = "no-store"
    return session.keep(request, response)


def redirect(url: str) -> Response:
    """See-other: after a form post, the browser GETs ``url``."""
    return RedirectResponse(url, status_code=303)


def is_page(path: str) -> bool:
    """True for the web UI's HTML pages (its JSON calls under /ui/api answer the envelope)."""
    return (path == "/ui" or path.startswith("/ui/")) and not path.startswith("/ui/api/")


def error_page(request: Request, exc: LabelyardError) -> Response:
    """An error on a page: to the sign-in page when not signed in, else a page saying why."""
    if isinstance(exc, session.SignInRequired):
        return redirect("/ui/login")
    response = render(request, "error.html", status=exc.status, error=exc)
    if isinstance(exc, RateLimited):
        response.headers["retry-after"] = str(exc.retry_after)
    return response


def mount(app: FastAPI) -> None:
    """Add the web UI's routes and static files to ``app``."""
    from labelyard.web import owner, quality, work  # routes import this module's helpers

    app.mount("/ui/static", StaticFiles(directory=STATIC), name="ui-static")
    for method, path, handler in (*work.ROUTES, *owner.ROUTES, *quality.ROUTES):
        app.add_api_route(path, handler, methods=[method], include_in_schema=False)
