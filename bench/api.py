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
        started = time.perf_counter()
        for body in bodies:
            reply = client.post(
                f"/v1/projects/{pid}/jobs/bulk",
                content=body,
                headers={"content-type": "application/json"},
            )
            results = reply.json()["data"]["results"]
            assert all(r.get("created") for r in results), results[:3]
        create_seconds = time.perf_counter() - started

        url = f"/v1/projects/{pid}/batch/{batch}"
        # One walk with big pages to find a token positioned at ~99% depth.
        tokens: list[str] = []
        token = ""
        while True:
            page = client.get(url, params={"limit": 1000, "page_token": token}).json()["data"]
            token = page["next_page_token"]
            if not token:
                break
            tokens.append(token)
        deep_token = tokens[max(0, int(len(tokens) * 0.99) - 1)] if tokens else ""

        def median_ms(params: dict[str, str]) -> float:
            for _ in range(5):
                client.get(url, params=params)
            samples = []
            for _ in range(50):
                began = time.perf_counter()
                response = client.get(url, params=params)
                samples.append(time.perf_counter() - began)
                assert response.status_code == 200
            return statistics.median(samples) * 1000

        first = median_ms({})
        deep = median_ms({"page_token": deep_token})
    return {
        "jobs": jobs,
        "create_jobs_per_s": jobs / create_seconds,
        "first_page_ms": first,
        "deep_page_ms": deep,
        "deep_first_ratio": deep / first,
    }
