"""What a worker's queue page shows: the jobs waiting for them, and what comes next."""

from __future__ import annotations

from typing import Any

from labelyard.core import annotations as notes
from labelyard.core import lifecycle, quality
from labelyard.core.quality import parse_settings
from labelyard.errors import Forbidden
from labelyard.services import utcnow
from labelyard.services.workers import Worker
from labelyard.store import projects as project_store
from labelyard.store import quality as quality_store
from labelyard.store import work as store
from labelyard.store.engine import Database

# The queue page counts each step's claimable jobs up to here, and shows "100+" beyond.
WAITING_SHOWN = 100


async def upcoming_sources(db: Database, worker: Worker, *, step: str) -> list[str]:
    """The images of the job a claim of ``step`` would give this worker next, for the browser to
    load ahead; nothing is leased."""
    lifecycle.check_role(worker.role, step)
    async with db.read() as conn:
        groups = await quality_store.groups_of(
            conn, project_id=worker.project.id, worker_id=worker.id
        )
        # The look ahead ignores gold mixing (draw 1.0): a gold job's media is never hinted.
        plan = quality.claim_plan(
            worker.project.quality, kind=step, worker_id=worker.id, groups=groups, draw=1.0
        )
        job = await store.next_free_job(
            conn, project_id=worker.project.id, rules=plan[0], now=utcnow(), lock=False
        )
    return [] if job is None else notes.image_sources(worker.project.base, job.data)


async def queues(
    db: Database, *, account_id: str, worker_id: str, role: str
) -> list[dict[str, Any]]:
    """The account's projects with, for each step kind the role may work, how many jobs the
    worker could claim there now: ``waiting`` exact up to ``WAITING_SHOWN``, with ``more`` when
    there are more than that (the page shows "100+"). Each figure is a bounded read of the
    queue index with the claim's own rules, so the page costs the same at any queue length."""
    kinds = lifecycle.kinds_of_role(role)
    now = utcnow()
    shown: list[dict[str, Any]] = []
    async with db.read() as conn:
        projects = await project_store.list_projects(conn, account_id=account_id)
        groups = await quality_store.memberships(conn, worker_id=worker_id)
        for row in projects:
            settings = parse_settings(row.quality)
            mine = sorted(groups.get(row.id, set()))
            steps = []
            for kind in kinds:
                try:
                    # The draw 1.0 leaves out gold mixing: the page counts the step's work.
                    rules = quality.claim_plan(
                        settings, kind=kind, worker_id=worker_id, groups=mine, draw=1.0
                    )[-1]
                except Forbidden:
                    count = 0  # the step is limited to a group they are not in
                else:
                    count = await store.free_count(
                        conn, project_id=row.id, rules=rules, now=now, limit=WAITING_SHOWN + 1
                    )
                steps.append(
                    {
                        "step": kind,
                        "waiting": min(count, WAITING_SHOWN),
                        "more": count > WAITING_SHOWN,
                    }
                )
            shown.append({"project_id": row.id, "name": row.name, "base": row.base, "steps": steps})
    return shown
