"""What a project's owner sets and reads about quality: the rules, worker groups, assignments,
gold scores and the workers' tallies, consensus versions."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from labelyard.core import lifecycle
from labelyard.core.ids import new_id, require_uuid
from labelyard.core.model import Base, Project, rfc3339
from labelyard.core.quality import Assignment, QualitySettings, parse_settings, update_settings
from labelyard.errors import InvalidInput, NotFound
from labelyard.services import utcnow
from labelyard.services.lifecycle import apply, apply_all, state_of
from labelyard.store import batches as batch_store
from labelyard.store import projects as project_store
from labelyard.store import quality as store
from labelyard.store import work as work_store
from labelyard.store import workers as worker_store
from labelyard.store.engine import Database

MAX_GOLD_SCORES = 100


async def _settings(conn: AsyncConnection, project: Project) -> QualitySettings:
    return parse_settings(await store.get_settings(conn, project_id=project.id))


async def get_settings(db: Database, project: Project) -> dict[str, Any]:
    """The project's quality rules."""
    async with db.read() as conn:
        return (await _settings(conn, project)).to_json()


async def update(db: Database, project: Project, patch: object) -> dict[str, Any]:
    """Change some of the project's quality rules (each key validated; pools name groups of
    the project)."""
    async with db.write() as conn:
        settings = update_settings(await _settings(conn, project), patch)
        for kind, group in settings.pools.items():
            if not await store.group_exists(conn, project_id=project.id, group_id=group):
                raise InvalidInput(f"pools.{kind}: no group {group} in this project")
        document = settings.to_json()
        await store.set_settings(conn, project_id=project.id, settings=document)
    return document


# --- Groups --------------------------------------------------------------------------------------


async def create_group(db: Database, project: Project, *, name: str) -> dict[str, Any]:
    """A new, empty worker group of the project."""
    group_id = new_id()
    async with db.write() as conn:
        await store.insert_group(conn, project_id=project.id, id=group_id, name=name, now=utcnow())
    return {"group_id": group_id, "name": name, "worker_ids": []}


async def list_groups(db: Database, project: Project) -> dict[str, Any]:
    """The project's groups with their members."""
    async with db.read() as conn:
        groups = await store.list_groups(conn, project_id=project.id)
        members = await store.members(conn, project_id=project.id)
    return {
        "groups": [
            {"group_id": g.id, "name": g.name, "worker_ids": members.get(g.id, [])} for g in groups
        ]
    }


async def set_members(
    db: Database, project: Project, *, group_id: str, worker_ids: list[str]
) -> dict[str, Any]:
    """Replace a group's members (live workers of the project's account)."""
    group_id = require_uuid(group_id, "group_id")
    async with db.write() as conn:
        if not await store.group_exists(conn, project_id=project.id, group_id=group_id):
            raise NotFound(f"no group {group_id} in this project")
        live = await worker_store.live_ids(conn, account_id=project.account_id, ids=worker_ids)
        unknown = [w for w in worker_ids if w not in live]
        if unknown:
            raise InvalidInput(f"worker_ids: {unknown[0]} is not a live worker of this account")
        await store.set_members(
            conn, project_id=project.id, group_id=group_id, worker_ids=worker_ids
        )
    return {"group_id": group_id, "worker_ids": worker_ids}


async def delete_group(db: Database, project: Project, *, group_id: str) -> dict[str, Any]:
    """Remove a group (refused while a pool names it)."""
    group_id = require_uuid(group_id, "group_id")
    async with db.write() as conn:
        settings = await _settings(conn, project)
        if group_id in settings.pools.values():
            raise InvalidInput("the group limits a step (pools); change pools first")
        if not await store.delete_group(conn, project_id=project.id, group_id=group_id):
            raise NotFound(f"no group {group_id} in this project")
    return {"group_id": group_id, "deleted": True}


# --- Assignment ----------------------------------------------------------------------------------


async def _check_target(conn: AsyncConnection, project: Project, to: Assignment) -> None:
    if to.worker_id is not None:
        live = await worker_store.live_ids(conn, account_id=project.account_id, ids=[to.worker_id])
        if not live:
            raise InvalidInput(f"worker_id: {to.worker_id} is not a live worker of this account")
    if to.group_id is not None and not await store.group_exists(
        conn, project_id=project.id, group_id=to.group_id
    ):
        raise InvalidInput(f"group_id: no group {to.group_id} in this project")


async def assign_job(
    db: Database, project: Project, *, job_id: str, to: Assignment
) -> dict[str, Any]:
    """Assign, reassign or unassign one unfinished job (in its current step)."""
    job_id = require_uuid(job_id, "job_id")
    now = utcnow()
    async with db.write() as conn:
        await _check_target(conn, project, to)
        job = await work_store.lock_job(conn, project_id=project.id, job_id=job_id)
        if job is None:
            raise NotFound("no such job in this project")
        answer = await apply(conn, job, lifecycle.assign(state_of(job), to=to), now=now)
    return {**answer, **_assignment(to)}


async def assign_batch(
    db: Database, project: Project, *, batch_id: str, to: Assignment
) -> dict[str, Any]:
    """Assign, reassign or unassign every unfinished job of a batch, in one transaction."""
    batch_id = require_uuid(batch_id, "batch_id")
    now = utcnow()
    async with db.write() as conn:
        if await batch_store.get_batch(conn, project_id=project.id, id=batch_id) is None:
            raise NotFound(f"no batch {batch_id} in this project")
        await _check_target(conn, project, to)
        jobs = await work_store.open_jobs_of_batch(
            conn, project_id=project.id, batch_id=batch_id, statuses=lifecycle.OPEN_STATUSES
        )
        changes = [(job, lifecycle.assign(state_of(job), to=to)) for job in jobs]
        await apply_all(conn, project.id, changes, now=now)
    return {"batch_id": batch_id, "assigned_jobs": len(jobs), **_assignment(to)}


def _assignment(to: Assignment) -> dict[str, Any]:
    return {"worker_id": to.worker_id, "group_id": to.group_id, "only": to.only}


# --- Scores and versions -------------------------------------------------------------------------


def _tally_view(worker_id: str, row: Any, name: str | None) -> dict[str, Any]:
    gold_jobs = int(row.gold_jobs) if row else 0
    return {
        "worker_id": worker_id,
        "name": name,
        "accepted": int(row.accepted) if row else 0,
        "rejected": int(row.rejected) if row else 0,
        "gold_jobs": gold_jobs,
        "gold_score": float(row.gold_score_sum) / gold_jobs if gold_jobs else None,
    }


async def workers_quality(db: Database, project: Project) -> dict[str, Any]:
    """Every worker's tally in the project: accepted, rejected, gold jobs and mean score."""
    async with db.read() as conn:
        rows = await store.tallies(conn, project_id=project.id)
        names = await worker_store.names_of(conn, account_id=project.account_id)
    return {"workers": [_tally_view(r.worker_id, r, names.get(r.worker_id)) for r in rows]}


async def worker_quality(db: Database, project: Project, *, worker_id: str) -> dict[str, Any]:
    """One worker's tally and latest gold scores with their parts."""
    worker_id = require_uuid(worker_id, "worker_id")
    async with db.read() as conn:
        names = await worker_store.names_of(conn, account_id=project.account_id)
        if worker_id not in names:
            raise NotFound(f"no worker {worker_id} in this account")
        row = await store.tally(conn, project_id=project.id, worker_id=worker_id)
        scores = await store.list_gold_scores(
            conn, project_id=project.id, worker_id=worker_id, limit=MAX_GOLD_SCORES
        )
    return {
        **_tally_view(worker_id, row, names[worker_id]),
        "gold_scores": [
            {
                "job_id": s.job_id,
                "score": s.score,
                "parts": s.parts,
                "created_at": rfc3339(s.created_at),
            }
            for s in scores
        ],
    }


async def job_versions(db: Database, project: Project, *, job_id: str) -> dict[str, Any]:
    """The consensus versions of a job's current round."""
    job_id = require_uuid(job_id, "job_id")
    async with db.read() as conn:
        if await work_store.read_job(conn, project_id=project.id, job_id=job_id) is None:
            raise NotFound("no such job in this project")
        rows = await store.versions(conn, project_id=project.id, job_id=job_id)
    return {
        "job_id": job_id,
        "versions": [
            {
                "worker_id": r.worker_id,
                "annotations": r.annotations,
                "created_at": rfc3339(r.created_at),
            }
            for r in rows
        ],
    }


async def project_by_id(db: Database, *, project_id: object) -> Project:
    """A project by id, for the management CLI (which acts as the server's operator)."""
    canonical = require_uuid(project_id, "project_id")
    async with db.read() as conn:
        row = await project_store.get_project(conn, id=canonical)
    if row is None:
        raise NotFound(f"no project {canonical}")
    return Project(id=row.id, account_id=row.account_id, name=row.name, base=Base(row.base))


async def overview(db: Database, project: Project) -> dict[str, Any]:
    """Everything the owner's quality page shows: rules, groups, the account's workers with
    their tallies in the project, and the batches (to assign)."""
    async with db.read() as conn:
        settings = (await _settings(conn, project)).to_json()
        groups = await store.list_groups(conn, project_id=project.id)
        members = await store.members(conn, project_id=project.id)
        people = await worker_store.live_of_account(conn, account_id=project.account_id)
        tallies = {r.worker_id: r for r in await store.tallies(conn, project_id=project.id)}
        batches = await batch_store.list_batches(conn, project_id=project.id)
    return {
        "settings": settings,
        "groups": [
            {"group_id": g.id, "name": g.name, "worker_ids": members.get(g.id, [])} for g in groups
        ],
        "workers": [
            {**_tally_view(w.id, tallies.get(w.id), w.name), "role": w.role} for w in people
        ],
        "batches": [{"id": b.id, "name": b.name} for b in batches],
    }
