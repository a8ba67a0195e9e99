"""The route table: authenticated by default, errors rendered in one place."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import httpx
from fastapi import FastAPI
from fastapi.routing import APIRoute

from labelyard.api import OPEN_ROUTES, SIGNED_ROUTES
from labelyard.app import create_app
from labelyard.config import Settings
from labelyard.errors import InvalidInput
from tests.conftest import Server, free_port, start_server
from tests.envelope import SEEN, bad_keys


def _routes(app: FastAPI) -> list[tuple[str, str]]:
    found = []
    for route in app.routes:
        if isinstance(route, APIRoute):
            for method in route.methods:
                found.append((method, route.path))
    return found


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path)


def test_every_route_but_the_open_ones_needs_credentials(server: Server) -> None:
    app = create_app(server.settings)
    routes = _routes(app)
    assert len(routes) > 20
    with server.client() as anonymous:
        for method, path in routes:
            response = anonymous.request(method, _concrete(path), json={})
            if path in OPEN_ROUTES:
                # A demo picture of another name is simply not there.
                expected = (404,) if path.startswith("/demo-media/") else (200, 503)
                assert response.status_code in expected, path
                continue
            if path in SIGNED_ROUTES:
                assert response.status_code == 403, path
                assert response.json()["error"]["code"] == "unauthorized"
                continue
            if path.startswith("/ui"):
                _check_web_route(method, path, response)
                continue
            assert response.status_code == 401, (method, path, response.text)
            assert response.json()["error"]["code"] == "auth-failure"
        # A project key is neither an admin token nor a worker token.
        for method, path in routes:
            if path.startswith(("/admin/", "/work/")):
                headers = {"authorization": "Bearer wrong", "x-api-key": "ly_x"}
                response = anonymous.request(method, _concrete(path), json={}, headers=headers)
                assert response.status_code == 401, path


def _check_web_route(method: str, path: str, response: httpx.Response) -> None:
    """Web UI: pages send strangers to sign in; posts without the session's CSRF token are
    refused before anything else; the editor's reads need a signed-in worker."""
    if method == "POST":
        assert response.status_code == 403, (method, path, response.text)
        assert "CSRF" in response.text
    elif path.startswith("/ui/api/"):
        assert response.status_code == 401, (method, path, response.text)
        assert response.json()["error"]["code"] == "auth-failure"
    elif path == "/ui/login":
        assert response.status_code == 200
    else:
        assert response.status_code == 303, (method, path, response.text)
        assert response.headers["location"] == "/ui/login"


def test_unexpected_fault_is_500_api_error_without_internals(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, port=free_port())
    app = create_app(settings)

    async def broken() -> None:
        raise RuntimeError("secret internals: /etc/passwd line 42")

    async def ours() -> None:
        raise InvalidInput("custom message")

    app.add_api_route("/broken", broken)
    app.add_api_route("/ours", ours)
    server, thread = start_server(settings, app)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{settings.port}") as client:
            response = client.get("/broken")
            assert response.status_code == 500
            assert response.json() == {
                "success": False,
                "error": {"code": "api_error", "message": "internal server error"},
            }
            ours_error = client.get("/ours").json()["error"]
            assert ours_error == {"code": "GE_0001", "message": "custom message"}
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def test_key_checker_flags_keys_the_sdk_cannot_use() -> None:
    assert bad_keys({"ok": 1, "nested": [{"fine_too": {"x": 1}}]}) == []
    assert bad_keys({"_id": 1, "class": 2, "a-b": 3, "l": [{"1x": 0}]}) == [
        "data._id",
        "data.class",
        "data.a-b",
        "data.l[0].1x",
    ]


def test_response_bodies_were_walked() -> None:
    """Every client of the suite checks each envelope's ``data`` keys (tests/envelope.py);
    this asserts that the hook really ran on the API's responses in this session."""
    assert any("/batch/" in seen for seen in SEEN)
    assert any(seen.startswith("POST") for seen in SEEN)
