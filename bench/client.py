"""Client import: ``labelyard jobs import`` rows/s next to the bulk endpoint's own rate.

``rows`` IMAGE jobs are written to a JSONL file and imported by a real ``labelyard jobs import``
process (timed from its start to its exit) into one batch. Then the same rows, their reference
ids prefixed ``raw-``, are posted straight to ``/v1/projects/{id}/jobs/bulk`` with httpx, 10,000
a call, bodies encoded beforehand, into another batch of the same project. The gap is what the
command costs: its start, reading the file, chunking, and the answers it reads.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from harness import _labelyard

BULK = 10_000


def _row(i: int) -> dict[str, Any]:
    return {"reference_id": f"row-{i}", "image_url": f"https://img.example/{i}.jpg"}


def bench_client(base_url: str, admin_token: str, args: argparse.Namespace) -> dict[str, Any]:
    """Import ``args.client_rows`` rows with the CLI, then post them raw; rows/s of each."""
    rows: int = args.client_rows
    if rows <= 0:
        return {}
    with httpx.Client(base_url=base_url, timeout=300) as http:
        project = http.post(
            "/admin/v1/projects",
            headers={"authorization": f"Bearer {admin_token}"},
            json={"name": "bench-client", "base": "IMAGE"},
        ).json()["data"]
        pid, key = project["project_id"], project["api_key"]

        with tempfile.TemporaryDirectory(prefix="labelyard-bench-client-") as tmp:
            path = Path(tmp) / "jobs.jsonl"
            path.write_text("".join(json.dumps(_row(i)) + "\n" for i in range(rows)))
            started = time.perf_counter()
            subprocess.run([*_labelyard(), "jobs", "import", "--help"], capture_output=True)
            start_seconds = time.perf_counter() - started
            command = [*_labelyard(), "jobs", "import", "--project", pid, str(path)]
            command += ["--batch-name", "cli", "--url", base_url, "--api-key", key, "--json"]
            started = time.perf_counter()
            done = subprocess.run(command, capture_output=True, text=True, check=False)
            import_seconds = time.perf_counter() - started
        if done.returncode != 0 or json.loads(done.stdout)["created"] != rows:
            raise RuntimeError(
                f"jobs import: {done.returncode} {done.stdout} {done.stderr[-2000:]}"
            )

        http.headers["x-api-key"] = key
        batch = http.post(f"/v1/projects/{pid}/batch", json={"name": "raw"}).json()["data"]
        bodies = [
            json.dumps(
                {
                    "jobs": [
                        {
                            "reference_id": f"raw-row-{i}",
                            "tag": "default",
                            "batch_id": batch["batch_id"],
                            "data": {"image_url": f"https://img.example/{i}.jpg"},
                        }
                        for i in range(start, min(rows, start + BULK))
                    ]
                }
            )
            for start in range(0, rows, BULK)
        ]
        started = time.perf_counter()
        for body in bodies:
            reply = http.post(
                f"/v1/projects/{pid}/jobs/bulk",
                content=body,
                headers={"content-type": "application/json"},
            )
            results = reply.json()["data"]["results"] if reply.status_code == 200 else []
            if not results or not all(r.get("created") is True for r in results):
                raise RuntimeError(f"bulk create: {reply.status_code} {reply.text[:500]}")
        raw_seconds = time.perf_counter() - started
    return {
        "client_rows": rows,
        "client_import_rows_per_s": rows / import_seconds,
        "client_bulk_rows_per_s": rows / raw_seconds,
        "client_import_vs_bulk": raw_seconds / import_seconds,
        "client_cli_start_s": start_seconds,
    }
