"""``labelyard worker`` processes: killed mid-delivery, and two of them sharing the work."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from tests.conftest import ProjectHandle, Server
from tests.receiver import receiver

pytestmark = pytest.mark.slow  # several processes: run in CI (see tests/conftest.py)


@contextmanager
def worker_process(server: Server) -> Iterator[subprocess.Popen[bytes]]:
    """A ``labelyard worker`` on the test server's database, stopped (or killed) afterwards."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LABELYARD_")} | {
        "LABELYARD_DATA_DIR": str(server.settings.data_dir),
        "LABELYARD_DATABASE_URL": server.settings.database_url,
        "LABELYARD_WEBHOOKS_ALLOW_PRIVATE": "1",
        "LABELYARD_WEBHOOK_TIMEOUT_SECONDS": "2",
        "LABELYARD_WEBHOOK_RETRY_BASE_SECONDS": "0.2",
        "LABELYARD_WORKER_POLL_SECONDS": "0.05",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "labelyard", "worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _hook(p: ProjectHandle, url: str) -> dict[str, Any]:
    response = p.api.post(
        f"/v1/projects/{p.project_id}/webhooks", json={"url": url, "event_types": ["job.created"]}
    )
    assert response.status_code == 200, response.text
    created: dict[str, Any] = response.json()["data"]
    return created


def _succeeded(p: ProjectHandle, endpoint_id: str) -> int:
    url = f"/v1/projects/{p.project_id}/webhooks/{endpoint_id}/deliveries"
    found = p.api.get(url, params={"status": "succeeded", "limit": "1000"}).json()["data"]
    return len(found["deliveries"])


def test_worker_killed_mid_delivery_leaves_the_event_to_another(
    server: Server, project: ProjectHandle
) -> None:
    # The first request is held long enough for the worker to be killed while waiting on it.
    with receiver(lambda _r, i: (200, 1.5 if i == 0 else 0)) as rx:
        endpoint = _hook(project, rx.url)
        project.api.post(f"/v1/projects/{project.project_id}/jobs", json=project.job("k1"))
        with worker_process(server) as first:
            rx.wait_for(lambda got: len(got) >= 1)
            first.send_signal(signal.SIGKILL)
            first.wait()
        assert _succeeded(project, endpoint["id"]) == 0  # the killed worker settled nothing
        with worker_process(server):
            rx.wait_for(lambda got: len(got) >= 2, timeout=30)
            deadline = time.monotonic() + 20
            while _succeeded(project, endpoint["id"]) != 1:
                assert time.monotonic() < deadline
                time.sleep(0.1)
    ids = {r.headers["webhook-id"] for r in rx.requests}
    assert len(ids) == 1 and len(rx.requests) == 2


def test_two_workers_deliver_1000_events_each_once(server: Server, project: ProjectHandle) -> None:
    with receiver(lambda _r, _i: (200, 0)) as rx:
        endpoint = _hook(project, rx.url)
        jobs = [project.job(f"e{i}") for i in range(1000)]
        reply = project.api.post(
            f"/v1/projects/{project.project_id}/jobs/bulk", json={"jobs": jobs}
        )
        assert reply.status_code == 200
        with worker_process(server), worker_process(server):
            rx.wait_for(
                lambda got: len({r.headers["webhook-id"] for r in got}) >= 1000, timeout=120
            )
            time.sleep(1.0)  # anything sent twice would arrive by now
    ids = [r.headers["webhook-id"] for r in rx.requests]
    assert len(set(ids)) == 1000
    assert len(ids) == 1000, f"{len(ids) - len(set(ids))} duplicate deliveries"
    references = {r.json["data"]["reference_id"] for r in rx.requests}
    assert references == {f"e{i}" for i in range(1000)}
    assert endpoint["id"]
