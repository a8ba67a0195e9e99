"""``labelyard serve`` as a newcomer runs it: first start, printed curl commands, loopback."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.conftest import free_port


@contextmanager
def serving(command: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    """Run ``labelyard serve``; always stopped (SIGTERM) and its pipes closed afterwards."""
    with subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    ) as process:
        try:
            yield process
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)


def test_first_serve_prints_curl_commands_that_work(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LABELYARD_")}
    env["LABELYARD_DATA_DIR"] = str(tmp_path / "data")
    command = [sys.executable, "-m", "labelyard", "serve", "--port", str(port)]
    with serving(command, env) as process:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(4)]
        admin_token, create, listing, worker_token = (line.strip() for line in lines)
        assert create.startswith("curl ") and listing.startswith("curl "), lines
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 180  # start-up on a loaded machine
        while True:
            try:
                if httpx.get(f"{base}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "server did not become ready"
            time.sleep(0.1)

        def run(command: str) -> dict[str, object]:
            done = subprocess.run(command, shell=True, capture_output=True, text=True, check=True)
            value: dict[str, object] = json.loads(done.stdout)
            return value

        created = run(create)
        assert created["success"] is True
        page = run(listing)
        assert page["success"] is True
        jobs = page["data"]["jobs"]  # type: ignore[index]
        # The demo's four street pictures, then the job the printed command made.
        assert [job["reference_id"] for job in jobs] == [
            "street-1",
            "street-2",
            "street-3",
            "street-4",
            "my-first-job",
        ]
        assert jobs[-1]["id"] == created["data"]["job_id"]  # type: ignore[index]
        # The demo's one worker annotates and then reviews its own work (a demo allows it).
        pid = listing.split("/projects/", 1)[1].split("/", 1)[0]
        with httpx.Client(
            base_url=base, headers={"authorization": f"Bearer {worker_token}"}
        ) as demo:
            path = f"/work/v1/projects/{pid}"
            job = demo.post(f"{path}/claim", json={"step": "annotate"}).json()["data"]
            done = demo.post(f"{path}/jobs/{job['job_id']}/submit", json={"annotations": {}})
            assert done.status_code == 200, done.text
            review = demo.post(f"{path}/claim", json={"step": "review"})
            assert review.status_code == 200 and review.json()["data"]["job_id"] == job["job_id"]
        assert (tmp_path / "data" / "admin_token").read_text().strip() == admin_token
        me = httpx.post(
            f"{base}/admin/v1/accounts",
            json={"name": "second"},
            headers={"authorization": f"Bearer {admin_token}"},
        )
        assert me.status_code == 200
        # The printed worker token signs in to the web UI and finds the demo project's queue.
        with httpx.Client(base_url=base) as browser:
            login = browser.get("/ui/login").text
            csrf = login.split('name="csrf" value="', 1)[1].split('"', 1)[0]
            form = {"csrf": csrf, "method": "token", "secret": worker_token}
            assert browser.post("/ui/login", data=form).headers["location"] == "/ui/queue"
            queue = browser.get("/ui/queue").text
            assert "Demo images" in queue
            # The SENSOR_FUSION demo: a street scene whose lidar is converted already.
            assert "Demo street (lidar)" in queue
            image = browser.get("/demo-media/sf-front-000.png")
            assert image.status_code == 200 and image.headers["content-type"] == "image/png"
            assert browser.get("/demo-media/sf-lidar-000.pcd").content.startswith(b"# .PCD")
    # A second start finds the data: no new demo, no new token printed.
    with serving(command, env) as again:
        assert again.stdout is not None
        time.sleep(3)
        again.send_signal(signal.SIGTERM)
        out = again.stdout.read()
    assert "curl" not in out and admin_token not in out and worker_token not in out
