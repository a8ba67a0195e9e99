"""Events delivered per second: job.created events of a bulk import, sent by one worker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx


class _Receiver(ThreadingHTTPServer):
    request_queue_size = 256
    daemon_threads = True

    def __init__(self) -> None:
        self.ids: set[str] = set()
        self.requests = 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length", "0")))
                with receiver.lock:
                    receiver.requests += 1
                    receiver.ids.add(self.headers.get("webhook-id", ""))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)


def bench_events(
    base_url: str, admin_token: str, env: dict[str, str], *, events: int = 5_000
) -> dict[str, Any]:
    """Bulk-create ``events`` jobs (one job.created event each); time one worker delivering them."""
    receiver = _Receiver()
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{receiver.server_address[1]}/hook"
    with httpx.Client(base_url=base_url, timeout=300) as client:
        project = client.post(
            "/admin/v1/projects",
            headers={"authorization": f"Bearer {admin_token}"},
            json={"name": "events", "base": "IMAGE"},
        ).json()["data"]
        client.headers["x-api-key"] = project["api_key"]
        pid = project["project_id"]
        client.post(
            f"/v1/projects/{pid}/webhooks", json={"url": url, "event_types": ["job.created"]}
        ).raise_for_status()
        for start in range(0, events, 10_000):
            jobs = [
                {
                    "reference_id": f"ev-{i}",
                    "work_flow_id": project["work_flow_id"],
                    "data": {"image_url": f"https://img.example/{i}.jpg"},
                }
                for i in range(start, min(events, start + 10_000))
            ]
            client.post(f"/v1/projects/{pid}/jobs/bulk", json={"jobs": jobs}).raise_for_status()
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("LABELYARD_")}
    worker_env = (
        inherited
        | env
        | {
            "LABELYARD_WEBHOOKS_ALLOW_PRIVATE": "1",
            "LABELYARD_WORKER_POLL_SECONDS": "0.05",
            "LABELYARD_MEDIA_CHECKS": "0",  # webhooks only (bench/media.py times the checks)
        }
    )
    started = time.perf_counter()
    worker = subprocess.Popen(
        [sys.executable, "-m", "labelyard", "worker"],
        env=worker_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 600
        while len(receiver.ids) < events and time.monotonic() < deadline:
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
        receiver.shutdown()
        receiver.server_close()
    return {
        "events": events,
        "delivered": len(receiver.ids),
        "events_per_s": len(receiver.ids) / elapsed,
        "duplicates": receiver.requests - len(receiver.ids),
    }
