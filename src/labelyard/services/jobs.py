"""Jobs: create one or many (API.md 3.2, 4), and read them back (API.md 3.6, 4)."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from labelyard.blobs import BlobStore
from labelyard.core import lifecycle
from labelyard.core.events import created_event
from labelyard.core.ids import new_ids, parse_uuid, require_uuid
from labelyard.core.model import Base, JobStatus, Project, ProjectKey
from labelyard.core.quality import GOLD_QUEUE
from labelyard.core.validation import JobSpec, WorkflowRef, error_of, parse_job_create
from labelyard.errors import (
    DuplicateReferenceId,
    InvalidInput,
    LabelyardError,
    MissingParameter,
    NotFound,
)
from labelyard.services import accounts, media_checks, point_clouds, utcnow
from labelyard.services.events import emit
from labelyard.services.results import result_url
from labelyard.store import Record, keyed
from labelyard.store import batches as batch_store
from labelyard.store import jobs as store
from labelyard.store import point_clouds as point_cloud_store
from labelyard.store import projects as project_store
from labelyard.store.bulk import Column, Same
from labelyard.store.engine import Database


async def _workflow_refs(conn: AsyncConnection, project_id: str) -> dict[str, WorkflowRef]:
    refs: dict[str, WorkflowRef] = {}
    for row in await project_store.list_workflows(conn, project_id=project_id):
        ref = WorkflowRef(id=row.id, tag=row.tag)
        refs.setdefault(row.tag, ref)
        refs[row.id] = ref
    return refs


def _job_reply(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "job_id": row["id"],
        "reference_id": row["reference_id"],
        "work_flow_id": row["workflow_id"],
        "tag": row["tag"],
    }


async def create_job(db: Database, project: Project, payload: object) -> dict[str, Any]:
    """API.md 3.2: create a job, or replay the existing one if the payload is identical.

    ``payload`` is the create body as sent: it is validated by ``core.validation`` against the
    project's workflows, and its canonical form decides idempotency.
    """
    outcome = (await _create(db, project, [payload]))[0]
    if isinstance(outcome, LabelyardError):
        raise outcome
    return _job_reply(outcome[0])


GROUP_LIMIT = 1000
"""At most this many single creates share one write transaction."""


class CreateGroups:
    """Group commit: the single creates of one process into one project, arriving while a
    write transaction of that project is under way, go together into the next one.

    Each create is validated on its own (a bad body fails alone, before any write); the group
    is inserted as a bulk create is, so every create keeps its own outcome (created, replayed,
    or ``DuplicateReferenceId``), and the batch row, the feed row and the commit are paid once
    per group instead of once per create. The first create of an idle project starts its
    transaction at once: nothing waits for company. If a group's transaction fails, each of
    its creates is tried again alone, so one create's failure is never another's. A create is
    answered only after its group committed. Lives on the process's ``AppState``.
    """

    def __init__(self) -> None:
        self._waiting: dict[tuple[int, str], list[tuple[JobSpec, asyncio.Future[Outcome]]]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def create_job(self, db: Database, project: Project, payload: object) -> dict[str, Any]:
        """API.md 3.2, as ``create_job``."""
        workflows = await workflow_refs(db, project.id)
        spec = parse_job_create(payload, base=project.base, workflows=workflows)
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        key = (id(db), project.id)
        waiting = self._waiting.get(key)
        if waiting is None:
            self._waiting[key] = [(spec, future)]
            task = asyncio.create_task(self._drain(db, project, key))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        else:
            waiting.append((spec, future))
        # Shielded: a client that goes away does not cancel the group's transaction.
        try:
            outcome = await asyncio.shield(future)
        except asyncio.CancelledError:
            future.add_done_callback(_retrieved)  # nobody awaits it now
            raise
        if isinstance(outcome, LabelyardError):
            raise outcome
        return _job_reply(outcome[0])

    async def _drain(self, db: Database, project: Project, key: tuple[int, str]) -> None:
        group: list[tuple[JobSpec, asyncio.Future[Outcome]]] = []
        try:
            while waiting := self._waiting[key]:
                group, self._waiting[key] = waiting[:GROUP_LIMIT], waiting[GROUP_LIMIT:]
                outcomes = await _write_group(db, project, [spec for spec, _ in group])
                for (_, future), outcome in zip(group, outcomes, strict=True):
                    if isinstance(outcome, BaseException) and not isinstance(
                        outcome, LabelyardError
                    ):
                        future.set_exception(outcome)
                    else:
                        future.set_result(outcome)
                group = []
        except BaseException as exc:
            for _, future in [*group, *self._waiting.get(key, [])]:
                if future.done():
                    continue
                if isinstance(exc, asyncio.CancelledError):
                    future.cancel()
                else:
                    future.set_exception(exc)
            raise
        finally:
            del self._waiting[key]


def _retrieved(future: asyncio.Future[Outcome]) -> None:
    if not future.cancelled():
        future.exception()


async def _write_group(
    db: Database, project: Project, specs: list[JobSpec]
) -> list[Outcome | Exception]:
    """Insert ``specs`` in one transaction; if it fails, each alone (its error its own)."""
    outcomes: list[Outcome | None] = [None] * len(specs)
    try:
        async with db.write() as conn:
            await _insert(conn, project, list(enumerate(specs)), outcomes)
        return outcomes  # type: ignore[return-value]
    except Exception as exc:
        if len(specs) == 1:
            return [exc]
    alone: list[Outcome | Exception] = []
    for spec in specs:
        alone += await _write_group(db, project, [spec])
    return alone


async def create_jobs(db: Database, project: Project, items: list[object]) -> dict[str, Any]:
    """API.md 4: create up to 10,000 jobs (``core.commands.parse_bulk``); each item succeeds or
    fails on its own."""
    results: list[dict[str, Any]] = []
    for item, outcome in zip(items, await _create(db, project, items), strict=True):
        if isinstance(outcome, LabelyardError):
            reference_id = item.get("reference_id") if isinstance(item, dict) else None
            results.append({"reference_id": reference_id, "error": error_of(outcome)})
        else:
            row, created = outcome
            results.append(
                {"reference_id": row["reference_id"], "job_id": row["id"], "created": created}
            )
    return {"results": results}


Outcome = tuple[dict[str, Any], bool] | LabelyardError


async def _create(db: Database, project: Project, bodies: list[Any]) -> list[Outcome]:
    """Validate, then insert in one transaction; an outcome per body, in input order."""
    outcomes: list[Outcome | None] = [None] * len(bodies)
    async with db.read() as conn:
        workflows = await _workflow_refs(conn, project.id)
    specs: list[tuple[int, JobSpec]] = []
    for i, body in enumerate(bodies):
        try:
            specs.append((i, parse_job_create(body, base=project.base, workflows=workflows)))
        except LabelyardError as exc:
            outcomes[i] = exc
    if specs:
        async with db.write() as conn:
            await _insert(conn, project, specs, outcomes)
    assert all(outcome is not None for outcome in outcomes)
    return outcomes  # type: ignore[return-value]


async def insert_specs(
    conn: AsyncConnection, project: Project, specs: list[JobSpec]
) -> list[Outcome]:
    """Insert validated jobs in the caller's transaction (an import); an outcome per spec:
    ``(row, created)`` or the error (an existing ``reference_id`` with another payload...)."""
    outcomes: list[Outcome | None] = [None] * len(specs)
    await _insert(conn, project, list(enumerate(specs)), outcomes)
    assert all(outcome is not None for outcome in outcomes)
    return outcomes  # type: ignore[return-value]


async def workflow_refs(db: Database, project_id: str) -> dict[str, WorkflowRef]:
    """The project's workflows by id and by tag, as job creates name them."""
    async with db.read() as conn:
        return await _workflow_refs(conn, project_id)


async def _insert(
    conn: AsyncConnection,
    project: Project,
    specs: list[tuple[int, JobSpec]],
    outcomes: list[Outcome | None],
) -> None:
    named = {spec.batch_id for _, spec in specs if spec.batch_id}
    known, default_id = await batch_store.existing_batch_ids(conn, project_id=project.id, ids=named)
    by_batch: dict[str, list[tuple[int, JobSpec]]] = defaultdict(list)
    for i, spec in specs:
        batch_id = spec.batch_id or default_id
        if spec.batch_id and spec.batch_id not in known:
            outcomes[i] = InvalidInput(f"batch_id {spec.batch_id} names no batch of this project")
        else:
            by_batch[batch_id].append((i, spec))

    # The new jobs, one entry per job in the order of their positions: batches sorted (so
    # concurrent requests lock batch rows in one order and never deadlock), a batch's jobs in
    # input order.
    index: list[int] = []  # where each job's outcome goes
    picked: list[JobSpec] = []
    batch_ids: list[str] = []
    seqs: list[int] = []
    for batch_id in sorted(by_batch):
        items = by_batch[batch_id]
        first = await batch_store.reserve_positions(
            conn, project_id=project.id, id=batch_id, count=len(items)
        )
        seqs += range(first, first + len(items))
        batch_ids += [batch_id] * len(items)
        for i, spec in items:
            index.append(i)
            picked.append(spec)
    count = len(picked)
    if not count:
        return
    now = utcnow()
    ids = new_ids(count)
    references = [spec.reference_id for spec in picked]
    golds = [spec.gold for spec in picked]
    # Column by column, straight from the specs (store.bulk.insert_columns): no row dicts.
    columns: dict[str, Column] = {
        "project_id": Same(project.id),
        "id": ids,
        "batch_id": batch_ids,
        "seq": seqs,
        "reference_id": references,
        "payload_hash": [
            spec.payload_hash(batch_id) for spec, batch_id in zip(picked, batch_ids, strict=True)
        ],
        "workflow_id": [spec.workflow.id for spec in picked],
        "tag": [spec.workflow.tag for spec in picked],
        "type": [spec.type for spec in picked],
        "priority_weight": [spec.priority_weight for spec in picked],
        "status": Same(JobStatus.CREATED.value),
        "frames": [spec.frames for spec in picked],
        "annotations": Same(0),
        "data": [spec.data for spec in picked],
        "step_index": Same(0),
        "gold": golds,
        # Gold jobs wait in a queue of their own, mixed into claims at the gold rate.
        "queue": [GOLD_QUEUE if gold else lifecycle.ANNOTATE for gold in golds],
        "created_at": Same(now),
        "updated_at": Same(now),
    }
    if count > 1 and conn.dialect.name == "postgresql":
        # Inserted in reference_id order: concurrent bulk creates that share reference ids then
        # wait on each other's unique-index entries in one order and never deadlock. (On SQLite
        # a write transaction holds the database: nothing to order.)
        order = sorted(range(count), key=references.__getitem__)
        columns = {
            name: values if isinstance(values, Same) else [values[k] for k in order]
            for name, values in columns.items()
        }
    created_ids = await store.insert_jobs(conn, columns, project_id=project.id, count=count)
    every = len(created_ids) == count
    others = (
        []
        if every
        else [ref for ref, i in zip(references, ids, strict=True) if i not in created_ids]
    )
    existing = (
        await store.jobs_by_reference(conn, project_id=project.id, reference_ids=others)
        if others
        else {}
    )

    added: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    made: list[dict[str, Any]] = []  # the jobs created, in position order
    for k, job_id in enumerate(ids):
        spec = picked[k]
        if every or job_id in created_ids:
            row = {
                "id": job_id,
                "reference_id": spec.reference_id,
                "batch_id": batch_ids[k],
                "workflow_id": spec.workflow.id,
                "tag": spec.workflow.tag,
                "status": JobStatus.CREATED.value,
                "priority_weight": spec.priority_weight,
            }
            outcomes[index[k]] = (row, True)
            made.append(row)
            if not golds[k]:  # gold jobs are checks, never output: the batch does not count them
                counts = added[batch_ids[k]]
                counts[0] += 1
                counts[1] += spec.frames
            continue
        found = existing[spec.reference_id]
        if found.payload_hash == spec.payload_hash(batch_ids[k]):
            outcomes[index[k]] = (dict(found._mapping), False)
        else:
            outcomes[index[k]] = DuplicateReferenceId(
                f"a job with reference_id {spec.reference_id!r} exists with a different payload"
            )

    # What the creates count and queue, in the same transaction.
    for batch_id, (jobs, frames) in added.items():
        await batch_store.add_to_counters(
            conn, project_id=project.id, id=batch_id, total_jobs=jobs, total_frames=frames
        )
    if project.base in point_clouds.LIDAR_BASES:
        # Lidar files are queued for conversion with their jobs: a crash never loses one.
        data = dict(zip(ids, (spec.data for spec in picked), strict=True))
        fresh = [{"id": row["id"], "data": data[row["id"]]} for row in made]
        await point_cloud_store.insert_point_clouds(
            conn,
            point_clouds.queue_rows(project_id=project.id, base=project.base, jobs=fresh, now=now),
        )
    await emit(conn, project_id=project.id, events=[created_event(row) for row in made], now=now)
    await media_checks.queue_for_new_jobs(
        conn, project_id=project.id, job_ids=[row["id"] for row in made], now=now
    )


def _job_view(
    row: Record | keyed.JobRead, blobs: BlobStore, base_url: str, failed: list[Record] | None = None
) -> dict[str, Any]:
    view = {
        "project_id": row.project_id,
        "reference_id": row.reference_id,
        "job_id": row.id,
        "batch_id": row.batch_id,
        "status": row.status,
        "work_flow_id": row.workflow_id,
        "priority_weight": row.priority_weight,
        "tag": row.tag,
        "result": result_url(blobs, base_url, row.result_key) if row.status == "completed" else "",
    }
    # Present only when media cannot be read: the media check's (the job's column) and the lidar
    # files' that the worker could not fetch or convert (FS_0007).
    errors = [e for e in (row.media_error, point_clouds.media_error_text(failed or [])) if e]
    if errors:
        view["media_error"] = "; ".join(errors)
    return view


async def get_job(
    db: Database, blobs: BlobStore, project: Project, *, job_id: str, base_url: str
) -> dict[str, Any]:
    """API.md 3.6: a job's metadata; ``result`` is ``""`` until the job has one."""
    job_id = require_uuid(job_id, "job_id")
    async with db.read() as conn:
        row = await store.get_job(conn, project_id=project.id, id=job_id)
        failed = (
            await point_cloud_store.failed_point_clouds(
                conn, project_id=project.id, job_ids=[job_id]
            )
            if project.base in point_clouds.LIDAR_BASES
            else []
        )
    if row is None:
        raise NotFound(f"no job {job_id} in this project")
    return _job_view(row, blobs, base_url, failed)


async def get_job_for_key(
    db: Database, blobs: BlobStore, key: ProjectKey, *, job_id: str, base_url: str
) -> dict[str, Any]:
    """``get_job`` for an API key: the key, the project and the job checked and read in one
    statement (``store.keyed``). The same answers, errors in the same order."""
    lookup = accounts.key_lookup(key)
    canonical = parse_uuid(job_id)
    if lookup is None or canonical is None:  # refused: by the key check first, as every request is
        project = await accounts.authorize(db, api_key=key.api_key, project_id=key.project_id)
        return await get_job(db, blobs, project, job_id=job_id, base_url=base_url)
    key_hash, project_id = lookup
    found = await keyed.job_for_key(db, key_hash=key_hash, project_id=project_id, job_id=canonical)
    owner = found.project if found is not None else None
    if found is None or owner is None:
        accounts.refuse(key_found=found is not None)
    row = found.job
    if owner.base in point_clouds.LIDAR_BASES:  # the lidar files' errors are read too
        project = Project(
            id=owner.id,
            account_id=owner.account_id,
            name=owner.name,
            base=Base(owner.base),
            key_id=owner.key_id,
        )
        return await get_job(db, blobs, project, job_id=canonical, base_url=base_url)
    if row is None:
        raise NotFound(f"no job {canonical} in this project")
    return _job_view(row, blobs, base_url)


async def find_job(
    db: Database, blobs: BlobStore, project: Project, *, reference_id: str | None, base_url: str
) -> dict[str, Any]:
    """API.md 4: the job with this reference id, for clients that lost a create response."""
    if not reference_id:
        raise MissingParameter("reference_id is required")
    if "\x00" in reference_id:
        raise InvalidInput("reference_id may not contain the NUL character")
    async with db.read() as conn:
        rows = await store.jobs_by_reference(
            conn, project_id=project.id, reference_ids=[reference_id]
        )
    if reference_id not in rows:
        raise NotFound(f"no job with reference_id {reference_id!r} in this project")
    return _job_view(rows[reference_id], blobs, base_url)
