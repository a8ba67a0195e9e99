"""The application's ASGI stack: one edge layer in front of the exception handlers and router;
a served process's start-up objects left out of the garbage collector's walks."""

from __future__ import annotations

import gc
from pathlib import Path

import httpx
from fastapi.middleware.asyncexitstack import AsyncExitStackMiddleware
from fastapi.routing import APIRoute
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.routing import Route

from labelyard.app import create_app
from labelyard.config import Settings
from labelyard.http.edge import Edge
from tests.conftest import free_port, start_server


def test_one_edge_layer_wraps_the_exception_handlers_and_the_router(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path))
    stack = app.build_middleware_stack()
    assert isinstance(stack, Edge)
    assert isinstance(stack.app, ExceptionMiddleware)
    inner = stack.app.app
    assert isinstance(inner, AsyncExitStackMiddleware)
    assert inner.app is app.router


def test_hot_reads_skip_fastapi_but_stay_in_the_openapi_document(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path))
    document = app.openapi()
    for path in (
        "/v1/projects/{project_id}/batch/{batch_id}",
        "/v1/projects/{project_id}/jobs/{job_id}",
    ):
        assert "get" in document["paths"][path]
        first = next(
            route
            for route in app.router.routes
            if isinstance(route, Route) and route.path == path and "GET" in (route.methods or ())
        )
        assert not isinstance(first, APIRoute)  # answered by api.fast
        assert first.methods == {"GET"}


def test_single_creates_skip_fastapi_but_stay_in_the_openapi_document(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path))
    document = app.openapi()
    for path in (
        "/v1/projects/{project_id}/jobs",
        "/v0/projects/{project_id}/jobs",
        "/projectsvc/projects/{project_id}/jobs",
    ):
        assert "post" in document["paths"][path]
        first = next(
            route
            for route in app.router.routes
            if isinstance(route, Route) and route.path == path and "POST" in (route.methods or ())
        )
        assert not isinstance(first, APIRoute)  # answered by api.fast
        assert first.methods == {"POST"}


def test_a_serving_app_freezes_what_start_up_made_and_others_do_not(tmp_path: Path) -> None:
    assert gc.get_freeze_count() == 0
    try:
        for name, serving in (("plain", False), ("serving", True)):
            settings = Settings(data_dir=tmp_path / name, port=free_port())
            server, thread = start_server(settings, create_app(settings, serving=serving))
            try:
                url = f"http://127.0.0.1:{settings.port}/healthz"
                assert httpx.get(url, timeout=30).status_code == 200
                frozen = gc.get_freeze_count()
            finally:
                server.should_exit = True
                thread.join(timeout=60)
            # Serving: the app, its routes and its tables among them are left out of full
            # collections; an app made and dropped (as tests do) leaves the collector alone.
            assert frozen > 10_000 if serving else frozen == 0
    finally:
        gc.unfreeze()
