"""The web UI as an annotator meets it: page times on the server, and in Chromium the time from
"Start" to a job's image on screen, and from "Submit" to the next job's image (loaded ahead
while the worker works), next to a plain reload of the work page.

Needs Debian's Chromium (``/usr/bin/chromium``, or ``LABELYARD_TEST_CHROMIUM``); skipped without.
"""

from __future__ import annotations

import io
import os
import re
import statistics
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from PIL import Image

CHROMIUM = os.environ.get("LABELYARD_TEST_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
SIZE = (1920, 1080)


def _photo() -> bytes:
    """A 1920x1080 JPEG of noise-like content (about what a camera frame weighs)."""
    image = Image.effect_noise(SIZE, 64).convert("RGB")
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


class _Images(BaseHTTPRequestHandler):
    body = b""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("content-type", "image/jpeg")
        self.send_header("content-length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: Any) -> None:
        pass


def _median_ms(client: httpx.Client, path: str, n: int) -> float:
    times = []
    for _ in range(n):
        started = time.perf_counter()
        assert client.get(path).status_code == 200
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def bench_web(base_url: str, admin_token: str, args: Any) -> dict[str, Any]:
    jobs = args.web_jobs
    if jobs <= 0 or not Path(CHROMIUM).exists():
        return {}
    from playwright.sync_api import sync_playwright

    _Images.body = _photo()
    images = ThreadingHTTPServer(("127.0.0.1", 0), _Images)
    threading.Thread(target=images.serve_forever, daemon=True).start()
    image_base = f"http://127.0.0.1:{images.server_address[1]}"
    try:
        admin = httpx.Client(base_url=base_url, headers={"authorization": f"Bearer {admin_token}"})
        account = admin.post("/admin/v1/accounts", json={"name": "web"}).json()["data"]
        project = admin.post(
            "/admin/v1/projects",
            json={"name": "web", "base": "IMAGE", "account_id": account["account_id"]},
        ).json()["data"]
        worker = admin.post(
            f"/admin/v1/accounts/{account['account_id']}/workers",
            json={"name": "annotator", "role": "annotator"},
        ).json()["data"]
        pid = project["project_id"]
        api = httpx.Client(base_url=base_url, headers={"x-api-key": project["api_key"]})
        bodies = [
            {
                "reference_id": f"w-{i}",
                "work_flow_id": project["work_flow_id"],
                "data": {"image_url": f"{image_base}/{i}.jpg"},
            }
            for i in range(jobs + 2)
        ]
        api.post(f"/v1/projects/{pid}/jobs/bulk", json={"jobs": bodies}).raise_for_status()

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
            page.goto(f"{base_url}/ui/login")
            page.locator("#login-token input[name=secret]").fill(worker["token"])
            page.locator("#login-token button").click()
            page.wait_for_url("**/ui/queue")
            started = time.perf_counter()
            page.locator(f"tr[data-project='{pid}'][data-step='annotate'] button").click()
            page.locator(".view.loaded").wait_for()
            first_open = time.perf_counter() - started

            cookies = {c["name"]: c["value"] for c in page.context.cookies()}
            with httpx.Client(base_url=base_url, cookies=cookies) as browser_http:
                queue_ms = _median_ms(browser_http, "/ui/queue", 50)
                work_path = re.sub(r"^https?://[^/]+", "", page.url)
                work_ms = _median_ms(browser_http, work_path, 50)

            reloads = []
            for _ in range(5):
                started = time.perf_counter()
                page.reload()
                page.locator(".view.loaded").wait_for()
                reloads.append(time.perf_counter() - started)

            nexts = []
            for _ in range(jobs):
                reference = page.locator("#reference").inner_text()
                page.wait_for_timeout(200)  # the worker looks at the job; the next one loads
                started = time.perf_counter()
                page.locator("#submit").click()
                page.locator("#reference", has_text=re.compile(rf"^(?!{reference}$)")).wait_for()
                page.locator(".view.loaded").wait_for()
                nexts.append(time.perf_counter() - started)
            browser.close()
    finally:
        images.shutdown()
        images.server_close()
    return {
        "web_queue_page_ms": queue_ms,
        "web_work_page_ms": work_ms,
        "web_first_open_ms": first_open * 1000,
        "web_reload_ms": statistics.median(reloads) * 1000,
        "web_next_job_p50_ms": statistics.median(nexts) * 1000,
        "web_next_job_max_ms": max(nexts) * 1000,
        "web_image_kb": len(_Images.body) / 1024,
    }
