"""Browser fixtures: Debian's Chromium driven by Playwright, and an HTTP server of test images.

Chromium comes from Debian's ``chromium`` package (``.ci/run`` installs it); Playwright's own
browser download does not work on these machines. Without the browser the tests are skipped with
the reason, except under ``CI=true``, where that fails the run.
"""

from __future__ import annotations

import io
import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image, ImageDraw

from tests.conftest import Server

CHROMIUM = os.environ.get("LABELYARD_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
VIEWPORT = {"width": 1280, "height": 800}
SCREENSHOTS = Path(__file__).parents[2] / "docs" / "screenshots"
_SIZE = re.compile(r"/(\d{1,4})x(\d{1,4})/[\w.-]+\.png")


def png(width: int, height: int, seed: str) -> bytes:
    """A test picture: a gradient with a grid, so zoom and position are visible."""
    image = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(image)
    tint = sum(seed.encode()) % 120
    for y in range(0, height, 8):
        draw.rectangle([0, y, width, y + 8], fill=(40 + y * 120 // height, 70 + tint, 110))
    for x in range(0, width, 40):
        draw.line([x, 0, x, height], fill=(90, 110, 140))
    for y in range(0, height, 40):
        draw.line([0, y, width, y], fill=(90, 110, 140))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


class _Images(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        match = _SIZE.fullmatch(self.path)
        if match is None:
            self.send_error(404)
            return
        body = png(int(match[1]), int(match[2]), self.path)
        self.send_response(200)
        self.send_header("content-type", "image/png")
        self.send_header("content-length", str(len(body)))
        self.send_header("cache-control", "max-age=3600")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="session")
def images() -> Iterator[str]:
    """Base URL of an image server: ``{base}/{w}x{h}/{name}.png`` is a PNG of w by h pixels."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Images)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium per test module. Not for the whole session: Playwright's driver
    keeps an event loop running in the main thread while it is open, which would refuse the
    ``asyncio.run`` of other tests that pytest orders in between."""
    if not Path(CHROMIUM).exists():
        reason = f"no Chromium at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _console(message: Any, errors: list[str]) -> None:
    # Error statuses are the tests' to check; any other console error is a fault of the page.
    if message.type == "error" and not message.text.startswith("Failed to load resource"):
        errors.append(message.text)


@pytest.fixture
def new_page(browser: Any) -> Iterator[Any]:
    """A factory of pages, each in a fresh browser context (its own cookies); the test fails if
    a page throws or logs an error."""
    contexts: list[Any] = []
    errors: list[str] = []

    def factory() -> Any:
        context = browser.new_context(viewport=VIEWPORT)
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("console", lambda message: _console(message, errors))
        return page

    yield factory
    for context in contexts:
        context.close()
    assert not errors, f"the pages reported errors: {errors}"


def screenshot(page: Any, name: str) -> None:
    """Keep a screenshot of a main page for the docs (only when LABELYARD_SCREENSHOTS=1)."""
    if os.environ.get("LABELYARD_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


@dataclass
class Team:
    """An account's project with a label schema, an annotator and a reviewer who sign in."""

    project_id: str
    account_id: str
    api_key: str
    work_flow_id: str
    batch_id: str
    annotator: dict[str, str]
    reviewer: dict[str, str]


SCHEMA = {
    "classes": [
        {
            "name": "car",
            "shapes": ["rectangle", "polygon"],
            "attributes": [
                {"name": "color", "type": "select", "options": ["red", "blue"], "required": True},
                {"name": "occluded", "type": "boolean"},
            ],
        },
        {"name": "person", "shapes": ["rectangle", "landmark", "line"]},
    ]
}


def make_team(server: Server, base: str = "IMAGE") -> Team:
    """A new account, project (with ``SCHEMA``), annotator and reviewer, through the admin API."""
    from secrets import token_hex

    with server.admin() as admin:
        account = admin.post("/admin/v1/accounts", json={"name": "team"}).json()["data"]
        project = admin.post(
            "/admin/v1/projects",
            json={
                "name": f"{base.lower()} project",
                "base": base,
                "account_id": account["account_id"],
            },
        ).json()["data"]
        admin.put(f"/admin/v1/projects/{project['project_id']}/schema", json=SCHEMA)
        people = {}
        for role in ("annotator", "reviewer"):
            worker = admin.post(
                f"/admin/v1/accounts/{account['account_id']}/workers",
                json={"name": f"{role} {token_hex(2)}", "role": role},
            ).json()["data"]
            username, password = f"{role}-{token_hex(4)}", token_hex(8)
            answer = admin.put(
                f"/admin/v1/workers/{worker['worker_id']}/login",
                json={"username": username, "password": password},
            )
            assert answer.status_code == 200, answer.text
            people[role] = {
                "worker_id": worker["worker_id"],
                "token": worker["token"],
                "username": username,
                "password": password,
            }
    return Team(
        project_id=project["project_id"],
        account_id=project["account_id"],
        api_key=project["api_key"],
        work_flow_id=project["work_flow_id"],
        batch_id=project["default_batch_id"],
        annotator=people["annotator"],
        reviewer=people["reviewer"],
    )


def create_jobs(server: Server, team: Team, bodies: list[dict[str, Any]]) -> list[str]:
    """Create jobs in the team's project; their ids."""
    ids = []
    with httpx.Client(base_url=server.base_url, headers={"x-api-key": team.api_key}) as api:
        for body in bodies:
            body = {"work_flow_id": team.work_flow_id, **body}
            answer = api.post(f"/v1/projects/{team.project_id}/jobs", json=body)
            assert answer.status_code == 200, answer.text
            ids.append(answer.json()["data"]["job_id"])
    return ids


def sign_in(page: Any, server: Server, person: dict[str, str]) -> None:
    """Sign in on the sign-in page with a username and password; lands on the queue."""
    page.goto(f"{server.base_url}/ui/login")
    form = page.locator("#login-password")
    form.locator("input[name=username]").fill(person["username"])
    form.locator("input[name=secret]").fill(person["password"])
    form.locator("button[type=submit]").click()
    page.wait_for_url("**/ui/queue")


def sign_in_owner(page: Any, server: Server, api_key: str) -> None:
    """Sign in as a project owner with an API key; lands on the projects page."""
    page.goto(f"{server.base_url}/ui/login")
    form = page.locator("#login-key")
    form.locator("input[name=secret]").fill(api_key)
    form.locator("button[type=submit]").click()
    page.wait_for_url("**/ui/projects")


def start(page: Any, project_id: str, step: str) -> None:
    """Press Start on the queue page for a project's step; waits for the work page's image."""
    page.locator(f"tr[data-project='{project_id}'][data-step='{step}'] button").click()
    page.wait_for_url("**/ui/work/**")
    page.locator(".view.loaded").first.wait_for()
