"""Pull: jobs/s and peak RSS of ``labelyard pull`` from one local labelyard into another.

The source is a ``labelyard serve`` process over a database seeded directly (IMAGE jobs, half
of them completed with a two-box result file in its blob store); the other half's data comes
from a ``--data-from`` file, as a team moving in would give it. The destination is a fresh
data dir and database of the same backend; ``labelyard pull`` runs under a small process that
reports its peak RSS.

    python bench/pull.py [--jobs 100000] [--backend sqlite|postgresql|all] [--concurrency 8]

Targets (issue 16): >= 2,000 jobs/s, <= 150 MB peak RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import update

sys.path.insert(0, str(Path(__file__).parent))

from exports import MEASURE, _box, _environment, _labelyard
from labelyard.config import Settings
from labelyard.store.engine import Database
from labelyard.store.tables import batch, job

SEED_CHUNK = 10_000
TARGET_JOBS_PER_S = 2_000
TARGET_RSS_MB = 150


async def _seed(settings: Settings, project: dict[str, str], jobs: int, data_from: Path) -> None:
    """``jobs`` IMAGE jobs, every other one completed with its result file."""
    db = Database(settings.resolved_database_url(), pool_size=1)
    blobs = settings.resolved_blob_dir()
    now = datetime.now(UTC)
    pid, bid = project["project_id"], project["default_batch_id"]
    completed = (jobs + 1) // 2
    try:
        async with db.write() as conn:
            await conn.execute(
                update(batch)
                .where(batch.c.project_id == pid, batch.c.id == bid)
                .values(
                    last_seq=jobs,
                    total_jobs=jobs,
                    completed_jobs=completed,
                    total_frames=jobs,
                    completed_frames=completed,
                    annotations=2 * completed,
                )
            )
        folder = blobs / "results" / pid
        folder.mkdir(parents=True, exist_ok=True)
        with open(data_from, "wb") as payloads:
            for start in range(0, jobs, SEED_CHUNK):
                rows = []
                for i in range(start, min(jobs, start + SEED_CHUNK)):
                    job_id = str(uuid.uuid4())
                    data = {"image_url": f"https://img.example/{i}.jpg"}
                    done = i % 2 == 0
                    draft = {"rectangles": [_box(i, 0.0), _box(i, 0.25)]} if done else None
                    key = f"results/{pid}/{job_id}.json" if done else None
                    if done:
                        document = {
                            "data": {
                                "annotations": {
                                    "rectangles": draft["rectangles"],  # type: ignore[index]
                                    "polygons": [],
                                    "lines": [],
                                    "landmarks": [],
                                    "cuboids": [],
                                },
                                "image_url": data["image_url"],
                            }
                        }
                        (blobs / str(key)).write_bytes(orjson.dumps(document))
                    else:
                        line = {"reference_id": f"img-{i:07d}", "data": data}
                        payloads.write(orjson.dumps(line) + b"\n")
                    rows.append(
                        {
                            "project_id": pid,
                            "id": job_id,
                            "batch_id": bid,
                            "seq": i + 1,
                            "reference_id": f"img-{i:07d}",
                            "payload_hash": hashlib.sha256(job_id.encode()).hexdigest(),
                            "workflow_id": project["work_flow_id"],
                            "tag": "default",
                            "type": "NON_TEST",
                            "priority_weight": 5,
                            "status": "completed" if done else "created",
                            "frames": 1,
                            "annotations": 2 if done else 0,
                            "data": data,
                            "step_index": 1 if done else 0,
                            "queue": None if done else "annotate",
                            "draft": draft,
                            "result_key": key,
                            "created_at": now,
                            "updated_at": now,
                            "completed_at": now if done else None,
                        }
                    )
                async with db.write() as conn:
                    await conn.execute(job.insert(), rows)
    finally:
        await db.dispose()


def bench_pull(backend: str, *, jobs: int, concurrency: int) -> dict[str, Any]:
    """Seed a source of ``jobs`` jobs, serve it, pull it into a fresh destination."""
    from harness import database, serve

    with database(backend) as source_env, database(backend) as dest_env:
        full = _environment(source_env)
        created = subprocess.run(
            [*_labelyard(), "projects", "create", "--name", "hosted", "--base", "IMAGE", "--json"],
            env=full,
            capture_output=True,
            text=True,
            check=True,
        )
        project = json.loads(created.stdout)
        settings = Settings(
            data_dir=Path(source_env["LABELYARD_DATA_DIR"]),
            database_url=source_env.get("LABELYARD_DATABASE_URL", ""),
        )
        figures: dict[str, Any] = {"pull_jobs": jobs}
        with tempfile.TemporaryDirectory() as folder:
            data_from = Path(folder) / "payloads.jsonl"
            started = time.perf_counter()
            asyncio.run(_seed(settings, project, jobs, data_from))
            figures["pull_seed_s"] = time.perf_counter() - started
            with serve(source_env) as served:
                command = [
                    *_labelyard(),
                    "pull",
                    "--from",
                    served.base_url,
                    "--api-key",
                    project["api_key"],
                    "--project",
                    project["project_id"],
                    "--data-from",
                    str(data_from),
                    "--concurrency",
                    str(concurrency),
                    "--report-dir",
                    folder,
                    "--json",
                ]
                started = time.perf_counter()
                done = subprocess.run(
                    [sys.executable, "-c", MEASURE, *command],
                    env=_environment(dest_env),
                    capture_output=True,
                    text=True,
                    check=False,
                )
                seconds = time.perf_counter() - started
        if done.returncode != 0:
            raise RuntimeError(f"labelyard pull failed:\n{done.stderr[-2000:]}")
        summary = json.loads(done.stdout)
        if summary["imported"] != jobs:
            raise RuntimeError(f"pulled {summary['imported']} of {jobs} jobs: {summary}")
        figures["pull_jobs_per_s"] = jobs / seconds
        figures["pull_peak_rss_mb"] = int(done.stderr.split()[-1]) / 1024
        figures["pull_source_waits"] = summary["waits"]
    return figures


def main() -> None:
    from harness import postgres_reachable

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "all"], default="sqlite")
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "all" else [args.backend]
    if "postgresql" in backends and (reason := postgres_reachable()):
        print(f"postgresql: skipped, unreachable ({reason})")
        backends.remove("postgresql")
    targets = {
        "pull_jobs_per_s": f"target >= {TARGET_JOBS_PER_S:,}",
        "pull_peak_rss_mb": f"target <= {TARGET_RSS_MB}",
    }
    for backend in backends:
        figures = bench_pull(backend, jobs=args.jobs, concurrency=args.concurrency)
        for name, value in figures.items():
            print(f"{backend:11} {name:22} {value:>14,.1f}  {targets.get(name, '')}", flush=True)


if __name__ == "__main__":
    main()
