"""What a worker's queue page shows: the jobs waiting for them, and what comes next."""

from __future__ import annotations

from typing import Any

from labelyard.core import annotations as notes
from labelyard.core import lifecycle, quality
from labelyard.core.quality import parse_settings
from labelyard.services import utcnow
from labelyard.services.workers import Worker
from labelyard.store import projects as project_store
from labelyard.store import quality as quality_store
from labelyard.store import work as store
from labelyard.store.engine import Database


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
    worker could claim there."""
    kinds = lifecycle.kinds_of_role(role)
    async with db.read() as conn:
        projects = await project_store.list_projects(conn, account_id=account_id)
        waiting, own_reviews = await store.waiting_counts(
            conn, account_id=account_id, worker_id=worker_id, now=utcnow()
        )
        groups = await quality_store.memberships(conn, worker_id=worker_id)

    def claimable(row: Any, kind: str) -> int:
        settings = parse_settings(row.quality)
        pool = settings.pools.get(kind)
        if pool is not None and pool not in groups.get(row.id, set()):
            return 0  # the step is limited to a group they are not in
        count = waiting.get((row.id, kind), 0)
        if kind == lifecycle.REVIEW and not settings.allow_self_review:
            count -= own_reviews.get(row.id, 0)  # their own work: never theirs to review
        return count

    return [
        {
            "project_id": row.id,
            "name": row.name,
            "base": row.base,
            "steps": [{"step": kind, "waiting": claimable(row, kind)} for kind in kinds],
        }
        for row in projects
    ]
