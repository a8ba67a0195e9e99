"""The scale-out recipe of docs/deploy.md, for real: two ``labelyard serve`` replicas and one
``labelyard worker`` on one PostgreSQL and one S3-compatible store, traffic to both replicas."""

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

import boto3
import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, select

from labelyard.config import Settings
from labelyard.store.engine import Database
from labelyard.store.tables import batch, job
from tests.conftest import PG_URL, free_port, pg_admin
from tests.receiver import receiver
from tests.s3 import S3Endpoint, s3_server

pytestmark = pytest.mark.slow  # several processes: run in CI (see tests/conftest.py)

JOBS = 300


def _wait_ready(url: str) -> None:
    deadline = time.monotonic() + 180  # start-up on a loaded machine
    while True:
        try:
            if httpx.get(f"{url}/readyz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"{url} did not start"
        time.sleep(0.1)


@pytest.fixture
def cluster(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[list[str], dict[str, str], S3Endpoint]]:
    database: str = request.getfixturevalue("pg_database")
    base, _, name = database.rpartition("/")
    fresh = f"{name}_cluster"
    pg_admin(PG_URL, f'DROP DATABASE IF EXISTS "{fresh}"')
    pg_admin(PG_URL, f'CREATE DATABASE "{fresh}"')
    with s3_server() as s3:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LABELYARD_")} | {
            "LABELYARD_DATABASE_URL": f"{base}/{fresh}",
            "LABELYARD_ADMIN_TOKEN": "cluster-admin",
            # Every replica and worker seals and opens secrets with the same key.
            "LABELYARD_SECRET_KEY": Fernet.generate_key().decode(),
            "LABELYARD_BLOB_URL": f"s3://{s3.bucket}/labelyard",
            "LABELYARD_S3_ENDPOINT_URL": s3.endpoint_url,
            "LABELYARD_S3_REGION": s3.region,
            "LABELYARD_S3_ACCESS_KEY_ID": s3.access_key_id,
            "LABELYARD_S3_SECRET_ACCESS_KEY": s3.secret_access_key,
            "LABELYARD_WEBHOOKS_ALLOW_PRIVATE": "1",
            "LABELYARD_WORKER_POLL_SECONDS": "0.05",
            "LABELYARD_LOG_FORMAT": "text",
        }
        processes = []
        urls = []
        try:
            for i in range(2):
                port = free_port()
                replica_env = env | {"LABELYARD_DATA_DIR": str(tmp_path / f"replica{i}")}
                processes.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "labelyard", "serve", "--port", str(port)],
                        env=replica_env,
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                )
                urls.append(f"http://127.0.0.1:{port}")
            for url in urls:
                _wait_ready(url)
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "labelyard", "worker"],
                    env=env | {"LABELYARD_DATA_DIR": str(tmp_path / "worker")},
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
            yield urls, env, s3
        finally:
            for process in processes:
                process.send_signal(signal.SIGTERM)
            for process in processes:
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
            pg_admin(PG_URL, f'DROP DATABASE IF EXISTS "{fresh}" WITH (FORCE)')


def test_two_replicas_one_worker_postgresql_and_s3(
    cluster: tuple[list[str], dict[str, str], S3Endpoint],
) -> None:
    urls, env, s3 = cluster
    admin = {"authorization": "Bearer cluster-admin"}
    project = httpx.post(
        f"{urls[0]}/admin/v1/projects", headers=admin, json={"name": "cluster", "base": "IMAGE"}
    ).json()["data"]
    pid, key = project["project_id"], {"x-api-key": project["api_key"]}
    page_url = f"/v1/projects/{pid}/batch/{project['default_batch_id']}"
    tokens = [
        httpx.post(
            f"{urls[0]}/admin/v1/accounts/{project['account_id']}/workers",
            headers=admin,
            json={"name": f"w{i}", "role": "both"},
        ).json()["data"]["token"]
        for i in range(4)
    ]
    with receiver(lambda _r, _i: (200, 0)) as rx:
        hook = httpx.post(
            f"{urls[1]}/v1/projects/{pid}/webhooks",
            headers=key,
            json={"url": rx.url, "event_types": ["*"]},
        )
        assert hook.status_code == 200

        created: list[str] = []

        def create() -> None:  # through replica 0, in small bulks
            with httpx.Client(base_url=urls[0], headers=key, timeout=60) as api:
                for start in range(0, JOBS, 20):
                    body = {
                        "jobs": [
                            {
                                "reference_id": f"c{i}",
                                "tag": "default",
                                "data": {"image_url": f"https://img.example/{i}.jpg"},
                            }
                            for i in range(start, start + 20)
                        ]
                    }
                    results = api.post(f"/v1/projects/{pid}/jobs/bulk", json=body).json()
                    created.extend(r["job_id"] for r in results["data"]["results"])

        creator = threading.Thread(target=create)
        creator.start()

        def traverse(api: httpx.Client) -> list[str]:
            ids: list[str] = []
            token = ""
            while True:
                params = {"limit": "7", **({"page_token": token} if token else {})}
                page = api.get(page_url, params=params).json()["data"]
                ids += [j["id"] for j in page["jobs"]]
                token = page["next_page_token"]
                if not token:
                    return ids

        # Page through replica 1 while jobs are created through replica 0: every traversal
        # sees a prefix of the creation order, each job once; the last one sees them all.
        traversals = 0
        with httpx.Client(base_url=urls[1], headers=key, timeout=60) as api:
            while creator.is_alive():
                seen = traverse(api)
                known = list(created)  # a bulk may be committed before its answer is counted
                common = min(len(seen), len(known))
                assert seen[:common] == known[:common] and len(set(seen)) == len(seen)
                traversals += 1
            creator.join()
            assert traverse(api) == created
        assert traversals >= 1 and len(created) == JOBS

        claims: Counter[tuple[str, str]] = Counter()
        lock = threading.Lock()
        errors: list[str] = []

        def work(index: int) -> None:
            base = urls[index % 2]
            with httpx.Client(
                base_url=base, timeout=60, headers={"authorization": f"Bearer {tokens[index]}"}
            ) as api:
                for step in ("annotate", "review"):
                    while True:
                        got = api.post(f"/work/v1/projects/{pid}/claim", json={"step": step})
                        if got.status_code == 204:
                            break
                        job_id = got.json()["data"]["job_id"]
                        with lock:
                            claims[(job_id, step)] += 1
                        action, body = (
                            ("submit", {"annotations": {}})
                            if step == "annotate"
                            else ("review", {"decision": "accept"})
                        )
                        done = api.post(
                            f"/work/v1/projects/{pid}/jobs/{job_id}/{action}", json=body
                        )
                        if done.status_code != 200:
                            errors.append(done.text)

        threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)
        assert errors == []
        assert len(claims) == 2 * JOBS and set(claims.values()) == {1}  # no double claims

        # Every event is delivered: created, status changes, completions, the batch's end.
        feed: list[dict[str, Any]] = []
        since = ""
        with httpx.Client(base_url=urls[0], headers=key, timeout=60) as api:
            while True:
                page = api.get(
                    f"/v1/projects/{pid}/changes",
                    params={"limit": "1000", **({"since": since} if since else {})},
                )
                events = page.json()["data"]["events"]
                if not events:
                    break
                feed += events
                since = page.json()["data"]["next_token"]
        assert Counter(e["type"] for e in feed)["job.completed"] == JOBS
        expected = {e["id"] for e in feed}
        rx.wait_for(lambda got: {r.headers["webhook-id"] for r in got} >= expected, timeout=120)

    # Results went to S3; counters equal a fresh COUNT(*).
    objects = boto3.client(
        "s3",
        endpoint_url=s3.endpoint_url,
        region_name=s3.region,
        aws_access_key_id=s3.access_key_id,
        aws_secret_access_key=s3.secret_access_key,
    ).list_objects_v2(Bucket=s3.bucket, Prefix=f"labelyard/results/{pid}/")
    assert objects["KeyCount"] == JOBS
    with httpx.Client(base_url=urls[1], headers=key, timeout=60) as api:
        view = api.get(f"/v1/projects/{pid}/jobs/{created[0]}").json()["data"]
        link = api.get("/v1/attachments", params={"url": view["result"]})
        assert link.status_code == 302
        assert httpx.get(link.headers["location"]).json()["data"]["annotations"]["rectangles"] == []

    async def counts() -> tuple[Any, ...]:
        db = Database(Settings(database_url=env["LABELYARD_DATABASE_URL"]).resolved_database_url())
        try:
            async with db.read() as conn:
                rows = await conn.scalar(
                    select(func.count()).where(job.c.project_id == pid, job.c.status == "completed")
                )
                kept = (
                    await conn.execute(
                        select(
                            func.sum(batch.c.total_jobs), func.sum(batch.c.completed_jobs)
                        ).where(batch.c.project_id == pid)
                    )
                ).one()
                return rows, tuple(kept)
        finally:
            await db.dispose()

    assert asyncio.run(counts()) == (JOBS, (JOBS, JOBS))
