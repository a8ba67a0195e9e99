"""Pages that cost the same at any size: the annotator's queue page and the owner's project page
over HTTP with ``--jobs`` jobs (default 1,000,000) in one project.

The jobs are written straight into the database (``store.bulk.insert_many``: one driver call
per 10,000 rows), in a mix of states: waiting to be annotated, leased to another worker,
waiting for review, completed; the batch counters are set to match. Then a signed-in worker
(password sign-in) and a signed-in owner (API key) each load their page ``--requests`` times
over one keep-alive connection, and the median is printed beside the 10 ms target, beside the
same service calls made in this process on the same database (the in-process limit) and beside
``/healthz`` on the same server (the floor of one request in this run). From ``bench/run.py``
(``--only pages``), or on its own::

    python bench/pages.py --jobs 1000000 [--backend sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import re
import secrets
import statistics
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import update

from labelyard.config import Settings
from labelyard.store.bulk import insert_many
from labelyard.store.engine import Database
from labelyard.store.tables import batch, job

SEED_CHUNK = 10_000
TARGET_MS = 10.0
# The mix of states, by the job's position modulo 10: 0 completed, 1 leased (in progress in
# annotate, held by another worker), 2 waiting for review, the rest waiting to be annotated.
COMPLETED, LEASED, IN_REVIEW = 0, 1, 2


def _row(i: int, project: dict[str, str], holder: str, now: datetime) -> dict[str, Any]:
    kind = i % 10
    job_id = str(uuid.uuid4())
    status, step = "created", 0
    queue: str | None = "annotate"
    lease_holder: str | None = None
    lease_expires_at: datetime | None = None
    completed_at: datetime | None = None
    if kind == COMPLETED:
        status, queue, step, completed_at = "completed", None, 1, now
    elif kind == LEASED:
        status, lease_holder, lease_expires_at = "in_progress", holder, now + timedelta(hours=2)
    elif kind == IN_REVIEW:
        status, queue, step = "in_progress", "review", 1
    return {
        "project_id": project["project_id"],
        "id": job_id,
        "batch_id": project["default_batch_id"],
        "seq": i + 1,
        "reference_id": f"img-{i:07d}",
        "payload_hash": hashlib.sha256(job_id.encode()).hexdigest(),
        "workflow_id": project["work_flow_id"],
        "tag": "default",
        "type": "NON_TEST",
        "priority_weight": 1 + i % 10,
        "status": status,
        "frames": 1,
        "annotations": 0,
        "data": {"image_url": f"https://img.example/{i}.jpg"},
        "step_index": step,
        "queue": queue,
        "lease_holder": lease_holder,
        "lease_expires_at": lease_expires_at,
        "gold": False,
        "assigned_only": False,
        "created_at": now,
        "updated_at": now,
        "completed_at": completed_at,
    }


async def _seed(url: str, project: dict[str, str], jobs: int, holder: str) -> None:
    db = Database(url, pool_size=1)
    now = datetime.now(UTC)
    states = [i % 10 for i in range(jobs)]
    try:
        async with db.write() as conn:
            await conn.execute(
                update(batch)
                .where(
                    batch.c.project_id == project["project_id"],
                    batch.c.id == project["default_batch_id"],
                )
                .values(
                    last_seq=jobs,
                    total_jobs=jobs,
                    total_frames=jobs,
                    completed_jobs=states.count(COMPLETED),
                    completed_frames=states.count(COMPLETED),
                    in_progress_jobs=states.count(LEASED) + states.count(IN_REVIEW),
                )
            )
        for start in range(0, jobs, SEED_CHUNK):
            rows = [
                _row(i, project, holder, now) for i in range(start, min(jobs, start + SEED_CHUNK))
            ]
            async with db.write() as conn:
                await insert_many(conn, job, rows)
    finally:
        await db.dispose()


async def _in_process(
    url: str, project: dict[str, str], worker_id: str, requests: int
) -> tuple[float, float]:
    """The medians of the two pages' service calls made in this process on the same database
    (no HTTP, no rendering): the limit the pages are compared with."""
    from labelyard.core.model import Base, Project
    from labelyard.services import overview, projects
    from labelyard.services import queue as work_queue

    db = Database(url, pool_size=2)
    shown = Project(
        id=project["project_id"], account_id=project["account_id"], name="pages", base=Base.IMAGE
    )

    async def queue_page() -> None:
        await work_queue.queues(
            db, account_id=project["account_id"], worker_id=worker_id, role="both"
        )

    async def project_page() -> None:
        await projects.project_details(db, shown)
        await overview.job_counts(db, shown)

    medians = []
    try:
        for call in (queue_page, project_page):
            times = []
            for _ in range(requests + 2):
                started = time.perf_counter()
                await call()
                times.append((time.perf_counter() - started) * 1000)
            medians.append(statistics.median(times[2:]))
    finally:
        await db.dispose()
    return medians[0], medians[1]


def _signed_in(base_url: str, form: dict[str, str]) -> httpx.Client:
    client = httpx.Client(base_url=base_url, timeout=120)
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/ui/login").text)
    assert csrf is not None
    answer = client.post("/ui/login", data={"csrf": csrf[1], **form})
    if answer.status_code != 303:
        raise RuntimeError(f"sign-in failed: {answer.status_code} {answer.text[:300]}")
    return client


def _median_ms(client: httpx.Client, path: str, requests: int) -> tuple[float, str]:
    """The median time of ``requests`` GETs of ``path`` (after two warm-ups); the last body."""
    body = ""
    for _ in range(2):
        body = client.get(path).text
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        answer = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        if answer.status_code != 200:
            raise RuntimeError(f"GET {path}: {answer.status_code} {answer.text[:300]}")
        body = answer.text
    return statistics.median(times), body


def bench_pages(
    base_url: str, admin_token: str, env: dict[str, str], *, jobs: int, requests: int = 50
) -> dict[str, Any]:
    """Seed ``jobs`` jobs into one project of the server at ``base_url`` (database of ``env``)
    and time its two pages. Figures: ``pages_queue_ms``, ``pages_project_ms`` (medians),
    ``pages_healthz_ms`` (the floor of a request), ``pages_*_inprocess_ms`` (the pages' service
    calls in this process: the limit) and ``pages_seed_s``; an error if a page does not show
    what was seeded."""
    admin = {"authorization": f"Bearer {admin_token}"}
    with httpx.Client(base_url=base_url, headers=admin, timeout=120) as api:
        project = api.post("/admin/v1/projects", json={"name": "pages", "base": "IMAGE"}).json()[
            "data"
        ]
        made = [
            api.post(
                f"/admin/v1/accounts/{project['account_id']}/workers",
                json={"name": name, "role": "both"},
            ).json()["data"]
            for name in ("reader", "holder")
        ]
        username, password = f"reader-{secrets.token_hex(3)}", secrets.token_hex(8)
        answer = api.put(
            f"/admin/v1/workers/{made[0]['worker_id']}/login",
            json={"username": username, "password": password},
        )
        answer.raise_for_status()
    settings = Settings(
        data_dir=Path(env["LABELYARD_DATA_DIR"]), database_url=env.get("LABELYARD_DATABASE_URL", "")
    )
    started = time.perf_counter()
    asyncio.run(_seed(settings.resolved_database_url(), project, jobs, made[1]["worker_id"]))
    figures: dict[str, Any] = {"pages_jobs": jobs, "pages_seed_s": time.perf_counter() - started}
    worker = _signed_in(base_url, {"method": "password", "username": username, "secret": password})
    owner = _signed_in(base_url, {"method": "key", "secret": project["api_key"]})
    try:
        figures["pages_healthz_ms"], _ = _median_ms(worker, "/healthz", requests)
        figures["pages_queue_ms"], queue = _median_ms(worker, "/ui/queue", requests)
        figures["pages_project_ms"], page = _median_ms(
            owner, f"/ui/projects/{project['project_id']}", requests
        )
    finally:
        worker.close()
        owner.close()
    figures["pages_queue_inprocess_ms"], figures["pages_project_inprocess_ms"] = asyncio.run(
        _in_process(settings.resolved_database_url(), project, made[0]["worker_id"], requests)
    )
    # The seed leaves more than 100 claimable jobs in both steps, and known counts by status.
    waiting = re.findall(r'<td class="waiting">([^<]+)</td>', queue)
    if waiting != ["100+", "100+"]:
        raise RuntimeError(f"the queue page shows {waiting}, not 100+ in both steps")
    shown = dict(re.findall(r'data-status="(\w+)" data-count="(\d+)"', page))
    states = Counter(i % 10 for i in range(jobs))
    expected = {
        "completed": states[COMPLETED],
        "in_progress": states[LEASED] + states[IN_REVIEW],
        "created": jobs - states[COMPLETED] - states[LEASED] - states[IN_REVIEW],
    }
    if {status: int(count) for status, count in shown.items()} != expected:
        raise RuntimeError(f"the project page shows {shown}, not {expected}")
    return figures


def report(backend: str, figures: dict[str, Any]) -> None:
    """The figures, each page's median beside the target and the /healthz floor."""
    floor = figures["pages_healthz_ms"]
    print(f"{backend}: {figures['pages_jobs']:,} jobs seeded in {figures['pages_seed_s']:.0f} s")
    for name, figure in (("queue page", "pages_queue"), ("project page", "pages_project")):
        value, limit = figures[f"{figure}_ms"], figures[f"{figure}_inprocess_ms"]
        verdict = "met" if value <= TARGET_MS else "NOT met"
        print(
            f"  {name:13} median {value:7.2f} ms  target <= {TARGET_MS:g} ms {verdict:8}"
            f"  (in-process {limit:.2f} ms, /healthz {floor:.2f} ms)"
        )


def main() -> None:
    sys.path.insert(0, str(Path(__file__).parent))
    from harness import database, postgres_reachable, serve

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "all"], default="all")
    parser.add_argument(
        "--serve-workers", type=int, default=1, help="processes of labelyard serve (0: default)"
    )
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "all" else [args.backend]
    if "postgresql" in backends and (reason := postgres_reachable()):
        print(f"postgresql: skipped, unreachable ({reason})")
        backends.remove("postgresql")
    for backend in backends:
        with database(backend) as env:
            if args.serve_workers:
                env["LABELYARD_WORKERS"] = str(args.serve_workers)
            with serve(env) as served:
                figures = bench_pages(
                    served.base_url, served.admin_token, env, jobs=args.jobs, requests=args.requests
                )
        report(backend, figures)


if __name__ == "__main__":
    main()
