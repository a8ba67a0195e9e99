"""Jobs completed per second by a pool of simulated workers (claim + submit + accept).

Each worker loops: claim a review job and accept it, else claim an annotate job and submit it,
until both queues are empty. Reported: completed jobs/s over the whole run, and the median and
p99 latency of claim calls.

With ``batch`` (programmatic workers at speed), each claim asks for ``batch`` jobs
(``"count"``) and the worker hands them all in with one list call
(``POST .../submit`` or ``.../review`` with ``{"jobs": [...]}``).
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from typing import Any

import httpx

ANNOTATIONS = {
    "rectangles": [
        {
            "_id": "r1",
            "label": "car",
            "attributes": {},
            "coordinates": [
                {"x": 0.1, "y": 0.1},
                {"x": 0.3, "y": 0.1},
                {"x": 0.3, "y": 0.3},
                {"x": 0.1, "y": 0.3},
            ],
        }
    ]
}


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def bench_lifecycle(
    base_url: str,
    admin_token: str,
    *,
    jobs: int = 2000,
    workers: int = 8,
    quality: dict[str, Any] | None = None,
    gold: int = 0,
    batch: int = 0,
) -> dict[str, Any]:
    """Run the workflow of ``jobs`` IMAGE jobs with ``workers`` concurrent workers, under the
    project's ``quality`` rules (docs/quality.md; None: the workers may review their own work,
    the historical figure) with ``gold`` gold jobs mixed in; ``batch`` > 0: batch claims of
    that many jobs and list submits and reviews."""
    admin = {"authorization": f"Bearer {admin_token}"}
    async with httpx.AsyncClient(base_url=base_url, timeout=120) as client:
        project = (
            await client.post(
                "/admin/v1/projects", headers=admin, json={"name": "lifecycle", "base": "IMAGE"}
            )
        ).json()["data"]
        pid = project["project_id"]
        key = {"x-api-key": project["api_key"]}
        rules = quality if quality is not None else {"allow_self_review": True}
        (
            await client.patch(f"/v1/projects/{pid}/quality", headers=key, json=rules)
        ).raise_for_status()
        if gold:
            answers = [
                {
                    "reference_id": f"gold{i}",
                    "work_flow_id": project["work_flow_id"],
                    "type": "TEST",
                    "data": {"image_url": f"https://img.example/g{i}.jpg", "gold": ANNOTATIONS},
                }
                for i in range(gold)
            ]
            reply = await client.post(
                f"/v1/projects/{pid}/jobs/bulk", headers=key, json={"jobs": answers}
            )
            reply.raise_for_status()
        for start in range(0, jobs, 10_000):
            bodies = [
                {
                    "reference_id": f"lc{i}",
                    "work_flow_id": project["work_flow_id"],
                    "data": {"image_url": f"https://img.example/{i}.jpg"},
                }
                for i in range(start, min(jobs, start + 10_000))
            ]
            reply = await client.post(
                f"/v1/projects/{pid}/jobs/bulk", headers=key, json={"jobs": bodies}
            )
            reply.raise_for_status()
        tokens = []
        for i in range(workers):
            made = await client.post(
                f"/admin/v1/accounts/{project['account_id']}/workers",
                headers=admin,
                json={"name": f"bench-{i}", "role": "both"},
            )
            tokens.append(made.json()["data"]["token"])

    claim_seconds: list[float] = []
    claims = 0
    errors = 0

    def error(response: httpx.Response) -> None:
        """Count an unexpected answer; show the first few (on stderr)."""
        nonlocal errors
        errors += 1
        if errors <= 3:
            request = response.request
            print(
                f"lifecycle: {request.method} {request.url.path} -> {response.status_code}"
                f" {response.text[:300]}",
                file=sys.stderr,
            )

    async def batch_worker(token: str) -> None:
        nonlocal claims
        headers = {"authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=120) as api:
            while True:
                held: list[dict[str, Any]] = []
                step = "review"
                for step in ("review", "annotate"):
                    started = time.perf_counter()
                    response = await api.post(
                        f"/work/v1/projects/{pid}/claim", json={"step": step, "count": batch}
                    )
                    claim_seconds.append(time.perf_counter() - started)
                    if response.status_code != 200:
                        error(response)
                        return
                    held = response.json()["data"]["jobs"]
                    if held:
                        claims += len(held)
                        break
                if not held:
                    return
                if step == "review":
                    items = [{"job_id": job["job_id"], "decision": "accept"} for job in held]
                else:
                    items = [{"job_id": job["job_id"], "annotations": ANNOTATIONS} for job in held]
                action = "review" if step == "review" else "submit"
                done = await api.post(f"/work/v1/projects/{pid}/{action}", json={"jobs": items})
                if done.status_code != 200:
                    error(done)
                    return
                failed = [r for r in done.json()["data"]["results"] if "error" in r]
                if failed:
                    error(done)

    async def worker(token: str) -> None:
        headers = {"authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=120) as api:
            while True:
                job = None
                for step in ("review", "annotate"):
                    started = time.perf_counter()
                    response = await api.post(f"/work/v1/projects/{pid}/claim", json={"step": step})
                    claim_seconds.append(time.perf_counter() - started)
                    if response.status_code == 200:
                        nonlocal claims
                        claims += 1
                        job = response.json()["data"]
                        break
                    if response.status_code != 204:
                        error(response)
                if job is None:
                    return
                path = f"/work/v1/projects/{pid}/jobs/{job['job_id']}"
                if job["step"] == "review":
                    done = await api.post(f"{path}/review", json={"decision": "accept"})
                else:
                    done = await api.post(f"{path}/submit", json={"annotations": ANNOTATIONS})
                if done.status_code != 200:
                    error(done)

    started = time.perf_counter()
    await asyncio.gather(*((batch_worker if batch > 0 else worker)(token) for token in tokens))
    elapsed = time.perf_counter() - started
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        stats = (await client.get(f"/v1/projects/{pid}/stats", headers=key)).json()["data"]
    return {
        "jobs": jobs,
        "workers": workers,
        "batch": batch,
        "completed": stats["completed_jobs"],
        "completed_per_s": stats["completed_jobs"] / elapsed,
        "claims": claims,
        "claims_per_s": claims / elapsed,
        "claim_p50_ms": statistics.median(claim_seconds) * 1000,
        "claim_p99_ms": _percentile(claim_seconds, 0.99) * 1000,
        "errors": errors,
    }
