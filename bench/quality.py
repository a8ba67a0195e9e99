"""Claim throughput with the quality rules on, next to the plain figure (docs/quality.md).

For each engine (SQLite, and PostgreSQL when reachable), two runs of ``bench/lifecycle.py`` on
a fresh ``labelyard serve`` each, 8 programmatic ``both`` workers:

- plain: a worker may review their own work, no gold, no sampling, no consensus (the
  historical figure of ``make bench``);
- rules: no self-review, consensus ``overlap`` 3 (threshold 0.8), review sampling (everything
  until 50 accepted, then 20%), gold jobs at 10%.

Printed: successful claims (and per second), completed jobs (and per second), and claim
latency p50/p99.
With overlap 3 every job takes three annotate claims, so compare claims/s, not jobs/s.

    .venv/bin/python bench/quality.py [--jobs 600] [--workers 8] [--backend all]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from harness import database, postgres_reachable, serve
from lifecycle import bench_lifecycle

RULES: dict[str, Any] = {
    "allow_self_review": False,
    "overlap": 3,
    "agreement_threshold": 0.8,
    "sampling": {"full_until": 50, "rate": 0.2},
    "gold_rate": 0.1,
}
GOLD_JOBS = 40


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=600)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "all"], default="all")
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "all" else [args.backend]
    if "postgresql" in backends and (reason := postgres_reachable()):
        print(f"postgresql: skipped, unreachable ({reason})")
        backends.remove("postgresql")
    print(
        f"{'engine':11} {'run':6} {'claims':>7} {'claims/s':>9} {'done':>5} {'jobs/s':>8}"
        f" {'p50 ms':>7} {'p99 ms':>7} errors"
    )
    failed = False
    for backend in backends:
        for name, rules, gold in (("plain", None, 0), ("rules", RULES, GOLD_JOBS)):
            with database(backend) as env, serve(env) as served:
                figures = asyncio.run(
                    bench_lifecycle(
                        served.base_url,
                        served.admin_token,
                        jobs=args.jobs,
                        workers=args.workers,
                        quality=rules,
                        gold=gold,
                    )
                )
            failed |= bool(figures["errors"])
            print(
                f"{backend:11} {name:6} {figures['claims']:7} {figures['claims_per_s']:9.1f} "
                f"{figures['completed']:5} {figures['completed_per_s']:8.1f} "
                f"{figures['claim_p50_ms']:7.1f} "
                f"{figures['claim_p99_ms']:7.1f} {figures['errors']}",
                flush=True,
            )
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
