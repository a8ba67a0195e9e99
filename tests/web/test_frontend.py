"""The front end: its JavaScript unit tests (node's test runner) and Biome's check pass, and the
vendored browser modules (three, copied by ``make install``) are served from our own origin and
importable by a page under its CSP (no bare ``three`` specifier left)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Server

ROOT = Path(__file__).resolve().parents[2]
BIOME = ROOT / "node_modules" / ".bin" / "biome"


def needed(path: str | None, what: str) -> str:
    """The tool at ``path``; the test is skipped without it, except in CI where it fails."""
    if path is None or not Path(path).exists():
        reason = f"no {what} (install node and npm, then make install)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return path


def test_javascript_unit_tests_pass() -> None:
    node = needed(shutil.which("node"), "node")
    done = subprocess.run(
        [node, "--test", "tests/js/"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "# fail 0" in done.stdout


def test_biome_finds_nothing_in_the_front_end() -> None:
    biome = needed(str(BIOME), "Biome under node_modules")
    paths = ["src/labelyard/web/static", "tests/js", "tools"]
    done = subprocess.run(
        [biome, "check", "--colors=off", *paths],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


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
