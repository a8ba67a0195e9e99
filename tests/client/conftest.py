"""Helpers of the client tests: jobs completed through the worker API, and the client CLI."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from tests.conftest import ProjectHandle, Server, WorkerHandle

LABELYARD = [sys.executable, "-m", "labelyard"]

BOX = {
    "_id": "r1",
    "label": "car",
    "attributes": {},
    "coordinates": [
        {"x": 0.1, "y": 0.2},
        {"x": 0.4, "y": 0.2},
        {"x": 0.4, "y": 0.5},
        {"x": 0.1, "y": 0.5},
    ],
}


def complete_next(worker: WorkerHandle, project_id: str) -> str:
    """Claim the next job, submit one box and accept it in review: the job is completed."""
    base = f"/work/v1/projects/{project_id}"

    def post(path: str, body: dict[str, Any]) -> Any:
        response = worker.api.post(f"{base}/{path}", json=body)
        assert response.status_code == 200, response.text
        return response.json()["data"]

    job_id: str = post("claim", {"step": "annotate"})["job_id"]
    post(f"jobs/{job_id}/submit", {"annotations": {"rectangles": [BOX]}})
    post("claim", {"step": "review"})
    post(f"jobs/{job_id}/review", {"decision": "accept"})
    return job_id


def cli_env(server: Server, project: ProjectHandle) -> dict[str, str]:
    """The environment that points the client commands at the server with the project's key."""
    return {
        **os.environ,
        "LABELYARD_URL": server.base_url,
        "LABELYARD_API_KEY": project.api_key,
    }


def cli(server: Server, project: ProjectHandle, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``labelyard ARGS`` as a real process."""
    return subprocess.run(
        [*LABELYARD, *args],
        env=cli_env(server, project),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@contextmanager
def flaky_front(
    server: Server, *failures: tuple[int, dict[str, str]]
) -> Iterator[tuple[str, list[float]]]:
    """An HTTP server on loopback in front of ``server``: it answers ``failures`` (status,
    headers) to the first requests, then passes every request on. Yields its URL and the times
    requests reached it."""
    asked: list[float] = []

    class Front(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(time.monotonic())
            if len(asked) <= len(failures):
                status, headers = failures[len(asked) - 1]
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", "0")
                self.end_headers()
                return
            forwarded = {k: v for k, v in self.headers.items() if k.lower() != "host"}
            answer = httpx.get(f"{server.base_url}{self.path}", headers=forwarded)
            self.send_response(answer.status_code)
            self.send_header("content-type", answer.headers.get("content-type", ""))
            self.send_header("content-length", str(len(answer.content)))
            self.end_headers()
            self.wfile.write(answer.content)

        def log_message(self, *args: Any) -> None:
            pass

    front = ThreadingHTTPServer(("127.0.0.1", 0), Front)
    thread = threading.Thread(target=front.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{front.server_address[1]}", asked
    finally:
        front.shutdown()
        front.server_close()
