"""Exports: jobs/s and peak RSS of ``labelyard export`` over many completed jobs.

The jobs (IMAGE, two boxes each, image sizes in their data) are written straight into the
database, then each format is exported by a ``labelyard export`` process whose peak RSS is
measured. No server is needed: the command reads the database itself. From ``bench/run.py``::

    with database(backend) as env:
        figures = bench_exports(env, jobs=args.export_jobs)

or on its own: ``python bench/exports.py --jobs 1000000 [--backend sqlite|postgresql]``.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import update

from labelyard.config import Settings
from labelyard.store.engine import Database
from labelyard.store.tables import batch, job

SEED_CHUNK = 10_000
FORMATS = ("ndjson", "coco")
TARGETS = {"export_ndjson_jobs_per_s": 100_000, "export_coco_jobs_per_s": 50_000}  # as run.py

# Runs a command and prints its peak RSS (KiB) and CPU seconds (user + system) on stderr. The
# command runs under this small process rather than under the benchmark: Linux counts into a
# child's ru_maxrss the memory of the process it was forked from, up to its exec.
MEASURE = """
import resource, subprocess, sys
code = subprocess.run(sys.argv[1:]).returncode
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(usage.ru_maxrss, usage.ru_utime + usage.ru_stime, file=sys.stderr)
sys.exit(code)
"""


def _labelyard() -> list[str]:
    script = Path(sys.executable).parent / "labelyard"
    return [str(script)] if script.exists() else [sys.executable, "-m", "labelyard"]


def _environment(env: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("LABELYARD_")} | env


def _box(i: int, shift: float) -> dict[str, Any]:
    x, y = (i % 50) / 100 + shift, (i % 40) / 100
    corners = [
        {"x": x, "y": y},
        {"x": x + 0.2, "y": y},
        {"x": x + 0.2, "y": y + 0.3},
        {"x": x, "y": y + 0.3},
    ]
    return {"_id": f"r{shift}", "label": "car", "attributes": {}, "coordinates": corners}


async def _seed(url: str, project: dict[str, str], jobs: int) -> None:
    db = Database(url, pool_size=1)
    now = datetime.now(UTC)
    pid, bid = project["project_id"], project["default_batch_id"]
    try:
        async with db.write() as conn:
            await conn.execute(
                update(batch)
                .where(batch.c.project_id == pid, batch.c.id == bid)
                .values(
                    last_seq=jobs,
                    total_jobs=jobs,
                    completed_jobs=jobs,
                    total_frames=jobs,
                    completed_frames=jobs,
                    annotations=2 * jobs,
                )
            )
        for start in range(0, jobs, SEED_CHUNK):
            rows = []
            for i in range(start, min(jobs, start + SEED_CHUNK)):
                job_id = str(uuid.uuid4())
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
                        "status": "completed",
                        "frames": 1,
                        "annotations": 2,
                        "data": {
                            "image_url": f"https://img.example/{i}.jpg",
                            "image_width": 1920,
                            "image_height": 1080,
                        },
                        "step_index": 1,
                        "queue": None,
                        "draft": {"rectangles": [_box(i, 0.0), _box(i, 0.25)]},
                        "created_at": now,
                        "updated_at": now,
                        "completed_at": now,
                    }
                )
            async with db.write() as conn:
                await conn.execute(job.insert(), rows)
    finally:
        await db.dispose()


def _export(
    env: dict[str, str], project_id: str, fmt: str, out: Path
) -> tuple[float, float, float]:
    """Seconds, peak RSS (MB) and CPU seconds of one ``labelyard export``."""
    command = [*_labelyard(), "export", "--project", project_id, "--format", fmt, "--out", str(out)]
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, *command],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    peak_kib, cpu = done.stderr.split()[-2:]
    return seconds, int(peak_kib) / 1024, float(cpu)


def bench_exports(
    env: dict[str, str], *, jobs: int = 1_000_000, formats: Sequence[str] = FORMATS
) -> dict[str, Any]:
    """Seed ``jobs`` completed jobs into the database of ``env``, export each of ``formats``.

    ``env`` holds ``LABELYARD_DATA_DIR`` (and ``LABELYARD_DATABASE_URL`` for PostgreSQL), as
    ``harness.database`` gives it. Figures: ``export_<format>_jobs_per_s`` (over the whole
    process, start-up included), ``export_<format>_peak_rss_mb``, ``export_<format>_mb``
    (file size), ``export_<format>_cpu_s`` (user + system time of the process: on a shared
    machine it moves less with the load than the wall time), and ``export_seed_s``.
    """
    full = _environment(env)
    created = subprocess.run(
        [*_labelyard(), "projects", "create", "--name", "exports", "--base", "IMAGE", "--json"],
        env=full,
        capture_output=True,
        text=True,
        check=True,
    )
    project = json.loads(created.stdout)
    settings = Settings(
        data_dir=Path(env["LABELYARD_DATA_DIR"]), database_url=env.get("LABELYARD_DATABASE_URL", "")
    )
    started = time.perf_counter()
    asyncio.run(_seed(settings.resolved_database_url(), project, jobs))
    figures: dict[str, Any] = {"export_jobs": jobs, "export_seed_s": time.perf_counter() - started}
    with tempfile.TemporaryDirectory(dir=env["LABELYARD_DATA_DIR"]) as folder:
        for fmt in formats:
            out = Path(folder) / f"export.{fmt}"
            seconds, peak, cpu = _export(full, project["project_id"], fmt, out)
            figures[f"export_{fmt}_jobs_per_s"] = jobs / seconds
            figures[f"export_{fmt}_cpu_s"] = cpu
            figures[f"export_{fmt}_peak_rss_mb"] = peak
            figures[f"export_{fmt}_mb"] = out.stat().st_size / 1e6
            out.unlink()
    return figures


def main() -> None:
    sys.path.insert(0, str(Path(__file__).parent))
    from harness import database, postgres_reachable

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "all"], default="all")
    parser.add_argument("--formats", default=",".join(FORMATS), help="comma-separated")
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "all" else [args.backend]
    if "postgresql" in backends and (reason := postgres_reachable()):
        print(f"postgresql: skipped, unreachable ({reason})")
        backends.remove("postgresql")
    for backend in backends:
        with database(backend) as env:
            figures = bench_exports(env, jobs=args.jobs, formats=args.formats.split(","))
        for name, value in figures.items():
            target = TARGETS.get(name)
            beside = f"   target >= {target:,}" if target else ""
            print(f"{backend:11} {name:28} {value:>14,.1f}{beside}", flush=True)


if __name__ == "__main__":
    main()
