"""Jobs: create one or many (API.md 3.2, 4), and read them back (API.md 3.6, 4)."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from labelyard.blobs import BlobStore
from labelyard.core import lifecycle
from labelyard.core.events import JOB_CREATED, created_bodies
from labelyard.core.ids import new_time_ids, parse_uuid, require_uuid
from labelyard.core.model import Base, JobStatus, Project, ProjectKey
from labelyard.core.quality import GOLD_QUEUE
from labelyard.core.validation import (
    JobCreates,
    JobSpec,
    WorkflowRef,
    error_of,
    parse_job_create,
    parse_job_creates,
)
from labelyard.errors import (
    DuplicateReferenceId,
    InvalidInput,
    LabelyardError,
    MissingParameter,
    NotFound,
)
from labelyard.services import accounts, media_checks, point_clouds, utcnow
from labelyard.services.events import emit_encoded
from labelyard.services.results import result_url
from labelyard.store import Record, keyed
from labelyard.store import batches as batch_store
from labelyard.store import jobs as store
from labelyard.store import media as media_store
from labelyard.store import point_clouds as point_cloud_store
from labelyard.store import projects as project_store
from labelyard.store.bulk import Column, Converted, Same
from labelyard.store.engine import Database


async def _workflow_refs(conn: AsyncConnection, project_id: str) -> dict[str, WorkflowRef]:
    rows = await project_store.list_workflows(conn, project_id=project_id)
    return _refs((row.id, row.tag) for row in rows)


def _refs(workflows: Iterable[tuple[str, str]]) -> dict[str, WorkflowRef]:
    """By id and by tag, from ``(id, tag)`` default first."""
    refs: dict[str, WorkflowRef] = {}
    for id, tag in workflows:
        ref = WorkflowRef(id=id, tag=tag)
        refs.setdefault(tag, ref)
        refs[id] = ref
    return refs


async def authorize_create(
    db: Database, *, api_key: str | None, project_id: str
) -> tuple[Project, dict[str, WorkflowRef]]:
    """``accounts.authorize`` and the project's ``workflow_refs`` for a job create, read in one
    statement (``store.keyed``): the same project, and the same errors in the same order."""
    lookup = accounts.key_lookup(ProjectKey(project_id=project_id, api_key=api_key))
    if lookup is None:  # refused by authorize, as every request without a key or a UUID is
        project = await accounts.authorize(db, api_key=api_key, project_id=project_id)
        return project, await workflow_refs(db, project.id)
    key_hash, canonical = lookup
    found = await keyed.workflows_for_key(db, key_hash=key_hash, project_id=canonical)
    owner = found.project if found is not None else None
    if found is None or owner is None:
        accounts.refuse(key_found=found is not None)
    return _project_of(owner), _refs(found.workflows)


def _project_of(owner: keyed.KeyedProject) -> Project:
    """The project a key's read found, as the services take it."""
    return Project(
        id=owner.id,
        account_id=owner.account_id,
        name=owner.name,
        base=Base(owner.base),
        key_id=owner.key_id,
    )


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

    async def create_job(
        self,
        db: Database,
        project: Project,
        payload: object,
        workflows: dict[str, WorkflowRef] | None = None,
    ) -> dict[str, Any]:
        """API.md 3.2, as ``create_job``; ``workflows``: the project's ``workflow_refs``, if the
        caller read them already (``authorize_create``)."""
        if workflows is None:
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
    try:
        # Inline: the group's statements hold SQLite's write lock, which the other serve
        # processes wait for, only as long as they run, not across turns of the event loop.
        async with db.write(inline=True) as conn:
            written = await _insert(conn, project, JobCreates.of(specs))
        return written.outcomes(len(specs))  # type: ignore[return-value]
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
    workflows = await workflow_refs(db, project.id)
    creates, errors = parse_job_creates(items, base=project.base, workflows=workflows)
    results: list[Any] = [None] * len(items)
    others: dict[int, Outcome] = dict(errors)
    if creates:
        async with db.write() as conn:
            written = await _insert(conn, project, creates)
        others |= written.others
        for i, reference_id, job_id in zip(
            written.creates.at, written.creates.reference_ids, written.ids, strict=True
        ):
            if i not in others:
                results[i] = {"reference_id": reference_id, "job_id": job_id, "created": True}
    for i, other in others.items():
        if isinstance(other, LabelyardError):
            item = items[i]
            results[i] = {
                "reference_id": item.get("reference_id") if isinstance(item, dict) else None,
                "error": error_of(other),
            }
        else:
            row = other[0]
            results[i] = {
                "reference_id": row["reference_id"],
                "job_id": row["id"],
                "created": False,
            }
    return {"results": results}


Outcome = tuple[dict[str, Any], bool] | LabelyardError


async def _create(db: Database, project: Project, bodies: list[Any]) -> list[Outcome]:
    """Validate, then insert in one transaction; an outcome per body, in input order."""
    workflows = await workflow_refs(db, project.id)
    creates, errors = parse_job_creates(bodies, base=project.base, workflows=workflows)
    outcomes: list[Outcome | None] = [None] * len(bodies)
    for i, exc in errors.items():
        outcomes[i] = exc
    if creates:
        async with db.write() as conn:
            written = await _insert(conn, project, creates)
        written.fill(outcomes)
    assert all(outcome is not None for outcome in outcomes)
    return outcomes  # type: ignore[return-value]


async def insert_specs(
    conn: AsyncConnection, project: Project, specs: list[JobSpec]
) -> list[Outcome]:
    """Insert validated jobs in the caller's transaction (an import); an outcome per spec:
    ``(row, created)`` or the error (an existing ``reference_id`` with another payload...)."""
    if not specs:
        return []
    written = await _insert(conn, project, JobCreates.of(specs))
    return written.outcomes(len(specs))


async def workflow_refs(db: Database, project_id: str) -> dict[str, WorkflowRef]:
    """The project's workflows by id and by tag, as job creates name them."""
    async with db.read() as conn:
        return await _workflow_refs(conn, project_id)


@dataclass(slots=True)
class _Written:
    """What ``_insert`` did: the creates in position order (``creates.at`` says where each was
    in the request), the id each new job got, and the outcome of each create, by its place in
    the request, that did not make a job (a replay, an error); every other one made a job."""

    creates: JobCreates
    ids: list[str]
    batch_ids: list[str]
    others: dict[int, Outcome]

    def fill(self, outcomes: list[Outcome | None]) -> None:
        """Each create's outcome into ``outcomes`` (by its place in the request)."""
        creates, others, created = self.creates, self.others, JobStatus.CREATED.value
        for i, other in others.items():
            outcomes[i] = other
        for k, i in enumerate(creates.at):
            if i in others:
                continue
            workflow = creates.workflows[k]
            row = {
                "id": self.ids[k],
                "reference_id": creates.reference_ids[k],
                "batch_id": self.batch_ids[k],
                "workflow_id": workflow.id,
                "tag": workflow.tag,
                "status": created,
                "priority_weight": creates.priorities[k],
            }
            outcomes[i] = (row, True)

    def outcomes(self, count: int) -> list[Outcome]:
        """The outcome of each of ``count`` creates."""
        outcomes: list[Outcome | None] = [None] * count
        self.fill(outcomes)
        assert all(outcome is not None for outcome in outcomes)
        return outcomes  # type: ignore[return-value]


def _reordered(creates: JobCreates, order: Sequence[int]) -> JobCreates:
    """``creates`` taking the ``k``-th of ``order`` as the ``k``-th."""
    return JobCreates(*([column[k] for k in order] for column in _columns_of(creates)))


def _columns_of(creates: JobCreates) -> tuple[list[Any], ...]:
    return (
        creates.at,
        creates.reference_ids,
        creates.data,
        creates.workflows,
        creates.batch_ids,
        creates.priorities,
        creates.types,
        creates.frames,
    )


async def _insert(conn: AsyncConnection, project: Project, creates: JobCreates) -> _Written:
    """Insert the jobs of ``creates`` (validated) in the caller's transaction: positions,
    rows, counters, events and media checks; column by column from ``creates``, with no object
    per job."""
    named = {batch_id for batch_id in creates.batch_ids if batch_id}
    known, default_id = await batch_store.existing_batch_ids(conn, project_id=project.id, ids=named)
    others: dict[int, Outcome] = {}
    # The new jobs in the order of their positions: batches sorted (so concurrent requests lock
    # batch rows in one order and never deadlock), a batch's jobs in request order. The common
    # case (every job in one batch) keeps the columns as they are.
    if named:
        by_batch: dict[str, list[int]] = defaultdict(list)
        for k, batch_id in enumerate(creates.batch_ids):
            if batch_id and batch_id not in known:
                others[creates.at[k]] = InvalidInput(
                    f"batch_id {batch_id} names no batch of this project"
                )
            else:
                by_batch[batch_id or default_id].append(k)
        order = [k for batch_id in sorted(by_batch) for k in by_batch[batch_id]]
        if order != list(range(len(creates))):
            creates = _reordered(creates, order)
        counts = [(batch_id, len(by_batch[batch_id])) for batch_id in sorted(by_batch)]
    else:
        counts = [(default_id, len(creates))]
    count = sum(many for _, many in counts)
    now = utcnow()
    ids = new_time_ids(count, now)
    if not count:
        return _Written(creates=creates, ids=ids, batch_ids=[], others=others)
    golds = creates.golds()
    frames = creates.frames
    # The job table has no foreign keys to its batch and workflow (checked per row, they cost
    # about half of a bulk COPY on PostgreSQL): the batch rows are updated below (their
    # positions, under the row lock) and the workflows are checked here, once per transaction.
    named_workflows = {workflow.id for workflow in creates.workflows}
    known = await project_store.workflows_in_project(
        conn, project_id=project.id, ids=named_workflows
    )
    if known != named_workflows:
        raise LookupError(f"workflows {sorted(named_workflows - known)} are not in the project")
    # Before the batch rows are locked (below), what needs no lock: the media checks of every
    # new job (those of creates that make no job are dropped again, rarely).
    await media_checks.queue_for_new_jobs(conn, project_id=project.id, job_ids=ids, now=now)
    # The counters are added with the positions, in one statement, as if every create made a
    # job (gold jobs are checks, never output: the batch does not count them); corrected below
    # for those that did not.
    batch_ids: list[str] = []
    seqs: list[int] = []
    for batch_id, many in counts:
        start = len(seqs)
        counted = [k for k in range(start, start + many) if not golds[k]]
        first = await batch_store.reserve_positions(
            conn,
            project_id=project.id,
            id=batch_id,
            count=many,
            jobs=len(counted),
            frames=sum(frames[k] for k in counted),
        )
        seqs += range(first, first + many)
        batch_ids += [batch_id] * many
    written = _Written(creates=creates, ids=ids, batch_ids=batch_ids, others=others)
    references = creates.reference_ids
    hashes = creates.payload_hashes(batch_ids)
    workflows = creates.workflows
    tags = [workflow.tag for workflow in workflows]
    # Column by column, straight from the creates (store.bulk.insert_columns): no row dicts.
    columns: dict[str, Column] = {
        "project_id": Same(project.id),
        "id": ids,
        "batch_id": batch_ids,
        "seq": seqs,
        "reference_id": references,
        "payload_hash": hashes,
        "workflow_id": [workflow.id for workflow in workflows],
        "tag": tags,
        "type": creates.types,
        "priority_weight": creates.priorities,
        "status": Same(JobStatus.CREATED.value),
        "frames": creates.frames,
        "annotations": Same(0),
        "data": creates.data,
        "step_index": Same(0),
        "gold": golds if any(golds) else Same(False),
        # Gold jobs wait in a queue of their own, mixed into claims at the gold rate.
        "queue": (
            [GOLD_QUEUE if gold else lifecycle.ANNOTATE for gold in golds]
            if any(golds)
            else Same(lifecycle.ANNOTATE)
        ),
        "created_at": Same(now),
        "updated_at": Same(now),
    }
    if count > 1 and conn.dialect.name == "postgresql":
        # Inserted in reference_id order: concurrent bulk creates that share reference ids then
        # wait on each other's unique-index entries in one order and never deadlock. (On SQLite
        # a write transaction holds the database: nothing to order.)
        order = sorted(range(count), key=references.__getitem__)
        columns = {
            name: values if isinstance(values, Same | Converted) else [values[k] for k in order]
            for name, values in columns.items()
        }
    created_ids = await store.insert_jobs(conn, columns, project_id=project.id, count=count)
    made: Sequence[int] = range(count)  # which k made a job
    if len(created_ids) < count:
        made = [k for k in made if ids[k] in created_ids]
        taken = [k for k in range(count) if ids[k] not in created_ids]
        existing = await store.jobs_by_reference(
            conn, project_id=project.id, reference_ids=[references[k] for k in taken]
        )
        for k in taken:
            found = existing[references[k]]
            if found.payload_hash == hashes[k]:
                others[creates.at[k]] = (dict(found._mapping), False)
            else:
                others[creates.at[k]] = DuplicateReferenceId(
                    f"a job with reference_id {references[k]!r} exists with a different payload"
                )

        # What the creates that made no job were counted and queued for, taken back.
        removed: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for k in taken:
            if not golds[k]:
                counts_of = removed[batch_ids[k]]
                counts_of[0] -= 1
                counts_of[1] -= frames[k]
        for batch_id, (jobs, frame_count) in removed.items():
            await batch_store.add_to_counters(
                conn, project_id=project.id, id=batch_id, total_jobs=jobs, total_frames=frame_count
            )
        await media_store.drop_checks(conn, project_id=project.id, job_ids=[ids[k] for k in taken])

    made_ids = ids if len(made) == count else [ids[k] for k in made]
    if project.base in point_clouds.LIDAR_BASES:
        # Lidar files are queued for conversion with their jobs: a crash never loses one.
        fresh = [{"id": ids[k], "data": creates.data[k]} for k in made]
        await point_cloud_store.insert_point_clouds(
            conn,
            point_clouds.queue_rows(project_id=project.id, base=project.base, jobs=fresh, now=now),
        )
    if len(made) == count:
        bodies = created_bodies(
            job_ids=ids,
            reference_ids=references,
            batch_ids=batch_ids,
            tags=tags,
            status=JobStatus.CREATED.value,
            priorities=creates.priorities,
        )
    else:
        bodies = created_bodies(
            job_ids=made_ids,
            reference_ids=[references[k] for k in made],
            batch_ids=[batch_ids[k] for k in made],
            tags=[tags[k] for k in made],
            status=JobStatus.CREATED.value,
            priorities=[creates.priorities[k] for k in made],
        )
    await emit_encoded(conn, project_id=project.id, kind=JOB_CREATED, bodies=bodies, now=now)
    return written


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
        project = _project_of(owner)
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
