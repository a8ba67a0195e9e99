"""Bulk create and batch paging over HTTP (the core server's targets)."""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from typing import Any

import httpx
import orjson

BULK = 10_000


def _walk_seconds(client: httpx.Client, url: str, limit: int, jobs: int) -> float:
    """Seconds to read the whole batch, ``limit`` jobs a page."""
    started = time.perf_counter()
    seen, token = 0, ""
    while True:
        params = {"limit": str(limit), **({"page_token": token} if token else {})}
        reply = client.get(url, params=params)
        reply.raise_for_status()
        page = orjson.loads(reply.content)["data"]  # the client's own parsing kept small
        seen += len(page["jobs"])
        token = page["next_page_token"]
        if not token:
            break
    if seen != jobs:
        raise RuntimeError(f"walked {seen} jobs of {jobs}")
    return time.perf_counter() - started


def in_process_page_ms(env: dict[str, str], project_id: str, batch_id: str) -> float:
    """The floor under a page of 100: the server's own keyset query (``store.jobs.page_jobs``,
    on its own connection to the same database) and orjson of the same page, in this process,
    with no HTTP, authentication or framework; median of 200."""
    from labelyard.config import Settings
    from labelyard.store.engine import Database
    from labelyard.store.jobs import page_jobs

    url = Settings(
        data_dir=env["LABELYARD_DATA_DIR"], database_url=env.get("LABELYARD_DATABASE_URL", "")
    ).resolved_database_url()

    async def run() -> float:
        db = Database(url, pool_size=1)
        try:
            samples = []
            for i in range(220):
                began = time.perf_counter()
                async with db.read() as conn:
                    page = await page_jobs(
                        conn,
                        project_id=project_id,
                        batch_id=batch_id,
                        after=0,
                        statuses=(),
                        limit=101,
                    )
                assert page is not None
                name, rows = page
                orjson.dumps(
                    {
                        "success": True,
                        "data": {
                            "id": batch_id,
                            "project_id": project_id,
                            "name": name,
                            "jobs": [
                                {
                                    "id": r.id,
                                    "reference_id": r.reference_id,
                                    "status": r.status,
                                    "frames": r.frames,
                                    "annotations": r.annotations,
                                    "priority_weight": r.priority_weight,
                                    "tag": r.tag,
                                    "viewer_url": f"/ui/projects/{project_id}/jobs/{r.id}",
                                }
                                for r in rows[:100]
                            ],
                            "next_page_token": "x",
                        },
                    }
                )
                if i >= 20:
                    samples.append(time.perf_counter() - began)
            return statistics.median(samples) * 1000
        finally:
            await db.dispose()

    return asyncio.run(run())


def in_process_insert_rate(
    env: dict[str, str], project_id: str, batch_id: str, workflow_id: str, *, jobs: int = 20_000
) -> float:
    """The floor under bulk create: the same job rows (past the end of the batch) inserted by
    ``store.bulk.insert_many`` in transactions of 10,000, in this process, with no HTTP,
    validation, events or counters; jobs per second. The rows are removed afterwards."""
    from datetime import UTC, datetime

    from sqlalchemy import delete

    from labelyard.config import Settings
    from labelyard.store.bulk import insert_many
    from labelyard.store.engine import Database
    from labelyard.store.tables import job

    url = Settings(
        data_dir=env["LABELYARD_DATA_DIR"], database_url=env.get("LABELYARD_DATABASE_URL", "")
    ).resolved_database_url()

    async def run() -> float:
        db = Database(url, pool_size=1)
        try:
            now = datetime.now(UTC)
            rows = [
                {
                    "project_id": project_id,
                    "id": str(uuid.uuid4()),
                    "batch_id": batch_id,
                    "seq": 10_000_000 + i,
                    "reference_id": f"floor-{i}",
                    "payload_hash": "0" * 64,
                    "workflow_id": workflow_id,
                    "tag": "default",
                    "type": "IMAGE",
                    "priority_weight": 0,
                    "status": "created",
                    "frames": 1,
                    "annotations": 0,
                    "data": {"image_url": f"https://img.example/{i}.jpg"},
                    "step_index": 0,
                    "queue": "annotate",
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(jobs)
            ]
            started = time.perf_counter()
            for start in range(0, jobs, BULK):
                async with db.write() as conn:
                    chunk = rows[start : start + BULK]
                    await insert_many(conn, job, chunk, unique=("project_id", "reference_id"))
            seconds = time.perf_counter() - started
            async with db.write() as conn:
                await conn.execute(delete(job).where(job.c.reference_id.like("floor-%")))
            return jobs / seconds
        finally:
            await db.dispose()

    return asyncio.run(run())


def image_project(client: httpx.Client, admin_token: str) -> dict[str, Any]:
    """A new IMAGE project made through the admin API; ``client`` then sends its API key."""
    project: dict[str, Any] = client.post(
        "/admin/v1/projects",
        headers={"authorization": f"Bearer {admin_token}"},
        json={"name": "bench", "base": "IMAGE"},
    ).json()["data"]
    client.headers["x-api-key"] = project["api_key"]
    return project


def bulk_calls(project: dict[str, Any], jobs: int) -> list[tuple[bytes, int]]:
    """The bodies of bulk creates of ``jobs`` image jobs, ``BULK`` a call, with their sizes."""
    calls = []
    for start in range(0, jobs, BULK):
        items = [
            {
                "reference_id": f"job-{i}",
                "work_flow_id": project["work_flow_id"],
                "data": {"image_url": f"https://img.example/{i}.jpg"},
            }
            for i in range(start, min(jobs, start + BULK))
        ]
        calls.append((orjson.dumps({"jobs": items}), len(items)))
    return calls


def post_bulk(client: httpx.Client, project_id: str, body: bytes, size: int) -> None:
    """One bulk create call; raises unless every one of its ``size`` jobs was created."""
    reply = client.post(
        f"/v1/projects/{project_id}/jobs/bulk",
        content=body,
        headers={"content-type": "application/json"},
    )
    if reply.status_code != 200:
        raise RuntimeError(f"bulk create: {reply.status_code} {reply.text[:500]}")
    results = orjson.loads(reply.content)["data"]["results"]
    if len(results) != size or not all(r.get("created") is True for r in results):
        failed = [r for r in results if r.get("created") is not True]
        raise RuntimeError(f"bulk create: {len(results)} results, not created: {failed[:3]}")


def bench_api(
    base_url: str, admin_token: str, *, jobs: int = 100_000, env: dict[str, str] | None = None
) -> dict[str, Any]:
    """Bulk create ``jobs`` jobs into one batch; then first-page and 99%-deep page latency, the
    walk of the batch at 100 and 1,000 a page, one job's GET, and (with ``env``, the server's
    settings) the in-process floor of a page."""
    with httpx.Client(base_url=base_url, timeout=300) as client:
        project = image_project(client, admin_token)
        pid, batch = project["project_id"], project["default_batch_id"]
        calls = bulk_calls(project, jobs)
        started = time.perf_counter()
        for body, size in calls:
            post_bulk(client, pid, body, size)
        create_seconds = time.perf_counter() - started

        url = f"/v1/projects/{pid}/batch/{batch}"
        # One walk with big pages (1000 jobs for 100,000) to find a token positioned at ~99%
        # depth. Tokens are bound to the batch and filter, not to the page size: one from this
        # walk serves the default 100-job pages.
        depth = int(jobs * 0.99)
        walk_limit = max(1, min(1000, jobs // 100))
        deep_token, deep_start, seen, token = "", 0, 0, ""
        while True:
            reply = client.get(url, params={"limit": walk_limit, "page_token": token})
            reply.raise_for_status()
            page = reply.json()["data"]
            seen += len(page["jobs"])
            token = page["next_page_token"]
            if not token:
                break
            if seen <= depth:
                deep_token, deep_start = token, seen
        if seen != jobs:
            raise RuntimeError(f"walked {seen} jobs of {jobs}")
        deep_page = client.get(url, params={"page_token": deep_token}).json()["data"]["jobs"]
        if len(deep_page) != min(100, jobs - deep_start):
            raise RuntimeError(f"deep page at {deep_start}: {len(deep_page)} jobs")

        def median_ms(params: dict[str, str]) -> float:
            for _ in range(5):
                client.get(url, params=params)
            samples = []
            for _ in range(50):
                began = time.perf_counter()
                response = client.get(url, params=params)
                samples.append(time.perf_counter() - began)
                if response.status_code != 200:
                    raise RuntimeError(f"get batch: {response.status_code} {response.text[:500]}")
            return statistics.median(samples) * 1000

        first = median_ms({})
        deep = median_ms({"page_token": deep_token})
        walk_100 = _walk_seconds(client, url, 100, jobs)
        walk_1000 = _walk_seconds(client, url, 1000, jobs)
        job_id = deep_page[0]["id"]
        job_url = f"/v1/projects/{pid}/jobs/{job_id}"
        job_samples = []
        for i in range(55):
            began = time.perf_counter()
            client.get(job_url).raise_for_status()
            if i >= 5:
                job_samples.append(time.perf_counter() - began)
    figures: dict[str, Any] = {}
    if env is not None:
        limit = in_process_page_ms(env, pid, batch)
        floor = in_process_insert_rate(env, pid, batch, project["work_flow_id"])
        figures = {
            "inprocess_page_ms": limit,
            "page_vs_inprocess": first / limit,
            "inprocess_insert_jobs_per_s": floor,
            "create_vs_inprocess": jobs / create_seconds / floor,
        }
    return figures | {
        "jobs": jobs,
        "create_jobs_per_s": jobs / create_seconds,
        "first_page_ms": first,
        "deep_page_ms": deep,
        "deep_first_ratio": deep / first,
        "deep_page_start": deep_start,
        "walk_100_s": walk_100,
        "walk_1000_s": walk_1000,
        "job_get_ms": statistics.median(job_samples) * 1000,
    }
