"""uvicorn (``labelyard serve --workers 2``) against granian (2 workers) on one SQLite file.

Not part of ``make bench``: granian is not a dependency (``.venv/bin/pip install granian``
first). Alternates the two servers ``--rounds`` times; each round seeds 1,000 jobs and runs
``wrk`` get-batch-jobs (32 connections) for ``--seconds``. Run with the repository as the
working directory: ``.venv/bin/python bench/servers.py``.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))

from harness import free_port
from wrk import _run

BIN = Path(sys.executable).parent


def _start(kind: str, env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    if kind == "uvicorn":
        command = [str(BIN / "labelyard"), "serve", "--port", str(port), "--workers", "2"]
    else:
        command = [str(BIN / "granian"), "--interface", "asgi", "--workers", "2", "--factory"]
        command += ["--port", str(port), "--no-ws", "labelyard.app:worker_app"]
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200:
                return process
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"{kind} did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=8.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LABELYARD_")}
        env |= {"LABELYARD_DATA_DIR": data, "LABELYARD_ADMIN_TOKEN": "t"}
        env["LABELYARD_LOG_LEVEL"] = "warning"
        subprocess.run(
            [str(BIN / "labelyard"), "migrate"], env=env, check=True, capture_output=True
        )
        for n in range(args.rounds):
            for kind in ("uvicorn", "granian"):
                port = free_port()
                process = _start(kind, env, port)
                base = f"http://127.0.0.1:{port}"
                try:
                    project = httpx.post(
                        f"{base}/admin/v1/projects",
                        headers={"authorization": "Bearer t"},
                        json={"name": f"{kind}-{n}", "base": "IMAGE"},
                    ).json()["data"]
                    key, pid = project["api_key"], project["project_id"]
                    seed = [
                        {
                            "reference_id": f"s{i}",
                            "work_flow_id": project["work_flow_id"],
                            "data": {"image_url": "https://img.example/x.jpg"},
                        }
                        for i in range(1000)
                    ]
                    httpx.post(
                        f"{base}/v1/projects/{pid}/jobs/bulk",
                        headers={"x-api-key": key},
                        json={"jobs": seed},
                        timeout=60,
                    ).raise_for_status()
                    url = f"{base}/v1/projects/{pid}/batch/{project['default_batch_id']}"
                    figures = _run([url], key, args.seconds, None)
                finally:
                    process.send_signal(signal.SIGTERM)
                    process.wait(timeout=30)
                print(
                    f"round {n} {kind:8} get-batch-jobs {figures['rps']:7,.0f} req/s  "
                    f"p50 {figures['p50_ms']:6.1f} ms  p99 {figures['p99_ms']:6.1f} ms  "
                    f"errors {figures['errors']:.0f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
