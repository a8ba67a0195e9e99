"""What a worker's queue page shows: the jobs waiting for them, and what comes next."""

from __future__ import annotations

from typing import Any

from labelyard.core import annotations as notes
from labelyard.core import lifecycle
from labelyard.services import utcnow
from labelyard.services.workers import Worker
from labelyard.store import projects as project_store
from labelyard.store import work as store
from labelyard.store.engine import Database


async def upcoming_sources(db: Database, worker: Worker, *, step: str) -> list[str]:
    """The images of the job a claim of ``step`` would give this worker next, for the browser to
    load ahead; nothing is leased."""
    lifecycle.check_role(worker.role, step)
    async with db.read() as conn:
        job = await store.next_free_job(
            conn,
            project_id=worker.project.id,
            queue=step,
            worker_id=worker.id,
            now=utcnow(),
            lock=False,
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
        waiting = await store.waiting_counts(
            conn, account_id=account_id, worker_id=worker_id, now=utcnow()
        )
    return [
        {
            "project_id": row.id,
            "name": row.name,
            "base": row.base,
            "steps": [{"step": kind, "waiting": waiting.get((row.id, kind), 0)} for kind in kinds],
        }
        for row in projects
    ]
