"""The front end's vendored browser modules (three, copied by ``make install``): served from our
own origin, and importable by a page under its CSP (no bare ``three`` specifier left)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import Server

ROOT = Path(__file__).resolve().parents[2]
VENDOR = ["three.module.js", "three.core.js", "OrbitControls.js"]


def test_vendored_modules_are_served_as_javascript(server: Server) -> None:
    lock = json.loads((ROOT / "package-lock.json").read_text())
    version = lock["packages"]["node_modules/three"]["version"]
    with httpx.Client(base_url=server.base_url) as client:
        for name in VENDOR:
            response = client.get(f"/ui/static/vendor/{name}")
            assert response.status_code == 200, name
            assert response.headers["content-type"].startswith("text/javascript"), name
        assert client.get("/ui/static/vendor/VERSION").text == f"three {version}\n"
        controls = client.get("/ui/static/vendor/OrbitControls.js").text
        assert "from './three.module.js'" in controls and "from 'three'" not in controls


def test_a_page_imports_three_and_its_orbit_controls(server: Server, new_page: Any) -> None:
    page = new_page()
    page.goto(f"{server.base_url}/ui/login")
    loaded = page.evaluate(
        """async () => {
          const three = await import("/ui/static/vendor/three.module.js");
          const { OrbitControls } = await import("/ui/static/vendor/OrbitControls.js");
          return [three.REVISION, typeof three.Scene, typeof OrbitControls];
        }"""
    )
    lock = json.loads((ROOT / "package-lock.json").read_text())
    revision = lock["packages"]["node_modules/three"]["version"].split(".")[1]
    assert loaded == [revision, "function", "function"]
