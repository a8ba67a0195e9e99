"""Applying the state machine's changes: the one place a job's state is written.

``apply_all`` writes what ``core.lifecycle`` decided for each job: the job row, its transition
record, the batch counters, the result file when it completes, and the events, in the caller's
transaction, and the analytics rollups (``services.analytics.roll_up``).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncConnection

from labelyard.blobs import BlobStore, mask_key, put_all, result_key
from labelyard.core import masks
from labelyard.core.ids import new_id, new_ids
from labelyard.core.lifecycle import Change, JobState, Route, batch_deltas
from labelyard.core.model import as_utc
from labelyard.services.analytics import roll_up
from labelyard.services.events import count, record_many
from labelyard.services.results import result_url
from labelyard.store import Record
from labelyard.store import quality as quality_store
from labelyard.store import work as store


@functools.lru_cache(maxsize=1024)
def _route(kinds: tuple[str, ...]) -> Route:
    # One per workflow, not per job row: a list call reads every job's steps.
    return Route(kinds)


def state_of(job: Record) -> JobState:
    """The machine's view of a job row (read with its workflow's steps by ``store.work``)."""
    return JobState(
        status=job.status,
        route=_route(tuple(job.steps)),
        step_index=job.step_index,
        in_queue=job.queue is not None,
        frames=job.frames,
        annotations=job.annotations,
        lease_holder=job.lease_holder,
        lease_expires_at=as_utc(job.lease_expires_at) if job.lease_expires_at else None,
        gold=bool(job.gold),
    )


def step_name(job: Record) -> str | None:
    """The name of the step a job row is in; None once it left its workflow."""
    return _route(tuple(job.steps)).name_of(job.step_index) if job.queue else None


def transition_record(
    job: Record, state: JobState, change: Change, now: datetime, *, id: str
) -> dict[str, Any]:
    """The history row ``id`` of ``change`` applied to ``job``."""
    return {
        "project_id": job.project_id,
        "id": id,
        "job_id": job.id,
        "action": change.action,
        "from_status": job.status,
        "to_status": change.to_status,
        "from_step": state.step_name,
        "to_step": state.route.name_of(change.to_index) if change.to_index is not None else None,
        "worker_id": change.worker_id,
        "comment": change.comment,
        "detail": dict(change.detail) if change.detail else None,
        "created_at": now,
    }


async def apply(
    conn: AsyncConnection,
    job: Record,
    change: Change,
    *,
    now: datetime,
    blobs: BlobStore | None = None,
    base_url: str = "",
) -> dict[str, Any]:
    """Write ``change`` to ``job``; the answer the worker or owner API gives."""
    await apply_all(
        conn, str(job.project_id), [(job, change)], now=now, blobs=blobs, base_url=base_url
    )
    route = _route(tuple(job.steps))
    step = route.name_of(change.to_index) if change.to_index is not None else None
    return {"job_id": job.id, "status": change.to_status, "step": step}


async def _write_masks(
    blobs: BlobStore, base_url: str, job: Record, result: Mapping[str, Any]
) -> Mapping[str, Any]:
    """Store a SEGMENTATION result's mask PNGs next to its JSON; the result with each entry's
    ``png`` replaced by the ``url`` (fetched through ``/v1/attachments``, like the result)."""
    data = result.get("data", {})
    entries = data.get("annotation_data", {}).get("annotations", [])
    if not any(isinstance(e, dict) and "png" in e for e in entries):
        return result
    linked = []
    for index, entry in enumerate(entries):
        key = mask_key(job.project_id, job.id, index)
        await blobs.put(key, masks.png_bytes(entry))
        kept = {k: v for k, v in entry.items() if k != "png"}
        linked.append({**kept, "url": result_url(blobs, base_url, key)})
    return {**result, "data": {**data, "annotation_data": {"annotations": linked}}}


async def _quality_records(
    conn: AsyncConnection,
    project_id: str,
    job_id: str,
    change: Change,
    now: datetime,
    tallies: dict[str, dict[str, float]],
    annotated: list[tuple[str, str]],
) -> None:
    """What a change records beside the job: its annotator (added to ``annotated``, written
    once per transaction), a consensus version, a gold score, and the workers' tallies (summed
    into ``tallies``, written once per transaction)."""
    worker = change.annotated_by
    if worker is not None:
        annotated.append((job_id, worker))
    if change.clear_versions:
        await quality_store.clear_versions(conn, project_id=project_id, job_id=job_id)
    if change.version is not None and worker is not None:
        await quality_store.add_version(
            conn,
            project_id=project_id,
            job_id=job_id,
            worker_id=worker,
            annotations=change.version,
            now=now,
        )
    if change.gold is not None and worker is not None:
        await quality_store.insert_gold_score(
            conn,
            project_id=project_id,
            id=new_id(),
            job_id=job_id,
            worker_id=worker,
            score=change.gold.score,
            parts=change.gold.parts(),
            created_at=now,
        )
        mine = tallies.setdefault(worker, {})
        mine["gold_jobs"] = mine.get("gold_jobs", 0) + 1
        mine["gold_score_sum"] = mine.get("gold_score_sum", 0.0) + change.gold.score
    for name, workers in (("accepted", change.credit), ("rejected", change.blame)):
        for credited in workers:
            mine = tallies.setdefault(credited, {})
            mine[name] = mine.get(name, 0) + 1


async def apply_all(
    conn: AsyncConnection,
    project_id: str,
    changes: Sequence[tuple[Record, Change]],
    *,
    now: datetime,
    blobs: BlobStore | None = None,
    base_url: str = "",
    states: Sequence[JobState] | None = None,
) -> None:
    """Write each ``(job, change)`` of one project, in one transaction (the caller's);
    ``states``: each job's ``state_of``, when the caller has them already.

    A completing change writes its result file before the transaction commits, so a completed
    job always has its file; if the commit fails the file is simply overwritten by the next
    completion.
    """
    transitions: list[tuple[Any, dict[str, Any]]] = []
    applied: list[tuple[Record, JobState, Change]] = []
    tallies: dict[str, dict[str, float]] = {}
    annotated: list[tuple[str, str]] = []
    files: list[tuple[str, bytes]] = []
    same: dict[bytes, tuple[dict[str, Any], list[str]]] = {}
    deltas: dict[str, dict[str, int]] = {}
    # One read of random bytes for every transition's id, not one system call each.
    ids = iter(new_ids(len(changes)))
    for index, (job, change) in enumerate(changes):
        state = states[index] if states is not None else state_of(job)
        columns = change.job_columns(state.route, gold=state.gold)
        published = dict(job._mapping)
        if change.result is not None:
            if blobs is None:
                raise ValueError("a completing change needs the blob store")
            key = result_key(job.project_id, job.id)
            result = await _write_masks(blobs, base_url, job, change.result)
            files.append((key, orjson.dumps(result)))
            columns["result_key"] = key
            published["result"] = result_url(blobs, base_url, key)
        if change.skipped_by is not None:
            await store.add_skip(
                conn, project_id=project_id, job_id=job.id, worker_id=change.skipped_by, now=now
            )
        await _quality_records(conn, project_id, job.id, change, now, tallies, annotated)
        columns["updated_at"] = now
        # Many jobs changed alike (a batch abort) are written by one statement.
        signature = (
            orjson.dumps(columns, option=orjson.OPT_SORT_KEYS, default=str)
            if len(changes) > 1
            else b""
        )
        same.setdefault(signature, (columns, []))[1].append(job.id)
        counters = batch_deltas(change, from_status=job.status, gold=state.gold)
        if counters:
            batch = deltas.setdefault(job.batch_id, {})
            for name, delta in counters.items():
                batch[name] = batch.get(name, 0) + delta
        transitions.append((published, transition_record(job, state, change, now, id=next(ids))))
        applied.append((job, state, change))
    # Result files are written (and flushed to disk) while the statements below run, and are
    # all there before the caller commits (a failed transaction leaves them to be overwritten).
    writing = asyncio.ensure_future(put_all(blobs, files)) if blobs is not None and files else None
    if writing is not None:
        writing.add_done_callback(_retrieved)
    # Jobs changed alike share one statement; the rest (each completion names its own result
    # file) share one executemany per set of columns.
    alone: dict[tuple[str, ...], list[tuple[str, dict[str, Any]]]] = {}
    for columns, job_ids in same.values():
        if len(job_ids) == 1:
            alone.setdefault(tuple(sorted(columns)), []).append((job_ids[0], columns))
        else:
            await store.set_jobs(conn, project_id=project_id, job_ids=job_ids, **columns)
    for rows in alone.values():
        if len(rows) == 1:
            await store.update_job(conn, project_id=project_id, job_id=rows[0][0], **rows[0][1])
        else:
            await store.update_jobs(conn, project_id=project_id, rows=rows)
    await quality_store.add_annotators(conn, project_id=project_id, pairs=annotated, now=now)
    if tallies:
        await quality_store.add_tallies(conn, project_id=project_id, deltas=tallies)
    await roll_up(conn, project_id, applied, now=now)
    batch_events: list[tuple[str, dict[str, Any]]] = []
    for batch_id, moved in deltas.items():
        batch_events += await count(conn, project_id=project_id, batch_id=batch_id, **moved)
    await record_many(conn, project_id, transitions, now=now, then=batch_events)
    if writing is not None:
        await writing


def _retrieved(task: asyncio.Future[None]) -> None:
    """A file write left behind by a failed statement: its outcome no longer matters."""
    if not task.cancelled():
        task.exception()
