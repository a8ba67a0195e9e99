"""Bulk create and batch paging over HTTP (the core server's targets)."""

from __future__ import annotations

import statistics
import time
from typing import Any

import httpx
import orjson

BULK = 10_000


def bench_api(base_url: str, admin_token: str, *, jobs: int = 100_000) -> dict[str, Any]:
    """Bulk create ``jobs`` jobs into one batch; then first-page and 99%-deep page latency."""
    with httpx.Client(base_url=base_url, timeout=300) as client:
        project = client.post(
            "/admin/v1/projects",
            headers={"authorization": f"Bearer {admin_token}"},
            json={"name": "bench", "base": "IMAGE"},
        ).json()["data"]
        pid, batch = project["project_id"], project["default_batch_id"]
        client.headers["x-api-key"] = project["api_key"]

        bodies = []
        for start in range(0, jobs, BULK):
            items = [
                {
                    "reference_id": f"job-{i}",
                    "work_flow_id": project["work_flow_id"],
                    "data": {"image_url": f"https://img.example/{i}.jpg"},
                }
                for i in range(start, min(jobs, start + BULK))
            ]
            bodies.append(orjson.dumps({"jobs": items}))
        sizes = [min(BULK, jobs - start) for start in range(0, jobs, BULK)]
        started = time.perf_counter()
        for body, size in zip(bodies, sizes, strict=True):
            reply = client.post(
                f"/v1/projects/{pid}/jobs/bulk",
                content=body,
                headers={"content-type": "application/json"},
            )
            if reply.status_code != 200:
                raise RuntimeError(f"bulk create: {reply.status_code} {reply.text[:500]}")
            results = reply.json()["data"]["results"]
            if len(results) != size or not all(r.get("created") is True for r in results):
                failed = [r for r in results if r.get("created") is not True]
                raise RuntimeError(
                    f"bulk create: {len(results)} results, not created: {failed[:3]}"
                )
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
    return {
        "jobs": jobs,
        "create_jobs_per_s": jobs / create_seconds,
        "first_page_ms": first,
        "deep_page_ms": deep,
        "deep_first_ratio": deep / first,
        "deep_page_start": deep_start,
    }
