"""A newcomer's first run: ``labelyard serve`` on an empty data directory, sign in with the
printed demo worker token, press Start: a street picture is on screen, and the VIDEO demo too."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import free_port
from tests.test_serve import serving
from tests.web.conftest import screenshot


def natural_width(page: Any) -> int:
    page.wait_for_function(
        "(() => { const i = document.querySelector('.view img.frame-image');"
        " return i && i.complete && i.naturalWidth > 0; })()"
    )
    width: int = page.evaluate("document.querySelector('.view img.frame-image').naturalWidth")
    return width


def test_first_start_then_start_shows_a_demo_picture(tmp_path: Path, new_page: Any) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LABELYARD_")}
    env["LABELYARD_DATA_DIR"] = str(tmp_path / "data")
    command = [sys.executable, "-m", "labelyard", "serve", "--port", str(port)]
    base = f"http://127.0.0.1:{port}"
    with serving(command, env) as process:
        assert process.stdout is not None
        worker_token = [process.stdout.readline() for _ in range(4)][3].strip()
        deadline = time.monotonic() + 180  # start-up on a loaded machine
        while True:
            try:
                if httpx.get(f"{base}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "server did not become ready"
            time.sleep(0.1)

        page = new_page()
        page.goto(f"{base}/ui/login")
        form = page.locator("#login-token")
        form.locator("input[name=secret]").fill(worker_token)
        form.locator("button[type=submit]").click()
        page.wait_for_url("**/ui/queue")
        assert "Demo images" in page.content() and "Demo video" in page.content()

        page.locator("tr:has-text('Demo images')[data-step='annotate'] button").first.click()
        page.wait_for_url("**/ui/work/**")
        assert natural_width(page) == 960
        options = page.locator("#label-select option").all_inner_texts()
        assert {"car", "pedestrian", "cyclist"} <= {o.split(" ", 1)[-1] for o in options}, options
        screenshot(page, "first-run")

        page.goto(f"{base}/ui/queue")
        page.locator("tr:has-text('Demo video')[data-step='annotate'] button").first.click()
        page.wait_for_url("**/ui/work/**")
        assert natural_width(page) == 960
        assert page.locator("#frame-strip button, #frame-strip [data-frame]").count() == 8
