"""The worker API's use cases: claim, heartbeat, draft, submit, skip, review.

Each runs in one write transaction: the job row is locked, ``core.lifecycle`` decides what
changes and ``services.lifecycle.apply`` writes it (job, counters, transition, events).
"""

from __future__ import annotations

import random
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncConnection

from labelyard.blobs import BlobStore
from labelyard.core import agreement, lifecycle, quality
from labelyard.core import annotations as notes
from labelyard.core.commands import (
    Claim,
    Draft,
    Heartbeat,
    JobAction,
    Review,
    Skip,
    Submit,
    Work,
)
from labelyard.core.ids import require_uuid
from labelyard.core.lifecycle import JobState
from labelyard.core.model import Base, rfc3339
from labelyard.errors import NotFound
from labelyard.services import analytics, point_clouds, utcnow
from labelyard.services.lifecycle import apply, state_of
from labelyard.services.workers import Worker, WorkProject
from labelyard.store import Record
from labelyard.store import quality as quality_store
from labelyard.store import work as store
from labelyard.store.engine import Database


def _view(
    job: Record,
    project: WorkProject,
    state: JobState,
    *,
    draft: Any,
    until: datetime,
    versions: list[Record] | None = None,
) -> dict[str, Any]:
    view = {
        "job_id": job.id,
        "project_id": job.project_id,
        "batch_id": job.batch_id,
        "reference_id": job.reference_id,
        "base": project.base.value,
        "step": state.step_kind,
        "step_name": state.route.name_of(state.step_index),
        # A gold job's answer never reaches the worker (nor does it show it is gold).
        "data": {k: v for k, v in job.data.items() if k != "gold"},
        "draft": draft,
        "comment": job.comment,
        "reject_reasons": list(job.reject_reasons or []),
        # What a reviewer may pick from when rejecting.
        "reject_reason_choices": list(project.quality.reject_reasons),
        "schema": project.schema.to_json(for_workers=True),
        "lease_expires_at": rfc3339(until),
    }
    if versions:
        view["versions"] = [
            {"worker_id": v.worker_id, "annotations": v.annotations} for v in versions
        ]
    return view


async def _versions(conn: AsyncConnection, job: Record, state: JobState) -> list[Record] | None:
    """The consensus versions a reviewer sees side by side."""
    if state.step_kind != lifecycle.REVIEW:
        return None
    return await quality_store.versions(conn, project_id=job.project_id, job_id=job.id)


async def _find(
    conn: AsyncConnection, worker: Worker, step: str, now: datetime, draw: float
) -> Record | None:
    """The job a claim of ``step`` takes, under the project's quality rules."""
    project = worker.project
    groups = await quality_store.groups_of(conn, project_id=project.id, worker_id=worker.id)
    plan = quality.claim_plan(
        project.quality, kind=step, worker_id=worker.id, groups=groups, draw=draw
    )
    for rules in plan:
        job = await store.next_free_job(conn, project_id=project.id, rules=rules, now=now)
        if job is not None:
            return job
    return None


def _draft(job: Record, project: WorkProject) -> Any:
    if job.draft is not None:
        return job.draft
    return notes.starting_draft(project.base, project.schema, job.data)


async def act(
    db: Database,
    blobs: BlobStore,
    worker: Worker,
    *,
    job_id: str,
    action: JobAction,
    default_lease: int,
    base_url: str,
    rng: random.Random,
) -> dict[str, Any]:
    """Do ``action`` on a job this worker holds (the worker API's and the editor's calls);
    ``rng`` draws review sampling."""
    if isinstance(action, Heartbeat):
        return await heartbeat(
            db,
            worker,
            job_id=job_id,
            lease_seconds=action.lease_seconds,
            default_lease=default_lease,
        )
    if isinstance(action, Draft):
        return await save_draft(db, worker, job_id=job_id, work=Work(action.annotations))
    if isinstance(action, Skip):
        return await skip(db, worker, job_id=job_id, reason=action.reason)
    if isinstance(action, Submit):
        return await submit(
            db,
            blobs,
            worker,
            job_id=job_id,
            work=Work(action.annotations),
            base_url=base_url,
            rng=rng,
        )
    return await review(db, blobs, worker, job_id=job_id, decision=action, base_url=base_url)


async def claim(
    db: Database, worker: Worker, command: Claim, *, default_lease: int, rng: random.Random
) -> dict[str, Any] | None:
    """The next free job of the asked step, leased to this worker; None if the queue is empty.

    The project's quality rules apply (``core.quality.claim_plan``): assignments, pools, no
    review of one's own work, gold jobs mixed in at the gold rate (``rng`` draws), one
    version per annotator of a consensus job.
    """
    lifecycle.check_role(worker.role, command.step)
    draw = rng.random()
    now = utcnow()
    until = lifecycle.lease_until(now, command.lease_seconds, default_lease)
    project = worker.project
    if db.is_sqlite:
        # SQLite has a single writer: look for a free job before queueing for the write lock,
        # so empty queues cost a read. The claim itself is decided under the lock below.
        async with db.read() as conn:
            found = await _find(conn, worker, command.step, now, draw)
        if found is None:
            return None
    async with db.write() as conn:
        job = await _find(conn, worker, command.step, now, draw)
        if job is None:
            return None
        state = state_of(job)
        draft = _draft(job, project)
        versions = await _versions(conn, job, state)
        view = _view(job, project, state, draft=draft, until=until, versions=versions)
        # The answer is encoded before the lease commits: a job whose view cannot be sent is
        # never leased (the error rolls the claim back).
        orjson.dumps(view)
        change = lifecycle.claim(state, worker_id=worker.id, until=until, draft=draft)
        await apply(conn, job, change, now=now)
        return view


async def _held(
    conn: AsyncConnection, worker: Worker, job_id: str, now: datetime
) -> tuple[Record, JobState]:
    job = await store.lock_job(
        conn, project_id=worker.project.id, job_id=require_uuid(job_id, "job_id")
    )
    if job is None:
        raise NotFound("no such job in this project")
    state = state_of(job)
    lifecycle.check_held(state, worker.id, now)
    return job, state


async def held_view(db: Database, worker: Worker, *, job_id: str) -> dict[str, Any]:
    """The job as a claim answered it, for the worker that still holds its lease."""
    now = utcnow()
    async with db.read() as conn:
        job = await store.read_job(
            conn, project_id=worker.project.id, job_id=require_uuid(job_id, "job_id")
        )
        if job is None:
            raise NotFound("no such job in this project")
        state = state_of(job)
        until = lifecycle.check_held(state, worker.id, now)
        versions = await _versions(conn, job, state)
    draft = _draft(job, worker.project)
    return _view(job, worker.project, state, draft=draft, until=until, versions=versions)


async def heartbeat(
    db: Database, worker: Worker, *, job_id: str, lease_seconds: int | None, default_lease: int
) -> dict[str, str]:
    """Extend the lease."""
    now = utcnow()
    until = lifecycle.lease_until(now, lease_seconds, default_lease)
    async with db.write() as conn:
        job, state = await _held(conn, worker, job_id, now)
        await store.update_job(
            conn, project_id=worker.project.id, job_id=job.id, lease_expires_at=until
        )
        await analytics.activity(
            conn, worker.project.id, worker_id=worker.id, step=state.step_name, now=now
        )
    return {"job_id": job.id, "lease_expires_at": rfc3339(until)}


async def _validated(
    conn: AsyncConnection, annotations: Any, project: WorkProject, job: Record
) -> Any:
    # Point-segmentation indices are bounded by the converted lidar files' point counts.
    counts = (
        await point_clouds.point_counts(conn, project_id=project.id, job_id=job.id)
        if project.base is Base.POINT_CLOUD_SEGMENTATION
        else None
    )
    notes.validate(
        annotations, base=project.base, schema=project.schema, data=job.data, point_counts=counts
    )
    return annotations


async def _apply(
    conn: AsyncConnection,
    job: Record,
    change: lifecycle.Change,
    *,
    project: WorkProject,
    now: datetime,
    blobs: BlobStore,
    base_url: str,
) -> dict[str, Any]:
    if change.result is not None and project.base is Base.POINT_CLOUD_SEGMENTATION:
        change = await point_clouds.with_segmentation(conn, blobs, job, change, base_url=base_url)
    return await apply(conn, job, change, now=now, blobs=blobs, base_url=base_url)


async def save_draft(db: Database, worker: Worker, *, job_id: str, work: Work) -> dict[str, Any]:
    """Save work in progress (validated shapes, so a draft can always be submitted as is)."""
    now = utcnow()
    async with db.write() as conn:
        job, state = await _held(conn, worker, job_id, now)
        annotations = await _validated(conn, work.annotations, worker.project, job)
        await store.update_job(
            conn, project_id=worker.project.id, job_id=job.id, draft=annotations, updated_at=now
        )
        await analytics.activity(
            conn, worker.project.id, worker_id=worker.id, step=state.step_name, now=now
        )
    return {"job_id": job.id, "saved_at": rfc3339(now)}


async def submit(
    db: Database,
    blobs: BlobStore,
    worker: Worker,
    *,
    job_id: str,
    work: Work,
    base_url: str,
    rng: random.Random,
) -> dict[str, Any]:
    """Hand in an annotate step's work; the job moves on (or, for a gold job, is scored; for a
    consensus job, waits for its other versions; with sampling, may skip its review)."""
    now = utcnow()
    project = worker.project
    settings = project.quality
    draw = rng.random()
    async with db.write() as conn:
        job, state = await _held(conn, worker, job_id, now)
        lifecycle.check_step(state, lifecycle.ANNOTATE)
        annotations = await _validated(conn, work.annotations, project, job)
        change: lifecycle.Change
        if state.gold:
            score = agreement.score_gold(job.data.get("gold"), annotations)
            change = lifecycle.submit_gold(state, worker_id=worker.id, score=score)
        elif settings.overlap > 1:
            rows = await quality_store.versions(conn, project_id=project.id, job_id=job.id)
            earlier = [row.annotations for row in rows]
            earlier_workers = [row.worker_id for row in rows]
            last = len(earlier) + 1 >= settings.overlap
            change = lifecycle.submit_version(
                state,
                base=project.base,
                data=job.data,
                annotations=annotations,
                worker_id=worker.id,
                now=now,
                earlier=earlier,
                overlap=settings.overlap,
                threshold=settings.agreement_threshold,
                merge=agreement.consensus([*earlier, annotations]) if last else None,
                earlier_workers=earlier_workers,
            )
        else:
            decided = None
            if settings.sampling is not None:
                mine = await quality_store.tally(conn, project_id=project.id, worker_id=worker.id)
                accepted = int(mine.accepted) if mine else 0
                decided = quality.sample(settings.sampling, accepted=accepted, draw=draw)
            change = lifecycle.submit(
                state,
                base=project.base,
                data=job.data,
                annotations=annotations,
                worker_id=worker.id,
                now=now,
                sampled=decided,
            )
        return await _apply(
            conn, job, change, project=project, now=now, blobs=blobs, base_url=base_url
        )


async def skip(db: Database, worker: Worker, *, job_id: str, reason: str | None) -> dict[str, Any]:
    """Give the job back; it is not offered to this worker again."""
    now = utcnow()
    async with db.write() as conn:
        job, state = await _held(conn, worker, job_id, now)
        return await apply(
            conn, job, lifecycle.skip(state, worker_id=worker.id, reason=reason), now=now
        )


async def review(
    db: Database, blobs: BlobStore, worker: Worker, *, job_id: str, decision: Review, base_url: str
) -> dict[str, Any]:
    """Accept (optionally with corrections) or reject back to an earlier step, with a comment."""
    now = utcnow()
    project = worker.project
    async with db.write() as conn:
        job, state = await _held(conn, worker, job_id, now)
        lifecycle.check_step(state, lifecycle.REVIEW)
        annotators = tuple(
            await quality_store.annotators(conn, project_id=project.id, job_id=job.id)
        )
        settings = project.quality
        if decision.decision == "reject":
            consensus = settings.overlap > 1
            change = lifecycle.reject(
                state,
                step=decision.step,
                worker_id=worker.id,
                comment=decision.comment,
                reasons=quality.parse_reject_reasons(settings, list(decision.reasons)),
                back_to=quality.UNASSIGNED
                if consensus
                else quality.after_reject(settings, annotators[-1] if annotators else None),
                clear_versions=consensus,
                annotators=annotators,
            )
        else:
            # Corrections, or the draft as saved (valid then; the schema may have changed since).
            annotations = decision.annotations if decision.annotations is not None else job.draft
            change = lifecycle.accept(
                state,
                base=project.base,
                data=job.data,
                annotations=await _validated(conn, annotations, project, job),
                worker_id=worker.id,
                comment=decision.comment,
                now=now,
                annotators=annotators,
            )
        return await _apply(
            conn, job, change, project=project, now=now, blobs=blobs, base_url=base_url
        )
