"""A bounded load run: get-batch-jobs, then create-job, from concurrent clients.

The load comes from this process (asyncio + httpx, keep-alive connections) and is spread
round-robin over the replicas given. Each operation runs alone for half the time, so each
figure is that operation's own capacity. Reported per operation: requests/s, p50 and p99
latency and errors (any answer but 200).
"""

from __future__ import annotations

import asyncio
import itertools
import statistics
import time
from typing import Any

import httpx


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


async def _load(
    base_urls: list[str],
    admin_token: str,
    *,
    seconds: float,
    concurrency: int,
    seed_jobs: int,
) -> dict[str, Any]:
    admin = {"authorization": f"Bearer {admin_token}"}
    async with httpx.AsyncClient(base_url=base_urls[0], timeout=120) as client:
        project = (
            await client.post(
                "/admin/v1/projects", headers=admin, json={"name": "load", "base": "IMAGE"}
            )
        ).json()["data"]
        key = {"x-api-key": project["api_key"]}
        pid, batch = project["project_id"], project["default_batch_id"]
        seed = [
            {
                "reference_id": f"seed-{i}",
                "work_flow_id": project["work_flow_id"],
                "data": {"image_url": f"https://img.example/{i}.jpg"},
            }
            for i in range(seed_jobs)
        ]
        reply = await client.post(f"/v1/projects/{pid}/jobs/bulk", headers=key, json={"jobs": seed})
        reply.raise_for_status()

    latencies: dict[str, list[float]] = {"get_batch_jobs": [], "create_job": []}
    errors = {name: 0 for name in latencies}
    elapsed: dict[str, float] = {}
    numbers = itertools.count()

    async def client_loop(index: int, name: str, deadline: float) -> None:
        base = base_urls[index % len(base_urls)]
        async with httpx.AsyncClient(base_url=base, headers=key, timeout=60) as api:
            while time.perf_counter() < deadline:
                if name == "get_batch_jobs":
                    call = api.get(f"/v1/projects/{pid}/batch/{batch}")
                else:
                    body = {
                        "reference_id": f"load-{next(numbers)}",
                        "work_flow_id": project["work_flow_id"],
                        "data": {"image_url": "https://img.example/load.jpg"},
                    }
                    call = api.post(f"/v1/projects/{pid}/jobs", json=body)
                started = time.perf_counter()
                try:
                    response = await call
                    ok = response.status_code == 200
                except httpx.HTTPError:
                    ok = False
                latencies[name].append(time.perf_counter() - started)
                errors[name] += not ok

    for name in latencies:
        started = time.perf_counter()
        deadline = started + seconds / 2
        await asyncio.gather(*(client_loop(i, name, deadline) for i in range(concurrency)))
        elapsed[name] = time.perf_counter() - started
    figures: dict[str, Any] = {"replicas": len(base_urls), "concurrency": concurrency}
    for name, values in latencies.items():
        figures[f"{name}_rps"] = len(values) / elapsed[name]
        figures[f"{name}_p50_ms"] = statistics.median(values) * 1000 if values else 0.0
        figures[f"{name}_p99_ms"] = _percentile(values, 0.99) * 1000
        figures[f"{name}_errors"] = errors[name]
    return figures


def bench_load(
    base_urls: list[str],
    admin_token: str,
    *,
    seconds: float = 20.0,
    concurrency: int = 32,
    seed_jobs: int = 1000,
) -> dict[str, Any]:
    """Run the load for ``seconds`` against ``base_urls`` (one or more replicas)."""
    return asyncio.run(
        _load(base_urls, admin_token, seconds=seconds, concurrency=concurrency, seed_jobs=seed_jobs)
    )
