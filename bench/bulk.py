"""Bulk create alone: jobs/s over HTTP and the server's CPU seconds for them.

``PYTHONPATH=src .venv/bin/python bench/bulk.py --backend sqlite|postgresql [--jobs 100000]``
starts a ``labelyard serve`` on a fresh database (the code on ``PYTHONPATH``), creates one
project, then ``--jobs`` jobs in calls of 10,000 (``POST /v1/projects/{pid}/jobs/bulk``), and
prints the wall rate and the user + system CPU of the serve process tree over the calls (read
from ``/proc``, Linux only), per 100,000 jobs; on PostgreSQL also the CPU of the backends
connected to the benchmark's database (PostgreSQL on the same machine).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import httpx
from harness import database, serve

from api import bulk_calls, image_project, post_bulk


def _tree_cpu(root: int) -> float:
    """User + system CPU seconds of ``root`` and its descendants (alive ones)."""
    ticks = os.sysconf("SC_CLK_TCK")
    children: dict[int, list[int]] = {}
    stats: dict[int, list[str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue
        fields = text.rpartition(")")[2].split()
        pid = int(entry.name)
        stats[pid] = fields
        children.setdefault(int(fields[1]), []).append(pid)
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        fields = stats.get(pid)
        if fields is not None:
            total += (int(fields[11]) + int(fields[12])) / ticks
        todo += children.get(pid, [])
    return total


def _database_cpu(name: str) -> float:
    """User + system CPU seconds of the PostgreSQL backends of database ``name`` (alive ones;
    0 without PostgreSQL)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes()
            if not command.startswith(b"postgres:") or name.encode() not in command:
                continue
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def _serve_pid(port: str) -> int:
    """The ``labelyard serve`` process listening on ``port`` (found by its command line)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"serve" in command and port.encode() in command:
            return int(entry.name)
    raise RuntimeError(f"no serve process on port {port}")


def run(backend: str, jobs: int) -> dict[str, float]:
    with database(backend) as env, serve(env) as served:
        root = _serve_pid(served.base_url.rpartition(":")[2])
        name = env.get("LABELYARD_DATABASE_URL", "").rpartition("/")[2] or "-"
        with httpx.Client(base_url=served.base_url, timeout=300) as client:
            project = image_project(client, served.admin_token)
            calls = bulk_calls(project, jobs)
            time.sleep(1)
            cpu0, wall0 = _tree_cpu(root), time.perf_counter()
            db0 = _database_cpu(name) if backend == "postgresql" else 0.0
            for body, size in calls:
                post_bulk(client, project["project_id"], body, size)
            wall = time.perf_counter() - wall0
            cpu = _tree_cpu(root) - cpu0
            db = (_database_cpu(name) - db0) if backend == "postgresql" else 0.0
    return {
        "jobs_per_s": jobs / wall,
        "server_cpu_s_per_100k": cpu * 100_000 / jobs,
        "database_cpu_s_per_100k": db * 100_000 / jobs,
        "wall_s": wall,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    for _ in range(args.runs):
        figures = run(args.backend, args.jobs)
        load = os.getloadavg()[0]
        print(
            f"{args.backend}: {figures['jobs_per_s']:,.0f} jobs/s, "
            f"server CPU {figures['server_cpu_s_per_100k']:.2f} s per 100k jobs, "
            f"PostgreSQL backends {figures['database_cpu_s_per_100k']:.2f} s, "
            f"wall {figures['wall_s']:.2f} s, load {load:.2f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
