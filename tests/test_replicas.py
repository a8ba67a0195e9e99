"""Two ``labelyard serve`` processes on one database, 8 workers claiming through both."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from labelyard.store.engine import Database
from labelyard.store.tables import batch, job, job_transition
from tests.conftest import BACKENDS, PG_URL, database_url, free_port, pg_admin

JOBS = 60
WORKERS = 8


@pytest.fixture(params=BACKENDS)
def replicas(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[list[str], dict[str, str]]]:
    """Two server processes sharing one database (and one data dir for blobs and the token)."""
    backend: str = request.param
    env = {k: v for k, v in os.environ.items() if not k.startswith("LABELYARD_")}
    env |= {
        "LABELYARD_DATA_DIR": str(tmp_path),
        "LABELYARD_DATABASE_URL": database_url(backend, tmp_path, request),
        "LABELYARD_ADMIN_TOKEN": "replica-admin-token",
    }
    fresh = ""
    if backend == "postgresql":  # a database of its own, not the session server's
        base, _, name = env["LABELYARD_DATABASE_URL"].rpartition("/")
        fresh = f"{name}_replicas"
        pg_admin(env["LABELYARD_DATABASE_URL"], f'DROP DATABASE IF EXISTS "{fresh}"')
        pg_admin(env["LABELYARD_DATABASE_URL"], f'CREATE DATABASE "{fresh}"')
        env["LABELYARD_DATABASE_URL"] = f"{base}/{fresh}"
    ports = [free_port(), free_port()]
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "labelyard", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for port in ports
    ]
    try:
        urls = [f"http://127.0.0.1:{port}" for port in ports]
        deadline = time.monotonic() + 180  # start-up on a loaded machine
        for url in urls:
            while True:
                try:
                    if httpx.get(f"{url}/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "replica did not start"
                time.sleep(0.1)
        yield urls, env
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(timeout=30)
        if fresh:
            pg_admin(PG_URL, f'DROP DATABASE IF EXISTS "{fresh}" WITH (FORCE)')


def test_no_job_is_held_by_two_workers_and_each_completes_once(
    replicas: tuple[list[str], dict[str, str]],
) -> None:
    urls, env = replicas
    admin = {"authorization": "Bearer replica-admin-token"}
    created = httpx.post(
        f"{urls[0]}/admin/v1/projects", headers=admin, json={"name": "replicas", "base": "IMAGE"}
    ).json()["data"]
    pid, key = created["project_id"], created["api_key"]
    # Each worker annotates and then reviews; who reviews whose work is tests/test_queue_rules.py's.
    allowed = httpx.patch(
        f"{urls[0]}/v1/projects/{pid}/quality",
        headers={"x-api-key": key},
        json={"allow_self_review": True},
    )
    assert allowed.status_code == 200, allowed.text
    jobs = [
        {
            "reference_id": f"r{i}",
            "work_flow_id": created["work_flow_id"],
            "data": {"image_url": f"https://img.example/{i}.jpg"},
        }
        for i in range(JOBS)
    ]
    reply = httpx.post(
        f"{urls[1]}/v1/projects/{pid}/jobs/bulk",
        headers={"x-api-key": key},
        json={"jobs": jobs},
        timeout=60,
    )
    assert reply.status_code == 200
    tokens = [
        httpx.post(
            f"{urls[0]}/admin/v1/accounts/{created['account_id']}/workers",
            headers=admin,
            json={"name": f"w{i}", "role": "both"},
        ).json()["data"]["token"]
        for i in range(WORKERS)
    ]
    held: dict[str, str] = {}  # job id -> worker holding it right now
    lock = threading.Lock()
    claims: Counter[tuple[str, str]] = Counter()
    errors: list[str] = []

    def work(index: int) -> None:
        with httpx.Client(
            headers={"authorization": f"Bearer {tokens[index]}"}, timeout=60
        ) as client:
            turn = index
            for step in ("annotate", "review"):
                while True:
                    base = urls[turn % 2]
                    turn += 1
                    response = client.post(
                        f"{base}/work/v1/projects/{pid}/claim", json={"step": step}
                    )
                    if response.status_code == 204:
                        break
                    if response.status_code != 200:
                        errors.append(response.text)
                        return
                    job_id = response.json()["data"]["job_id"]
                    with lock:
                        if job_id in held:
                            errors.append(
                                f"{job_id} claimed by {index} while held by {held[job_id]}"
                            )
                        held[job_id] = str(index)
                        claims[(job_id, step)] += 1
                    action = "submit" if step == "annotate" else "review"
                    body: dict[str, Any] = {"annotations": {"rectangles": []}}
                    if step == "review":
                        body = {"decision": "accept"}
                    with lock:
                        del held[job_id]
                    done = client.post(
                        f"{urls[turn % 2]}/work/v1/projects/{pid}/jobs/{job_id}/{action}", json=body
                    )
                    if done.status_code != 200:
                        errors.append(done.text)
                        return

    threads = [threading.Thread(target=work, args=(i,)) for i in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert errors == []
    # Each job was claimed exactly once per step: never by two workers, never lost.
    assert len(claims) == 2 * JOBS and set(claims.values()) == {1}

    async def counts() -> tuple[Any, ...]:
        db = Database(_async_url(env["LABELYARD_DATABASE_URL"]), pool_size=1)
        try:
            async with db.read() as conn:
                completed = await conn.scalar(
                    select(func.count()).where(job.c.project_id == pid, job.c.status == "completed")
                )
                accepted = await conn.scalar(
                    select(func.count()).where(
                        job_transition.c.project_id == pid, job_transition.c.action == "accept"
                    )
                )
                kept = (
                    await conn.execute(
                        select(
                            func.sum(batch.c.total_jobs),
                            func.sum(batch.c.completed_jobs),
                            func.sum(batch.c.completed_frames),
                        ).where(batch.c.project_id == pid)
                    )
                ).one()
                return completed, accepted, tuple(kept)
        finally:
            await db.dispose()

    completed, accepted, kept = asyncio.run(counts())
    assert completed == accepted == JOBS
    assert kept == (JOBS, JOBS, JOBS)


def test_a_revoked_key_is_refused_at_once_by_every_replica(
    replicas: tuple[list[str], dict[str, str]],
) -> None:
    """Keys are checked in the database on every read (no process keeps them), so a key revoked
    through one replica is refused by the other's next request, on each of its processes."""
    urls, _ = replicas
    admin = {"authorization": "Bearer replica-admin-token"}
    created = httpx.post(
        f"{urls[0]}/admin/v1/projects", headers=admin, json={"name": "keys", "base": "IMAGE"}
    ).json()["data"]
    pid, batch_id = created["project_id"], created["default_batch_id"]
    job = {
        "reference_id": "one",
        "work_flow_id": created["work_flow_id"],
        "data": {"image_url": "https://img.example/1.jpg"},
    }
    job_id = httpx.post(
        f"{urls[0]}/v1/projects/{pid}/jobs", headers={"x-api-key": created["api_key"]}, json=job
    ).json()["data"]["job_id"]
    second = httpx.post(
        f"{urls[0]}/admin/v1/accounts/{created['account_id']}/keys", headers=admin
    ).json()["data"]
    paths = (f"/v1/projects/{pid}/batch/{batch_id}", f"/v1/projects/{pid}/jobs/{job_id}")
    # Fresh connections each time: the requests spread over every process of each replica.
    headers = {"x-api-key": second["api_key"], "connection": "close"}
    for url in urls:
        for path in paths * 4:
            assert httpx.get(url + path, headers=headers).status_code == 200
    revoked = httpx.post(f"{urls[1]}/admin/v1/keys/{second['key_id']}/revoke", headers=admin)
    assert revoked.status_code == 200
    for url in urls:
        for path in paths * 4:
            reply = httpx.get(url + path, headers=headers)
            assert reply.status_code == 401 and reply.json()["error"]["code"] == "auth-failure"
        for path in paths:
            owner = {"x-api-key": created["api_key"]}
            assert httpx.get(url + path, headers=owner).status_code == 200


def _async_url(url: str) -> str:
    from labelyard.config import Settings

    return Settings(database_url=url).resolved_database_url()
