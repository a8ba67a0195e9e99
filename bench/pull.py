"""Pull: jobs/s and peak RSS of ``labelyard pull`` from one local labelyard into another.

The source is a ``labelyard serve`` process over a database seeded directly (IMAGE jobs, half
of them completed with a two-box result file in its blob store); the other half's data comes
from a ``--data-from`` file, as a team moving in would give it. The destination is a fresh
data dir and database of the same backend, migrated (``labelyard migrate``) before the pull is
timed, as a team's server is by its first start; ``labelyard pull`` runs under a small process
that reports its peak RSS.

    python bench/pull.py [--jobs 100000] [--backend sqlite|postgresql|all] [--concurrency 8]
                         [--coco-annotations 100000] [--source-workers 1]

Targets (issue 16): >= 2,000 jobs/s, <= 150 MB peak RSS. Also: ``labelyard jobs import
--format coco`` of 100,000 annotations (two boxes an image) into a served labelyard, jobs/s.
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
# Peak RSS (KiB) and CPU seconds (user + system) of the command, on stderr's last line: the
# CPU figure is the pull's own cost, a limit that does not depend on the machine's load.
MEASURE_CPU = """
import resource, subprocess, sys
code = subprocess.run(sys.argv[1:]).returncode
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(usage.ru_maxrss, usage.ru_utime + usage.ru_stime, file=sys.stderr)
sys.exit(code)
"""
TARGET_JOBS_PER_S = 2_000
TARGET_RSS_MB = 150
# py-spy: only the thread holding the GIL (where the pull spends CPU in Python)
PROFILE_FLAGS = ["--gil"]


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


def _cpu_of_server(base_url: str) -> float | None:
    """CPU seconds (user + system) so far of the ``labelyard serve`` process (and its workers)
    listening at ``base_url``, from /proc (None where there is no /proc)."""
    port = base_url.rsplit(":", 1)[1]
    total = 0.0
    found = False
    ticks = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The server, and any worker process it started (their parent is the server).
        if b"serve" in command and port.encode() in command:
            fields = stat.rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])) / ticks
            found = True
    return total if found else None


def bench_pull(
    backend: str,
    *,
    jobs: int,
    concurrency: int,
    source_workers: int = 1,
    profile: Path | None = None,
) -> dict[str, Any]:
    """Seed a source of ``jobs`` jobs, serve it (``source_workers`` processes), pull it into a
    fresh destination; with ``profile``, the pull runs under ``py-spy record`` (collapsed
    stacks written there)."""
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
            # The destination is a labelyard that exists already (as a team's server does, set
            # up by its first `labelyard serve`): migrated before the pull is timed.
            started = time.perf_counter()
            subprocess.run(
                [*_labelyard(), "migrate"],
                env=_environment(dest_env),
                capture_output=True,
                check=True,
            )
            figures["pull_destination_migrate_s"] = time.perf_counter() - started
            with serve(source_env | {"LABELYARD_WORKERS": str(source_workers)}) as served:
                command = command_of_pull = [
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
                if profile is not None:
                    spy = Path(sys.executable).parent / "py-spy"
                    command = [str(spy), "record", "--format", "raw", "-o", str(profile)]
                    command += ["--rate", "200", *PROFILE_FLAGS, "--", *command_of_pull]
                server_cpu = _cpu_of_server(served.base_url)
                started = time.perf_counter()
                done = subprocess.run(
                    [sys.executable, "-c", MEASURE_CPU, *command],
                    env=_environment(dest_env),
                    capture_output=True,
                    text=True,
                    check=False,
                )
                seconds = time.perf_counter() - started
                after = _cpu_of_server(served.base_url)
        if done.returncode != 0:
            raise RuntimeError(f"labelyard pull failed:\n{done.stderr[-2000:]}")
        # (py-spy, profiling, writes its own lines to stdout too)
        out = "\n".join(x for x in done.stdout.splitlines() if not x.startswith("py-spy>"))
        summary = json.loads(out)
        if summary["imported"] != jobs:
            raise RuntimeError(f"pulled {summary['imported']} of {jobs} jobs: {summary}")
        rss, cpu = done.stderr.split()[-2:]
        figures["pull_jobs_per_s"] = jobs / seconds
        figures["pull_jobs_per_s_in_run"] = jobs / summary["seconds"]
        figures["pull_jobs_per_cpu_s"] = jobs / float(cpu)
        if server_cpu is not None and after is not None and after > server_cpu:
            figures["source_jobs_per_cpu_s"] = jobs / (after - server_cpu)
        figures["pull_peak_rss_mb"] = int(rss) / 1024
        figures["pull_source_waits"] = summary["waits"]
    return figures


def _coco_document(images: int, per_image: int) -> bytes:
    """A COCO document of ``images`` 640x480 images with ``per_image`` boxes each."""
    document: dict[str, Any] = {
        "images": [
            {
                "id": i + 1,
                "file_name": f"img-{i:07d}.jpg",
                "width": 640,
                "height": 480,
                "coco_url": f"https://img.example/img-{i:07d}.jpg",
            }
            for i in range(images)
        ],
        "categories": [{"id": 1, "name": "car"}, {"id": 2, "name": "person"}],
        "annotations": [
            {
                "id": i * per_image + k + 1,
                "image_id": i + 1,
                "category_id": 1 + k % 2,
                "bbox": [10.0 + k, 20.0, 100.0, 50.0 + i % 100],
                "area": 5000.0,
                "iscrowd": 0,
            }
            for i in range(images)
            for k in range(per_image)
        ],
    }
    return orjson.dumps(document)


def bench_coco_import(backend: str, *, annotations: int) -> dict[str, Any]:
    """``labelyard jobs import --format coco`` of ``annotations`` boxes (two an image) into a
    served labelyard: jobs/s over the whole command, and the pure conversion's jobs/s."""
    from harness import database, serve

    from labelyard.importers import Classes, Media, bodies, coco

    images = annotations // 2
    raw = _coco_document(images, 2)
    started = time.perf_counter()
    items = coco.parse({"instances.json": raw})
    bodies(items, classes=Classes(), media=Media())
    figures: dict[str, Any] = {
        "coco_annotations": annotations,
        "coco_convert_jobs_per_s": images / (time.perf_counter() - started),
    }
    with database(backend) as env, tempfile.TemporaryDirectory() as folder:
        full = _environment(env)
        created = subprocess.run(
            [*_labelyard(), "projects", "create", "--name", "coco", "--base", "IMAGE", "--json"],
            env=full,
            capture_output=True,
            text=True,
            check=True,
        )
        project = json.loads(created.stdout)
        path = Path(folder) / "instances.json"
        path.write_bytes(raw)
        with serve(env) as served:
            command = [
                *_labelyard(),
                "jobs",
                "import",
                str(path),
                "--format",
                "coco",
                "--project",
                project["project_id"],
                "--url",
                served.base_url,
                "--api-key",
                project["api_key"],
                "--json",
            ]
            started = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-c", MEASURE, *command],
                env=full,
                capture_output=True,
                text=True,
                check=False,
            )
            seconds = time.perf_counter() - started
        if done.returncode != 0:
            raise RuntimeError(f"labelyard jobs import failed:\n{done.stderr[-2000:]}")
        if json.loads(done.stdout)["created"] != images:
            raise RuntimeError(f"imported {done.stdout}, expected {images} jobs")
        figures["coco_import_jobs_per_s"] = images / seconds
        figures["coco_import_peak_rss_mb"] = int(done.stderr.split()[-1]) / 1024
    return figures


def main() -> None:
    from harness import postgres_reachable

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "all"], default="sqlite")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--coco-annotations", type=int, default=100_000)
    parser.add_argument("--source-workers", type=int, default=1)
    parser.add_argument(
        "--profile", type=Path, help="write py-spy's collapsed stacks of the pull here"
    )
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
        figures: dict[str, Any] = {}
        if args.jobs:
            figures = bench_pull(
                backend,
                jobs=args.jobs,
                concurrency=args.concurrency,
                source_workers=args.source_workers,
                profile=args.profile,
            )
        if args.coco_annotations:
            figures |= bench_coco_import(backend, annotations=args.coco_annotations)
        for name, value in figures.items():
            print(f"{backend:11} {name:22} {value:>14,.1f}  {targets.get(name, '')}", flush=True)


if __name__ == "__main__":
    main()
