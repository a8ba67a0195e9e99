"""The application's ASGI stack: one edge layer in front of the exception handlers and router;
a served process's start-up objects left out of the garbage collector's walks."""

from __future__ import annotations

import asyncio
import gc
from pathlib import Path
from typing import Any

from fastapi.middleware.asyncexitstack import AsyncExitStackMiddleware
from fastapi.routing import APIRoute
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.routing import Route

from labelyard.app import create_app
from labelyard.config import Settings
from labelyard.http.edge import Edge


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


def _frozen_while_running(app: Any) -> int:
    async def run() -> int:
        async with app.router.lifespan_context(app):
            return gc.get_freeze_count()

    return asyncio.run(run())


def test_a_served_process_freezes_what_start_up_made_and_tests_do_not(tmp_path: Path) -> None:
    assert gc.get_freeze_count() == 0
    assert _frozen_while_running(create_app(Settings(data_dir=tmp_path / "plain"))) == 0
    try:
        served = create_app(Settings(data_dir=tmp_path / "served"), freeze=True)
        assert _frozen_while_running(served) > 10_000  # the modules, routes and tables
    finally:
        gc.unfreeze()
