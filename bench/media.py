"""Media checks per second: one worker reading the first bytes of bulk-created jobs' images
from a local image server (1% of them 404), until every job is checked."""

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

PNG = b"\x89PNG\r\n\x1a\n" + bytes(56)


class _Images(ThreadingHTTPServer):
    request_queue_size = 256
    daemon_threads = True

    def __init__(self) -> None:
        self.requests = 0
        self.lock = threading.Lock()
        images = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                with images.lock:
                    images.requests += 1
                dead = self.path.startswith("/dead/")
                body = b"gone" if dead else PNG
                self.send_response(404 if dead else 206)
                self.send_header("content-type", "text/plain" if dead else "image/png")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)


def bench_media(
    base_url: str, admin_token: str, env: dict[str, str], *, jobs: int = 5_000
) -> dict[str, Any]:
    """Bulk-create ``jobs`` image jobs; time one worker checking all of them."""
    images = _Images()
    threading.Thread(target=images.serve_forever, daemon=True).start()
    host = f"http://127.0.0.1:{images.server_address[1]}"
    dead = {i for i in range(jobs) if i % 100 == 7}
    with httpx.Client(base_url=base_url, timeout=300) as client:
        project = client.post(
            "/admin/v1/projects",
            headers={"authorization": f"Bearer {admin_token}"},
            json={"name": "media", "base": "IMAGE"},
        ).json()["data"]
        client.headers["x-api-key"] = project["api_key"]
        pid = project["project_id"]
        for start in range(0, jobs, 10_000):
            items = [
                {
                    "reference_id": f"m-{i}",
                    "work_flow_id": project["work_flow_id"],
                    "data": {"image_url": f"{host}/{'dead' if i in dead else 'ok'}/{i}.png"},
                }
                for i in range(start, min(jobs, start + 10_000))
            ]
            client.post(f"/v1/projects/{pid}/jobs/bulk", json={"jobs": items}).raise_for_status()
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("LABELYARD_")}
        worker_env = (
            inherited
            | env
            | {
                "LABELYARD_WEBHOOKS_ALLOW_PRIVATE": "1",  # the image server is on loopback
                "LABELYARD_WORKER_POLL_SECONDS": "0.05",
                "LABELYARD_MEDIA_CHECK_PER_HOST_PER_SECOND": "0",  # one host: no pacing
            }
        )
        started = time.perf_counter()
        worker = subprocess.Popen(
            [sys.executable, "-m", "labelyard", "worker"],
            env=worker_env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        failed = 0
        try:
            deadline = time.monotonic() + 600
            token = ""
            while time.monotonic() < deadline:
                page = client.get(
                    f"/v1/projects/{pid}/changes", params={"since": token, "limit": 1000}
                ).json()["data"]
                token = page["next_token"]
                failed += sum(e["type"] == "job.media_failed" for e in page["events"])
                if images.requests >= jobs and failed >= len(dead):
                    break
                if not page["events"]:
                    time.sleep(0.05)
            elapsed = time.perf_counter() - started
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=30)
            images.shutdown()
            images.server_close()
    return {
        "jobs": jobs,
        "jobs_per_s": images.requests / elapsed,
        "failed": failed,
        "expected_failed": len(dead),
    }


def bench_presign(*, frames: int = 100, rounds: int = 50) -> dict[str, Any]:
    """What private-bucket media add to opening a job in the editor: presigning every URL of a
    one-image job and of a ``frames``-frame video job (median ms; the boto3 client is made once
    per connection and kept, as the server does)."""
    import statistics
    import tempfile

    from labelyard.config import Settings
    from labelyard.core.media import rewrite_media
    from labelyard.secretbox import secret_box
    from labelyard.services.media import Connection, MediaSigner

    with tempfile.TemporaryDirectory() as data_dir:
        signer = MediaSigner(secret_box(Settings(data_dir=data_dir)), link_seconds=3600)
    connection = Connection(
        id="c",
        scheme="s3",
        endpoint_url="",
        region="eu-west-1",
        bucket_prefix="acme",
        access_key_id="AKIDBENCH",
        secret_access_key="bench-secret",
    )
    image = {"image_url": "s3://acme/images/000001.jpg"}
    video = {
        "video_data": {
            "frames": [
                {"frame_id": str(i), "src": f"s3://acme/seq/{i:06d}.jpg"} for i in range(frames)
            ]
        }
    }

    def median_ms(data: dict[str, Any]) -> float:
        times = []
        for _ in range(rounds):
            started = time.perf_counter()
            rewrite_media(data, lambda url: signer.media_url([connection], url))
            times.append((time.perf_counter() - started) * 1000)
        return statistics.median(times)

    median_ms(image)  # the first use makes the client
    return {"image_ms": median_ms(image), f"video_{frames}_frames_ms": median_ms(video)}
