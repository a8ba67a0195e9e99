"""``labelyard serve --workers 2``: two server processes on one port and one database."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from labelyard.config import Settings
from labelyard.store.engine import Database
from labelyard.store.tables import batch, event, job
from tests.conftest import BACKENDS, PG_URL, database_url, free_port, pg_admin

pytestmark = pytest.mark.slow  # several processes: run in CI (see tests/conftest.py)

CREATORS, PER_CREATOR = 6, 25


def _children(parent: int) -> list[int]:
    """The server processes uvicorn spawned under ``parent`` (not its resource tracker)."""
    found: list[int] = []
    for task in Path(f"/proc/{parent}/task").iterdir():
        for pid in (task / "children").read_text().split():
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            if b"spawn_main" in cmdline:
                found.append(int(pid))
    return found


def _cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def _wait_ready(base: str) -> None:
    deadline = time.monotonic() + 90
    while True:
        try:
            if httpx.get(f"{base}/readyz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.1)


@pytest.fixture(params=BACKENDS)
def two_workers(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[str, subprocess.Popen[bytes], dict[str, str]]]:
    """``labelyard serve --workers 2`` on a fresh database; its URL, process and environment."""
    backend: str = request.param
    url = database_url(backend, tmp_path, request)
    fresh = ""
    if backend == "postgresql":
        base, _, name = url.rpartition("/")
        fresh = f"{name}_workers"
        pg_admin(PG_URL, f'DROP DATABASE IF EXISTS "{fresh}"')
        pg_admin(PG_URL, f'CREATE DATABASE "{fresh}"')
        url = f"{base}/{fresh}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LABELYARD_")} | {
        "LABELYARD_DATA_DIR": str(tmp_path),
        "LABELYARD_DATABASE_URL": url,
        "LABELYARD_ADMIN_TOKEN": "workers-admin",
        "LABELYARD_LOG_FORMAT": "text",
    }
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "labelyard", "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base_url = f"http://127.0.0.1:{port}"
        _wait_ready(base_url)
        yield base_url, process, env
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if fresh:
            pg_admin(PG_URL, f'DROP DATABASE IF EXISTS "{fresh}" WITH (FORCE)')


def _project(base: str) -> dict[str, Any]:
    created: dict[str, Any] = httpx.post(
        f"{base}/admin/v1/projects",
        headers={"authorization": "Bearer workers-admin"},
        json={"name": "workers", "base": "IMAGE"},
    ).json()["data"]
    return created


def _counts(env: dict[str, str], project_id: str) -> tuple[int, int, int]:
    """Job rows, the batches' job counters, and ``job.created`` events of the project."""

    async def run() -> tuple[int, int, int]:
        db = Database(Settings(database_url=env["LABELYARD_DATABASE_URL"]).resolved_database_url())
        try:
            async with db.read() as conn:
                rows = await conn.scalar(select(func.count()).where(job.c.project_id == project_id))
                kept = await conn.scalar(
                    select(func.sum(batch.c.total_jobs)).where(batch.c.project_id == project_id)
                )
                events = await conn.scalar(
                    select(func.count()).where(event.c.project_id == project_id)
                )
                return int(rows or 0), int(kept or 0), int(events or 0)
        finally:
            await db.dispose()

    return asyncio.run(run())


def _create(base: str, project: dict[str, Any], reference_id: str) -> str | None:
    """One create on a connection of its own (so the kernel spreads them over the processes);
    the job id, or None if the connection broke."""
    body = {
        "reference_id": reference_id,
        "work_flow_id": project["work_flow_id"],
        "data": {"image_url": f"https://img.example/{reference_id}.jpg"},
    }
    try:
        reply = httpx.post(
            f"{base}/v1/projects/{project['project_id']}/jobs",
            json=body,
            headers={"x-api-key": project["api_key"]},
            timeout=60,
        )
    except httpx.TransportError:
        return None
    assert reply.status_code == 200, reply.text
    job_id: str = reply.json()["data"]["job_id"]
    return job_id


def _walk(base: str, project: dict[str, Any], limit: int) -> list[str]:
    url = f"{base}/v1/projects/{project['project_id']}/batch/{project['default_batch_id']}"
    seen: list[str] = []
    token = ""
    with httpx.Client(headers={"x-api-key": project["api_key"]}, timeout=60) as client:
        while True:
            params = {"limit": str(limit), **({"page_token": token} if token else {})}
            page = client.get(url, params=params).json()["data"]
            seen += [j["id"] for j in page["jobs"]]
            token = page["next_page_token"]
            if not token:
                return seen


def test_two_workers_create_and_page_each_job_once_in_order(
    two_workers: tuple[str, subprocess.Popen[bytes], dict[str, str]],
) -> None:
    base, process, env = two_workers
    project = _project(base)
    servers = _children(process.pid)
    assert len(servers) == 2
    before = {pid: _cpu_ticks(pid) for pid in servers}
    created: dict[int, list[str]] = {n: [] for n in range(CREATORS)}
    walks: list[list[str]] = []
    done = threading.Event()

    def creator(n: int) -> None:
        for i in range(PER_CREATOR):
            job_id = _create(base, project, f"c{n}-{i}")
            assert job_id is not None
            created[n].append(job_id)

    def pager() -> None:
        while not done.is_set():
            walks.append(_walk(base, project, 7))

    threads = [threading.Thread(target=creator, args=(n,)) for n in range(CREATORS)]
    paging = threading.Thread(target=pager)
    paging.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    done.set()
    paging.join()

    final = _walk(base, project, 50)
    everything = [job_id for ids in created.values() for job_id in ids]
    assert len(final) == len(set(final)) == CREATORS * PER_CREATOR
    assert set(final) == set(everything)
    position = {job_id: i for i, job_id in enumerate(final)}
    for ids in created.values():  # each client's jobs in the order it created them
        assert [position[j] for j in ids] == sorted(position[j] for j in ids)
    for walk in walks:  # a walk during the creates saw a prefix of the final order, each once
        assert walk == final[: len(walk)]
    assert _counts(env, project["project_id"]) == (len(final), len(final), len(final))
    # Both processes served (each spent CPU on the requests).
    assert all(_cpu_ticks(pid) > before[pid] for pid in servers)


def test_sigkill_of_one_worker_leaves_the_other_serving(
    two_workers: tuple[str, subprocess.Popen[bytes], dict[str, str]],
) -> None:
    base, process, env = two_workers
    project = _project(base)
    victim, survivor = _children(process.pid)
    acknowledged: list[str] = []
    broken = 0
    stop = threading.Event()

    def creator(n: int) -> None:
        nonlocal broken
        i = 0
        while not stop.is_set():
            job_id = _create(base, project, f"k{n}-{i}")
            i += 1
            if job_id is None:
                broken += 1
            else:
                acknowledged.append(job_id)

    threads = [threading.Thread(target=creator, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    while len(acknowledged) < 40:
        time.sleep(0.01)
    os.kill(victim, signal.SIGKILL)
    # The survivor answers at once, and every request after the kill is answered.
    for i in range(30):
        assert _create(base, project, f"after-{i}") is not None
    stop.set()
    for thread in threads:
        thread.join()
    assert os.path.exists(f"/proc/{survivor}")
    final = _walk(base, project, 100)
    assert len(final) == len(set(final))
    assert set(acknowledged) <= set(final)
    # Nothing half-written: a create the kill cut off is either whole or absent.
    assert _counts(env, project["project_id"]) == (len(final), len(final), len(final))
    # The supervisor replaces the dead process.
    deadline = time.monotonic() + 180  # start-up on a loaded machine
    while len(_children(process.pid)) < 2 or victim in _children(process.pid):
        assert time.monotonic() < deadline, "the dead worker was not replaced"
        time.sleep(0.2)
