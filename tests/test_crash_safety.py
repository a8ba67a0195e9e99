"""SIGKILL the server in the middle of a bulk import: nothing half-done, and a resend completes."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
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

JOBS, PER_CALL = 50_000, 10_000


@contextmanager
def serving(env: dict[str, str], port: int) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "labelyard", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 180  # start-up on a loaded machine
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.05)
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()


@pytest.fixture(params=BACKENDS)
def crash_env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    backend: str = request.param
    url = database_url(backend, tmp_path, request)
    fresh = ""
    if backend == "postgresql":
        base, _, name = url.rpartition("/")
        fresh = f"{name}_crash"
        pg_admin(PG_URL, f'DROP DATABASE IF EXISTS "{fresh}"')
        pg_admin(PG_URL, f'CREATE DATABASE "{fresh}"')
        url = f"{base}/{fresh}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LABELYARD_")} | {
        "LABELYARD_DATA_DIR": str(tmp_path),
        "LABELYARD_DATABASE_URL": url,
        "LABELYARD_ADMIN_TOKEN": "crash",
        "LABELYARD_LOG_FORMAT": "text",
    }
    yield env
    if fresh:
        pg_admin(PG_URL, f'DROP DATABASE IF EXISTS "{fresh}" WITH (FORCE)')


def _counts(env: dict[str, str], project_id: str) -> tuple[int, int, int]:
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


def test_sigkill_mid_bulk_import_loses_nothing_acknowledged(crash_env: dict[str, str]) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with serving(crash_env, port) as server:
        created = httpx.post(
            f"{base}/admin/v1/projects",
            headers={"authorization": "Bearer crash"},
            json={"name": "crash", "base": "IMAGE"},
        ).json()["data"]
        pid, key = created["project_id"], {"x-api-key": created["api_key"]}
        calls = [
            {
                "jobs": [
                    {
                        "reference_id": f"c{i}",
                        "tag": "default",
                        "data": {"image_url": f"https://img.example/{i}.jpg"},
                    }
                    for i in range(start, start + PER_CALL)
                ]
            }
            for start in range(0, JOBS, PER_CALL)
        ]
        acknowledged: list[int] = []

        def send() -> None:
            with httpx.Client(base_url=base, headers=key, timeout=120) as client:
                for body in calls:
                    try:
                        reply = client.post(f"/v1/projects/{pid}/jobs/bulk", json=body)
                    except httpx.TransportError:
                        return
                    acknowledged.append(sum(r["created"] for r in reply.json()["data"]["results"]))

        sender = threading.Thread(target=send)
        sender.start()
        while not acknowledged and sender.is_alive():
            time.sleep(0.01)
        time.sleep(0.15)  # well into the next call
        server.send_signal(signal.SIGKILL)
        sender.join(timeout=60)
    assert 1 <= len(acknowledged) < len(calls), "the kill should land mid-import"

    rows, kept, events = _counts(crash_env, pid)
    # Whole calls or nothing: every acknowledged call is there, no partial call is.
    assert rows % PER_CALL == 0 and rows >= sum(acknowledged)
    assert kept == rows and events == rows  # counters and outbox match the rows

    with serving(crash_env, port), httpx.Client(base_url=base, headers=key, timeout=120) as client:
        created_again = 0
        for body in calls:
            results: list[dict[str, Any]] = client.post(
                f"/v1/projects/{pid}/jobs/bulk", json=body
            ).json()["data"]["results"]
            assert all("error" not in r for r in results)
            created_again += sum(r["created"] for r in results)
    assert created_again == JOBS - rows
    assert _counts(crash_env, pid) == (JOBS, JOBS, JOBS)
