"""The worker API's use cases: claim, heartbeat, draft, submit, skip, review, and for
programs the same on many jobs at once (a batch claim, list submits and reviews).

Each runs in one write transaction: the job rows are locked, ``core.lifecycle`` decides what
changes and ``services.lifecycle.apply_all`` writes it (jobs, counters, transitions, events).
The list calls keep the single calls' rules by sharing their decisions (``_submission``,
``_verdict``), which is why they live here rather than in a module of their own.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
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
from labelyard.errors import LabelyardError, NotFound
from labelyard.services import analytics, point_clouds, utcnow
from labelyard.services.lifecycle import apply, apply_all, state_of
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
    common: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """What a claim answers for ``job``; ``common``: ``_common(project)``, built once for
    many views of one call (the schema document is the same for all of them)."""
    shared = common if common is not None else _common(project)
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
        **shared,
        "lease_expires_at": rfc3339(until),
    }
    if versions:
        view["versions"] = [
            {"worker_id": v.worker_id, "annotations": v.annotations} for v in versions
        ]
    return view


def _common(project: WorkProject) -> dict[str, Any]:
    """The parts of a claim's answer that are the project's, not the job's."""
    return {
        # What a reviewer may pick from when rejecting.
        "reject_reason_choices": list(project.quality.reject_reasons),
        "schema": project.schema.to_json(for_workers=True),
    }


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


async def _find_many(
    conn: AsyncConnection,
    worker: Worker,
    step: str,
    now: datetime,
    draws: list[float],
    *,
    lock: bool = True,
    most: int | None = None,
) -> list[Record]:
    """The jobs a claim of ``len(draws)`` jobs of ``step`` takes (at most ``most``), under the
    quality rules: one statement per look (``core.quality.batch_claim_plan``)."""
    project = worker.project
    groups = await quality_store.groups_of(conn, project_id=project.id, worker_id=worker.id)
    plan = quality.batch_claim_plan(
        project.quality, kind=step, worker_id=worker.id, groups=groups, draws=draws
    )
    found: list[Record] = []
    total = len(draws) if most is None else min(most, len(draws))
    for rules, cap in plan:
        wanted = min(cap, total - len(found))
        if wanted <= 0:
            continue
        found += await store.free_jobs(
            conn,
            project_id=project.id,
            rules=rules,
            now=now,
            limit=wanted,
            lock=lock,
            besides=[row.id for row in found],
        )
    return found


async def claim_many(
    db: Database, worker: Worker, command: Claim, *, default_lease: int, rng: random.Random
) -> list[dict[str, Any]]:
    """Up to ``command.count`` free jobs of the asked step, leased to this worker in one
    transaction (``lifecycle.apply_all``), in the order single claims would have taken them;
    an empty list if the queue is empty.

    Every rule of ``claim`` holds: each job is drawn for gold on its own, and no job is taken
    twice (a consensus job is one row, leased to one worker at a time).
    """
    lifecycle.check_role(worker.role, command.step)
    count = command.count or 1
    draws = [rng.random() for _ in range(count)]
    now = utcnow()
    until = lifecycle.lease_until(now, command.lease_seconds, default_lease)
    project = worker.project
    if db.is_sqlite:
        # As ``claim``: an empty queue costs a read, not a turn at the write lock.
        async with db.read() as conn:
            if not await _find_many(conn, worker, command.step, now, draws, lock=False, most=1):
                return []
    async with db.write() as conn:
        rows = await _find_many(conn, worker, command.step, now, draws)
        if not rows:
            return []
        review = [row.id for row in rows if row.queue == lifecycle.REVIEW]
        versions = await quality_store.versions_of(conn, project_id=project.id, job_ids=review)
        views: list[dict[str, Any]] = []
        changes: list[tuple[Record, lifecycle.Change]] = []
        states: list[JobState] = []
        common = _common(project)
        for job in rows:
            state = state_of(job)
            states.append(state)
            draft = _draft(job, project)
            views.append(
                _view(
                    job,
                    project,
                    state,
                    draft=draft,
                    until=until,
                    versions=versions.get(job.id),
                    common=common,
                )
            )
            change = lifecycle.claim(state, worker_id=worker.id, until=until, draft=draft)
            changes.append((job, change))
        # Encoded before the leases commit, as ``claim`` does.
        orjson.dumps(views)
        await apply_all(conn, project.id, changes, now=now, states=states)
        return views


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


async def _submission(
    conn: AsyncConnection,
    project: WorkProject,
    worker: Worker,
    job: Record,
    state: JobState,
    annotations: Any,
    *,
    now: datetime,
    draw: float,
    accepted: int,
) -> lifecycle.Change:
    """What handing in ``annotations`` does to a held job; ``accepted``: the worker's accepted
    jobs so far (read by the caller when the project samples reviews)."""
    settings = project.quality
    lifecycle.check_step(state, lifecycle.ANNOTATE)
    annotations = await _validated(conn, annotations, project, job)
    if state.gold:
        score = agreement.score_gold(job.data.get("gold"), annotations)
        return lifecycle.submit_gold(state, worker_id=worker.id, score=score)
    if settings.overlap > 1:
        rows = await quality_store.versions(conn, project_id=project.id, job_id=job.id)
        earlier = [row.annotations for row in rows]
        earlier_workers = [row.worker_id for row in rows]
        last = len(earlier) + 1 >= settings.overlap
        return lifecycle.submit_version(
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
    decided = None
    if settings.sampling is not None:
        decided = quality.sample(settings.sampling, accepted=accepted, draw=draw)
    return lifecycle.submit(
        state,
        base=project.base,
        data=job.data,
        annotations=annotations,
        worker_id=worker.id,
        now=now,
        sampled=decided,
    )


async def _accepted(conn: AsyncConnection, project: WorkProject, worker: Worker) -> int:
    """The worker's accepted jobs, which review sampling needs (0 when it does not sample)."""
    if project.quality.sampling is None:
        return 0
    mine = await quality_store.tally(conn, project_id=project.id, worker_id=worker.id)
    return int(mine.accepted) if mine else 0


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
    draw = rng.random()
    async with db.write() as conn:
        job, state = await _held(conn, worker, job_id, now)
        lifecycle.check_step(state, lifecycle.ANNOTATE)
        change = await _submission(
            conn,
            project,
            worker,
            job,
            state,
            work.annotations,
            now=now,
            draw=draw,
            accepted=await _accepted(conn, project, worker),
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


async def _verdict(
    conn: AsyncConnection,
    project: WorkProject,
    worker: Worker,
    job: Record,
    state: JobState,
    decision: Review,
    *,
    annotators: tuple[str, ...],
    now: datetime,
) -> lifecycle.Change:
    """What a review decision does to a held job whose annotators are ``annotators``."""
    lifecycle.check_step(state, lifecycle.REVIEW)
    settings = project.quality
    if decision.decision == "reject":
        consensus = settings.overlap > 1
        return lifecycle.reject(
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
    # Corrections, or the draft as saved (valid then; the schema may have changed since).
    annotations = decision.annotations if decision.annotations is not None else job.draft
    return lifecycle.accept(
        state,
        base=project.base,
        data=job.data,
        annotations=await _validated(conn, annotations, project, job),
        worker_id=worker.id,
        comment=decision.comment,
        now=now,
        annotators=annotators,
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
        change = await _verdict(
            conn, project, worker, job, state, decision, annotators=annotators, now=now
        )
        return await _apply(
            conn, job, change, project=project, now=now, blobs=blobs, base_url=base_url
        )


def _failed(job_id: str, error: LabelyardError) -> dict[str, Any]:
    return {"job_id": job_id, "error": {"code": error.code, "message": error.message}}


async def _apply_list(
    conn: AsyncConnection,
    worker: Worker,
    decided: list[tuple[str, Record | None, lifecycle.Change | LabelyardError]],
    held: Mapping[str, tuple[Record, JobState] | LabelyardError],
    *,
    now: datetime,
    blobs: BlobStore,
    base_url: str,
) -> dict[str, Any]:
    """Write the changes decided for a list's items (``held``: ``_held_list``'s) in one
    ``apply_all``; per item, what the single call would have answered, or its error."""
    project = worker.project
    changes: list[tuple[Record, lifecycle.Change]] = []
    states: list[JobState] = []
    results: list[dict[str, Any]] = []
    for job_id, job, outcome in decided:
        if isinstance(outcome, LabelyardError) or job is None:
            error = outcome if isinstance(outcome, LabelyardError) else NotFound()
            results.append(_failed(job_id, error))
            continue
        change = outcome
        if change.result is not None and project.base is Base.POINT_CLOUD_SEGMENTATION:
            try:
                change = await point_clouds.with_segmentation(
                    conn, blobs, job, change, base_url=base_url
                )
            except LabelyardError as error:
                results.append(_failed(job_id, error))
                continue
        found = held[job_id]
        state = found[1] if not isinstance(found, LabelyardError) else state_of(job)
        changes.append((job, change))
        states.append(state)
        step = state.route.name_of(change.to_index) if change.to_index is not None else None
        results.append({"job_id": job.id, "status": change.to_status, "step": step})
    if changes:
        await apply_all(
            conn, project.id, changes, now=now, blobs=blobs, base_url=base_url, states=states
        )
    return {"results": results}


async def _held_list(
    conn: AsyncConnection, worker: Worker, job_ids: list[str], now: datetime, kind: str
) -> dict[str, tuple[Record, JobState] | LabelyardError]:
    """Each job of a list, locked, with its state, or why this worker may not act on it."""
    rows = await store.read_jobs(conn, project_id=worker.project.id, job_ids=job_ids)
    by_id = {row.id: row for row in rows}
    held: dict[str, tuple[Record, JobState] | LabelyardError] = {}
    for job_id in job_ids:
        job = by_id.get(job_id)
        if job is None:
            held[job_id] = NotFound("no such job in this project")
            continue
        state = state_of(job)
        try:
            lifecycle.check_held(state, worker.id, now)
            lifecycle.check_step(state, kind)
        except LabelyardError as error:
            held[job_id] = error
            continue
        held[job_id] = (job, state)
    return held


async def submit_many(
    db: Database,
    blobs: BlobStore,
    worker: Worker,
    *,
    items: list[tuple[str, Work]],
    base_url: str,
    rng: random.Random,
) -> dict[str, Any]:
    """Hand in the work of many held annotate steps in one transaction: ``results[i]`` is what
    ``submit`` answers for item i, or its error; the items without an error are applied."""
    now = utcnow()
    project = worker.project
    draws = [rng.random() for _ in items]
    async with db.write() as conn:
        held = await _held_list(conn, worker, [job_id for job_id, _ in items], now, "annotate")
        accepted = await _accepted(conn, project, worker)
        decided: list[tuple[str, Record | None, lifecycle.Change | LabelyardError]] = []
        for (job_id, work), draw in zip(items, draws, strict=True):
            found = held[job_id]
            if isinstance(found, LabelyardError):
                decided.append((job_id, None, found))
                continue
            job, state = found
            try:
                change = await _submission(
                    conn,
                    project,
                    worker,
                    job,
                    state,
                    work.annotations,
                    now=now,
                    draw=draw,
                    accepted=accepted,
                )
            except LabelyardError as error:
                decided.append((job_id, job, error))
                continue
            # Work that skips review counts as accepted at once (sampling reads the count).
            accepted += change.credit.count(worker.id)
            decided.append((job_id, job, change))
        return await _apply_list(
            conn, worker, decided, held, now=now, blobs=blobs, base_url=base_url
        )


async def review_many(
    db: Database,
    blobs: BlobStore,
    worker: Worker,
    *,
    items: list[tuple[str, Review]],
    base_url: str,
) -> dict[str, Any]:
    """Decide many held review steps in one transaction: ``results[i]`` is what ``review``
    answers for item i, or its error; the items without an error are applied."""
    now = utcnow()
    project = worker.project
    async with db.write() as conn:
        held = await _held_list(conn, worker, [job_id for job_id, _ in items], now, "review")
        annotators = await quality_store.annotators_of(
            conn, project_id=project.id, job_ids=[job_id for job_id, _ in items]
        )
        decided: list[tuple[str, Record | None, lifecycle.Change | LabelyardError]] = []
        for job_id, decision in items:
            found = held[job_id]
            if isinstance(found, LabelyardError):
                decided.append((job_id, None, found))
                continue
            job, state = found
            try:
                change = await _verdict(
                    conn,
                    project,
                    worker,
                    job,
                    state,
                    decision,
                    annotators=tuple(annotators.get(job_id, ())),
                    now=now,
                )
            except LabelyardError as error:
                decided.append((job_id, job, error))
                continue
            decided.append((job_id, job, change))
        return await _apply_list(
            conn, worker, decided, held, now=now, blobs=blobs, base_url=base_url
        )
