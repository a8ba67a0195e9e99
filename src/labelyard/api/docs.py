"""``/docs``: Swagger UI served from labelyard itself (the files of the ``swagger-ui-py``
package), so the API reference works offline and loads nothing from a CDN."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope


def _assets() -> Path:
    spec = importlib.util.find_spec("swagger_ui")  # located, not imported: only its files are used
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the swagger-ui-py package is missing (pip install swagger-ui-py)")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


ASSETS = _assets()
ASSETS_URL = "/docs/assets"
SERVED = ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png")


class _Assets(StaticFiles):
    """Only the three files the page uses (the package also ships an editor and source maps)."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        if path not in SERVED:
            path = "-"  # answers 404
        return await super().get_response(path, scope)


async def docs_page(request: Request) -> HTMLResponse:
    """The Swagger UI page for ``/openapi.json``."""
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="labelyard API",
        swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
        swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
        swagger_favicon_url=f"{ASSETS_URL}/favicon-32x32.png",
    )


def mount(app: FastAPI) -> None:
    """Serve ``/docs`` and its assets (the app is made with ``docs_url=None``)."""
    app.mount(ASSETS_URL, _Assets(directory=ASSETS), name="docs-assets")
    app.add_route("/docs", docs_page, methods=["GET"], include_in_schema=False)
