"""The application's ASGI stack: one edge layer in front of the exception handlers and router."""

from __future__ import annotations

from pathlib import Path

from fastapi.middleware.asyncexitstack import AsyncExitStackMiddleware
from starlette.middleware.exceptions import ExceptionMiddleware

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
