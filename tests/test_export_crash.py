"""A ``labelyard worker`` SIGKILLed in the middle of an export: another worker redoes it whole."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

import orjson
import pytest

from tests.conftest import ProjectHandle, Server
from tests.exports.seed import seed_completed

pytestmark = pytest.mark.slow  # several processes: run in CI (see tests/conftest.py)

JOBS = 30_000


def _worker(server: Server) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LABELYARD_")} | {
        "LABELYARD_DATA_DIR": str(server.settings.data_dir),
        "LABELYARD_DATABASE_URL": server.settings.database_url,
        "LABELYARD_EXPORT_LOCK_SECONDS": "2",
        "LABELYARD_WORKER_POLL_SECONDS": "0.05",
        "LABELYARD_LOG_FORMAT": "text",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "labelyard", "worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _status(p: ProjectHandle, export_id: str) -> dict[str, Any]:
    found: dict[str, Any] = p.api.get(f"/v1/projects/{p.project_id}/exports/{export_id}").json()[
        "data"
    ]
    return found


def test_worker_killed_mid_export_leaves_it_to_another(
    server: Server, project: ProjectHandle
) -> None:
    seed_completed(
        server.settings.resolved_database_url(),
        project_id=project.project_id,
        batch_id=project.default_batch_id,
        workflow_id=project.work_flow_id,
        count=JOBS,
    )
    queued = project.api.post(
        f"/v1/projects/{project.project_id}/exports", json={"format": "ndjson"}
    ).json()["data"]
    export_id = queued["export_id"]

    first = _worker(server)
    try:
        deadline = time.monotonic() + 180  # start-up on a loaded machine
        while _status(project, export_id)["done_jobs"] == 0:  # progress is recorded mid-way
            assert time.monotonic() < deadline, "the export never started"
            time.sleep(0.02)
        first.send_signal(signal.SIGKILL)
    finally:
        first.wait()
    killed = _status(project, export_id)
    assert killed["status"] == "running" and 0 < killed["done_jobs"] < JOBS

    second = _worker(server)
    try:
        deadline = time.monotonic() + 120
        while (done := _status(project, export_id))["status"] != "done":
            assert done["status"] != "failed", done
            assert time.monotonic() < deadline, "the export was not taken over"
            time.sleep(0.1)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=30)
    assert (done["done_jobs"], done["total_jobs"]) == (JOBS, JOBS)
    link = project.api.get("/v1/attachments", params={"url": done["download_url"]})
    assert link.status_code == 302
    with server.client() as anonymous:
        body = anonymous.get(link.headers["location"]).content
    lines = [orjson.loads(line) for line in body.splitlines()]
    assert len(lines) == JOBS and len({line["job_id"] for line in lines}) == JOBS


def test_worker_start_sweeps_scratch_folders_of_interrupted_exports(tmp_path: Any) -> None:
    from labelyard.config import Settings
    from labelyard.services.export_runs import sweep_scratch

    settings = Settings(data_dir=tmp_path, export_lock_seconds=60)
    scratch = tmp_path / "tmp"
    old, live = scratch / "export-old", scratch / "export-live"
    for folder in (old, live):
        folder.mkdir(parents=True)
        (folder / "e.ndjson").write_bytes(b"{}\n")
    long_ago = time.time() - 3600
    for path in (old / "e.ndjson", old):
        os.utime(path, (long_ago, long_ago))
    os.utime(live, (long_ago, long_ago))  # the folder is old, but its file is being written
    assert sweep_scratch(settings) == 1
    assert not old.exists() and live.exists()
