"""``make bench``: labelyard's benchmarks over HTTP on loopback, printed as a table.

Each benchmark runs against a real ``labelyard serve`` process on a fresh database: SQLite, and
PostgreSQL when reachable (``LABELYARD_TEST_PG_URL``). The load comes from this process.

- api: bulk create ``--jobs`` jobs into one batch, then the median latency of its first page and
  of a page at 99% depth (``bench/api.py``).
- lifecycle: ``--work-jobs`` jobs through annotate and review by ``--workers`` concurrent
  simulated workers (``bench/lifecycle.py``); ``--work-jobs 0`` skips it. Then
  ``--work-batch-jobs`` jobs by as many programmatic workers with batch claims of
  ``--work-batch`` jobs and list submits and reviews; ``--work-batch 0`` skips that.
- client: ``labelyard jobs import`` of ``--client-rows`` JSONL rows next to the raw bulk
  endpoint's rate (``bench/client.py``); ``--client-rows 0`` skips it.
- load: 32 connections of get-batch-jobs, then of create-job, by ``wrk`` when installed (the
  bench target installs it), else by a Python client (``bench/wrk.py``, ``bench/load.py``).
- pointcloud: converting a 1M-point binary_compressed PCD to the browser layout, once
  (``bench/pointcloud.py``); ``--pointcloud-points 0`` skips it.
- lidar web: the 3D editor in Chromium (SwiftShader WebGL): Start to the first rendered frame,
  frame switches, orbit frames per second (``bench/lidar_web.py``); ``--lidar-frames 0`` skips.
- media: one worker checking ``--media-jobs`` new jobs' images against a local image server
  (``bench/media.py``); ``--media-jobs 0`` skips it.
- web: an annotator in Chromium working ``--web-jobs`` jobs: page times, first open, next job
  after submit, a reload for comparison (``bench/web.py``); ``--web-jobs 0`` skips it.
- pages: ``--page-jobs`` jobs (default 1,000,000) written straight into one project, then the
  median of the annotator's queue page and the owner's project page over HTTP, signed in
  (``bench/pages.py``); ``--page-jobs 0`` skips it.
- assist: the reference assist service (GrabCut) answering a box on a 1920x1080 image, p50 and
  p90 round trip (``bench/assist.py``); ``--assist-requests 0`` skips it. No target.

A further benchmark is a function ``(base_url, admin_token, args) -> dict of figures`` added to
``BENCHMARKS``; each runs on a server of its own.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from assist import bench_assist
from events import bench_events
from harness import database, postgres_reachable, serve
from lidar_web import bench_lidar_web
from lifecycle import bench_lifecycle
from load import bench_load
from media import bench_media, bench_presign
from pages import bench_pages
from pointcloud import bench_pointcloud
from wrk import bench_wrk, wrk_available

from api import bench_api
from client import bench_client
from exports import bench_exports
from web import bench_web

Figures = dict[str, Any]


def run_api(base_url: str, admin_token: str, args: argparse.Namespace) -> Figures:
    return bench_api(base_url, admin_token, jobs=args.jobs, env=args.served_env)


def run_lifecycle(base_url: str, admin_token: str, args: argparse.Namespace) -> Figures:
    """Single claims, then (on a project of its own) batch claims and list submits."""
    figures: Figures = {}
    if args.work_jobs > 0:
        single = asyncio.run(
            bench_lifecycle(base_url, admin_token, jobs=args.work_jobs, workers=args.workers)
        )
        figures |= {f"work_{name}": value for name, value in single.items()}
    if args.work_batch > 0 and args.work_batch_jobs > 0:
        batched = asyncio.run(
            bench_lifecycle(
                base_url,
                admin_token,
                jobs=args.work_batch_jobs,
                workers=args.workers,
                batch=args.work_batch,
            )
        )
        figures |= {f"work_batch_{name}": value for name, value in batched.items()}
    return figures


def run_events(base_url: str, admin_token: str, args: argparse.Namespace) -> Figures:
    if args.events <= 0:
        return {}
    figures = bench_events(base_url, admin_token, args.served_env, events=args.events)
    return {f"webhook_{name}": value for name, value in figures.items()}


def run_media(base_url: str, admin_token: str, args: argparse.Namespace) -> Figures:
    if args.media_jobs <= 0:
        return {}
    figures = bench_media(base_url, admin_token, args.served_env, jobs=args.media_jobs)
    presign = bench_presign()
    return {f"media_check_{name}": value for name, value in figures.items()} | {
        f"presign_{name}": value for name, value in presign.items()
    }


def run_load(base_url: str, admin_token: str, args: argparse.Namespace) -> Figures:
    """One replica on SQLite; on PostgreSQL a second replica joins on the same database."""
    if args.load_seconds <= 0:
        return {}
    load = bench_load
    if wrk_available():
        load = bench_wrk
    else:
        print("  load: wrk not installed (apt-get install wrk); using the Python client")
    if args.backend_now == "sqlite":
        figures = load([base_url], admin_token, seconds=args.load_seconds)
    else:
        with serve(args.served_env) as second:
            figures = load([base_url, second.base_url], admin_token, seconds=args.load_seconds)
    return {f"load_{name}": value for name, value in figures.items()}


def run_exports(base_url: str, admin_token: str, args: argparse.Namespace) -> Figures:
    if args.export_jobs <= 0:
        return {}
    return bench_exports(args.served_env, jobs=args.export_jobs)


def run_pages(base_url: str, admin_token: str, args: argparse.Namespace) -> Figures:
    if args.page_jobs <= 0:
        return {}
    return bench_pages(base_url, admin_token, args.served_env, jobs=args.page_jobs)


def run_pointcloud(base_url: str, admin_token: str, args: argparse.Namespace) -> Figures:
    """Conversion needs no server or database: measured once, on the first backend."""
    if args.pointcloud_points <= 0 or args.backend_now != args.first_backend:
        return {}
    return bench_pointcloud(args.pointcloud_points)


def run_lidar_web(base_url: str, admin_token: str, args: argparse.Namespace) -> Figures:
    """The 3D editor in Chromium: measured once, on the first backend."""
    if args.backend_now != args.first_backend:
        return {}
    return bench_lidar_web(base_url, admin_token, args)


def run_assist(base_url: str, admin_token: str, args: argparse.Namespace) -> Figures:
    if args.assist_requests <= 0:
        return {}
    return bench_assist(args.assist_requests)


BENCHMARKS: list[tuple[str, Callable[[str, str, argparse.Namespace], Figures]]] = [
    ("api", run_api),
    ("lifecycle", run_lifecycle),
    ("events", run_events),
    ("media", run_media),
    ("load", run_load),
    ("exports", run_exports),
    ("pages", run_pages),
    ("client", bench_client),
    ("web", bench_web),
    ("pointcloud", run_pointcloud),
    ("lidar web", run_lidar_web),
    ("assist", run_assist),
]

# (figure, comparison, bound, only on this backend or None for all): issue 14's targets. The
# lifecycle's target is for workers using batch claims; single claims are printed beside it.
TARGETS: list[tuple[str, str, float, str | None]] = [
    ("first_page_ms", "<=", 1.5, None),
    ("page_vs_inprocess", "<=", 6.0, None),
    ("deep_first_ratio", "<=", 1.3, None),
    ("walk_100_s", "<=", 2.5, None),
    ("walk_1000_s", "<=", 0.8, None),
    ("job_get_ms", "<=", 1.5, None),
    ("create_jobs_per_s", ">=", 40_000, "sqlite"),
    ("create_jobs_per_s", ">=", 25_000, "postgresql"),
    ("load_get_batch_jobs_rps", ">=", 1_500, None),
    ("load_get_batch_jobs_p99_ms", "<=", 50, None),
    ("load_get_batch_jobs_errors", "<=", 0, None),
    ("load_create_job_rps", ">=", 800, None),
    ("load_create_job_p99_ms", "<=", 100, None),
    ("load_create_job_errors", "<=", 0, None),
    ("work_batch_completed_per_s", ">=", 500, None),
    ("export_ndjson_jobs_per_s", ">=", 100_000, None),
    ("export_coco_jobs_per_s", ">=", 50_000, None),
    ("pointcloud_lzf_convert_s", "<=", 1.0, None),
    ("pointcloud_literal_convert_s", "<=", 1.0, None),
    ("lidar_first_render_ms", "<=", 1000, None),
    ("lidar_frame_switch_ms", "<=", 150, None),
    ("media_check_jobs_per_s", ">=", 200, None),
    ("presign_image_ms", "<=", 5.0, None),
    ("pages_queue_ms", "<=", 10.0, None),
    ("pages_project_ms", "<=", 10.0, None),
]

# A figure printed beside another of the same run: (what it is, that figure).
BESIDE = {"work_batch_completed_per_s": ("single claims", "work_completed_per_s")}

# A figure printed beside the in-process limit measured in the same run.
LIMITS = {
    "first_page_ms": "inprocess_page_ms",
    "deep_page_ms": "inprocess_page_ms",
    "create_jobs_per_s": "inprocess_insert_jobs_per_s",
    "pages_queue_ms": "pages_queue_inprocess_ms",
    "pages_project_ms": "pages_project_inprocess_ms",
}

TABLES: list[list[tuple[str, str, str]]] = [
    [  # (heading, figure, format)
        ("bulk create jobs/s", "create_jobs_per_s", ",.0f"),
        ("in-process insert/s", "inprocess_insert_jobs_per_s", ",.0f"),
        ("create/in-process", "create_vs_inprocess", ".2f"),
        ("first page ms", "first_page_ms", ".2f"),
        ("deep page ms", "deep_page_ms", ".2f"),
        ("deep/first", "deep_first_ratio", ".2f"),
        ("in-process page ms", "inprocess_page_ms", ".2f"),
        ("first/in-process", "page_vs_inprocess", ".1f"),
    ],
    [
        ("walk @100 s", "walk_100_s", ".2f"),
        ("walk @1000 s", "walk_1000_s", ".2f"),
        ("job GET ms", "job_get_ms", ".2f"),
    ],
    [
        ("completed jobs/s", "work_completed_per_s", ".1f"),
        ("claim p50 ms", "work_claim_p50_ms", ".1f"),
        ("claim p99 ms", "work_claim_p99_ms", ".1f"),
        ("errors", "work_errors", "d"),
    ],
    [
        ("batch of", "work_batch_batch", "d"),
        ("batch jobs/s", "work_batch_completed_per_s", ".1f"),
        ("single jobs/s", "work_completed_per_s", ".1f"),
        ("batch claim p50 ms", "work_batch_claim_p50_ms", ".1f"),
        ("batch claim p99 ms", "work_batch_claim_p99_ms", ".1f"),
        ("errors", "work_batch_errors", "d"),
    ],
    [
        ("replicas", "load_replicas", "d"),
        ("get-batch-jobs rps", "load_get_batch_jobs_rps", ",.0f"),
        ("p50 ms", "load_get_batch_jobs_p50_ms", ".1f"),
        ("p99 ms", "load_get_batch_jobs_p99_ms", ".1f"),
        ("errors", "load_get_batch_jobs_errors", "d"),
    ],
    [
        ("replicas", "load_replicas", "d"),
        ("create-job rps", "load_create_job_rps", ",.0f"),
        ("p50 ms", "load_create_job_p50_ms", ".1f"),
        ("p99 ms", "load_create_job_p99_ms", ".1f"),
        ("errors", "load_create_job_errors", "d"),
    ],
    [
        ("exported jobs", "export_jobs", ",d"),
        ("ndjson jobs/s", "export_ndjson_jobs_per_s", ",.0f"),
        ("ndjson peak MB", "export_ndjson_peak_rss_mb", ".0f"),
        ("coco jobs/s", "export_coco_jobs_per_s", ",.0f"),
        ("coco peak MB", "export_coco_peak_rss_mb", ".0f"),
    ],
    [
        ("page jobs", "pages_jobs", ",d"),
        ("queue page ms", "pages_queue_ms", ".2f"),
        ("in-process ms", "pages_queue_inprocess_ms", ".2f"),
        ("project page ms", "pages_project_ms", ".2f"),
        ("in-process ms", "pages_project_inprocess_ms", ".2f"),
        ("/healthz ms", "pages_healthz_ms", ".2f"),
    ],
    [
        ("imported rows", "client_rows", ",d"),
        ("CLI import rows/s", "client_import_rows_per_s", ",.0f"),
        ("raw bulk rows/s", "client_bulk_rows_per_s", ",.0f"),
        ("import/bulk", "client_import_vs_bulk", ".2f"),
        ("CLI start s", "client_cli_start_s", ".2f"),
    ],
    [
        ("work page ms", "web_work_page_ms", ".1f"),
        ("queue page ms", "web_queue_page_ms", ".1f"),
        ("first open ms", "web_first_open_ms", ".0f"),
        ("next job p50 ms", "web_next_job_p50_ms", ".0f"),
        ("next job max ms", "web_next_job_max_ms", ".0f"),
        ("reload ms", "web_reload_ms", ".0f"),
    ],
    [
        ("cloud points", "pointcloud_points", ",.0f"),
        ("PCD lzf convert s", "pointcloud_lzf_convert_s", ".3f"),
        ("lzf size/raw", "pointcloud_lzf_ratio", ".2f"),
        ("PCD literal convert s", "pointcloud_literal_convert_s", ".3f"),
    ],
    [
        ("3D points/frame", "lidar_points", ",.0f"),
        ("3D first render ms", "lidar_first_render_ms", ".0f"),
        ("frame switch ms", "lidar_frame_switch_ms", ".0f"),
        ("orbit fps (frame)", "lidar_orbit_fps_frame", ".1f"),
        ("orbit fps (1M)", "lidar_orbit_fps_1m", ".1f"),
    ],
    [
        ("webhook events/s", "webhook_events_per_s", ",.0f"),
        ("delivered", "webhook_delivered", ",d"),
        ("duplicates", "webhook_duplicates", "d"),
    ],
    [
        ("media checks jobs/s", "media_check_jobs_per_s", ",.0f"),
        ("checked jobs", "media_check_jobs", ",d"),
        ("failed", "media_check_failed", ",d"),
        ("expected failed", "media_check_expected_failed", ",d"),
        ("presign image ms", "presign_image_ms", ".2f"),
        ("presign 100 fr ms", "presign_video_100_frames_ms", ".2f"),
    ],
    [
        ("assist requests", "assist_requests", "d"),
        ("assist 1080p p50 ms", "assist_p50_ms", ".0f"),
        ("assist 1080p p90 ms", "assist_p90_ms", ".0f"),
    ],
]


def print_table(rows: dict[str, Figures], columns: list[tuple[str, str, str]]) -> None:
    """One line per backend with the figures it has; nothing if none has any."""
    if not any(figure in row for row in rows.values() for _, figure, _ in columns):
        return
    print("\nbackend    " + "".join(f"  {heading:>18}" for heading, _, _ in columns))
    for backend, row in rows.items():
        cells = [format(row[figure], spec) if figure in row else "-" for _, figure, spec in columns]
        print(f"{backend:11}" + "".join(f"  {cell:>18}" for cell in cells))


def print_targets(rows: dict[str, Figures]) -> bool:
    """Each target against each backend it applies to, with the in-process limit where there
    is one; True if all were met."""
    print("\ntargets (figure, target, backend, measured, in-process limit of the same run)")
    all_met = True
    for figure, op, bound, only in TARGETS:
        for backend, row in rows.items():
            if (only and only != backend) or figure not in row:
                continue
            value = row[figure]
            met = value >= bound if op == ">=" else value <= bound
            all_met = all_met and met
            verdict = "met" if met else "NOT met"
            limit = row.get(LIMITS.get(figure, ""))
            beside = f"  (in-process {limit:.2f})" if limit is not None else ""
            what, other = BESIDE.get(figure, ("", ""))
            if other in row:
                beside += f"  ({what} {row[other]:,.2f})"
            print(
                f"  {figure:28} {op} {bound:<8,g} {backend:11} {value:>10,.2f}  {verdict}{beside}"
            )
    return all_met


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=100_000, help="jobs for the api benchmark")
    parser.add_argument(
        "--work-jobs", type=int, default=2_000, help="jobs for the lifecycle run (0 skips it)"
    )
    parser.add_argument("--workers", type=int, default=8, help="workers for the lifecycle run")
    parser.add_argument(
        "--work-batch", type=int, default=100, help="jobs per batch claim (0 skips that run)"
    )
    parser.add_argument(
        "--work-batch-jobs", type=int, default=10_000, help="jobs for the batch-claim run"
    )
    parser.add_argument(
        "--assist-requests",
        type=int,
        default=20,
        help="assist service round trips on a 1920x1080 image (0 skips them)",
    )
    parser.add_argument(
        "--events", type=int, default=5_000, help="webhook events to deliver (0 skips it)"
    )
    parser.add_argument(
        "--media-jobs", type=int, default=5_000, help="jobs whose media are checked (0 skips it)"
    )
    parser.add_argument(
        "--load-seconds", type=float, default=20.0, help="length of the load run (0 skips it)"
    )
    parser.add_argument(
        "--export-jobs", type=int, default=1_000_000, help="completed jobs to export (0 skips)"
    )
    parser.add_argument(
        "--page-jobs", type=int, default=1_000_000, help="jobs behind the pages (0 skips)"
    )
    parser.add_argument(
        "--client-rows", type=int, default=100_000, help="rows for the client import (0 skips)"
    )
    parser.add_argument(
        "--web-jobs", type=int, default=30, help="jobs an annotator works in Chromium (0 skips)"
    )
    parser.add_argument(
        "--pointcloud-points", type=int, default=1_000_000, help="points to convert (0 skips)"
    )
    parser.add_argument(
        "--lidar-frames", type=int, default=50, help="frames of the 3D editor job (0 skips it)"
    )
    parser.add_argument("--lidar-points", type=int, default=120_000, help="points per frame")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "all"], default="all")
    parser.add_argument(
        "--serve-workers",
        type=int,
        default=0,
        help="processes of each labelyard serve (0: its default, one per core)",
    )
    parser.add_argument(
        "--only", default="", help="comma-separated benchmarks to run (default: all of them)"
    )
    args = parser.parse_args()
    only = {name for name in args.only.split(",") if name}

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"machine: nproc {cores}, Python {platform.python_version()}, {platform.platform()}")
    print(
        f"serve processes: {args.serve_workers or 'default (one per core)'}"
        + (
            "; load on PostgreSQL: two replicas of cores / 2 each"
            if not args.serve_workers
            and args.backend in ("postgresql", "all")
            and (not only or "load" in only)
            else ""
        )
    )
    backends = ["sqlite", "postgresql"] if args.backend == "all" else [args.backend]
    if "postgresql" in backends and (reason := postgres_reachable()):
        print(f"postgresql: skipped, unreachable ({reason})")
        backends.remove("postgresql")

    rows: dict[str, Figures] = {}
    args.first_backend = backends[0]
    for backend in backends:
        print(f"\n== {backend}", flush=True)
        rows[backend] = {}
        for name, bench in BENCHMARKS:
            if only and name not in only:
                continue
            with database(backend) as env:
                if args.serve_workers:
                    env["LABELYARD_WORKERS"] = str(args.serve_workers)
                elif name == "load" and backend == "postgresql":
                    # Two replicas on this one host, each with its share of the cores, as
                    # docs/deploy.md advises (processes per replica = cores / replicas).
                    env["LABELYARD_WORKERS"] = str(max(1, (cores or 1) // 2))
                with serve(env) as served:
                    args.served_env, args.backend_now = env, backend
                    figures = bench(served.base_url, served.admin_token, args)
                    if figures.get("work_errors") or figures.get("work_batch_errors"):
                        print(f"server stderr (last 4000 characters):\n{served.log()[-4000:]}")
            for figure, value in figures.items():
                print(f"  {name:10} {figure:24} {value:>12,.2f}", flush=True)
            rows[backend] |= figures

    for columns in TABLES:
        print_table(rows, columns)
    print_targets(rows)
    if any(row.get("work_errors") or row.get("work_batch_errors") for row in rows.values()):
        print("errors during the lifecycle run")
        sys.exit(1)


if __name__ == "__main__":
    main()
