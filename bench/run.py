"""``make bench``: labelyard's benchmarks over HTTP on loopback, printed as a table.

Each benchmark runs against a real ``labelyard serve`` process on a fresh database: SQLite, and
PostgreSQL when reachable (``LABELYARD_TEST_PG_URL``). The load comes from this process.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from harness import database, postgres_reachable, serve
from lifecycle import bench_lifecycle

from api import bench_api

TARGETS = {
    "create_jobs_per_s": (">=", 10_000, "sqlite"),
    "first_page_ms": ("<=", 5.0, None),
    "deep_first_ratio": ("<=", 1.3, None),
}


def _met(name: str, value: float, backend: str) -> str:
    if name not in TARGETS:
        return ""
    op, bound, only = TARGETS[name]
    if only and only != backend:
        return ""
    ok = value >= bound if op == ">=" else value <= bound
    return f"  (target {op} {bound:g}: {'met' if ok else 'NOT met'})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=100_000, help="jobs for the API benchmark")
    parser.add_argument("--work-jobs", type=int, default=2_000, help="jobs for the lifecycle run")
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "all"], default="all")
    args = parser.parse_args()

    python = platform.python_version()
    print(f"machine: {os.cpu_count()} cores, Python {python}, {platform.platform()}")
    backends = ["sqlite", "postgresql"] if args.backend == "all" else [args.backend]
    if "postgresql" in backends and (reason := postgres_reachable()):
        print(f"postgresql: skipped, unreachable ({reason})")
        backends.remove("postgresql")

    rows: dict[str, dict[str, Any]] = {}
    for backend in backends:
        print(f"\n== {backend}")
        with database(backend) as env, serve(env) as served:
            api = bench_api(served.base_url, served.admin_token, jobs=args.jobs)
            for name, value in api.items():
                print(f"  {name:22} {value:>12,.2f}{_met(name, value, backend)}")
        with database(backend) as env, serve(env) as served:
            work = asyncio.run(
                bench_lifecycle(
                    served.base_url, served.admin_token, jobs=args.work_jobs, workers=args.workers
                )
            )
            for name, value in work.items():
                print(f"  {name:22} {value:>12,.2f}")
        rows[backend] = api | {f"work_{k}": v for k, v in work.items()}

    print(
        "\nbackend     | bulk create jobs/s | first page ms | deep page ms | deep/first"
        " | completed jobs/s (8 workers) | claim p50 ms | claim p99 ms"
    )
    for backend, row in rows.items():
        print(
            f"{backend:11} | {row['create_jobs_per_s']:18,.0f} | {row['first_page_ms']:13.2f} |"
            f" {row['deep_page_ms']:12.2f} | {row['deep_first_ratio']:10.2f} |"
            f" {row['work_completed_per_s']:28.1f} | {row['work_claim_p50_ms']:12.1f} |"
            f" {row['work_claim_p99_ms']:12.1f}"
        )
    errors = sum(row["work_errors"] for row in rows.values())
    if errors:
        print(f"errors during the lifecycle run: {errors}")
        sys.exit(1)


if __name__ == "__main__":
    main()
