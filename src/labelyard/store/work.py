"""The work queue: claiming the next free job exclusively, and changing a job under lock.

Claims are exclusive across processes: on PostgreSQL the candidate row is taken with
``FOR UPDATE SKIP LOCKED``; on SQLite every write transaction starts with ``BEGIN IMMEDIATE``,
which holds the database's write lock from the first statement, so one claim runs at a time.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, exists, func, null, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from labelyard.core.quality import ClaimRules
from labelyard.store import Record
from labelyard.store.bulk import Same, update_columns
from labelyard.store.tables import (
    job,
    job_annotator,
    job_skip,
    job_version,
    workflow,
)

WORK_COLUMNS = (
    job.c.id,
    job.c.project_id,
    job.c.batch_id,
    job.c.reference_id,
    job.c.status,
    job.c.workflow_id,
    job.c.tag,
    job.c.priority_weight,
    job.c.frames,
    job.c.annotations,
    job.c.data,
    job.c.step_index,
    job.c.queue,
    job.c.lease_holder,
    job.c.lease_expires_at,
    job.c.draft,
    job.c.comment,
    job.c.result_key,
    job.c.gold,
    job.c.assigned_worker,
    job.c.assigned_group,
    job.c.assigned_only,
    job.c.reject_reasons,
    workflow.c.steps,
)
_WITH_STEPS = job.join(
    workflow, (workflow.c.project_id == job.c.project_id) & (workflow.c.id == job.c.workflow_id)
)


def _locking(conn: AsyncConnection, query: Any, *, skip_locked: bool = False) -> Any:
    if conn.dialect.name == "postgresql":
        return query.with_for_update(of=job, skip_locked=skip_locked)
    return query  # SQLite: the write transaction already holds the database lock


def _skipped_by(worker_id: str) -> Any:
    return exists().where(
        job_skip.c.project_id == job.c.project_id,
        job_skip.c.job_id == job.c.id,
        job_skip.c.worker_id == worker_id,
    )


def _done_by(table: Any, worker_id: str) -> Any:
    return exists().where(
        table.c.project_id == job.c.project_id,
        table.c.job_id == job.c.id,
        table.c.worker_id == worker_id,
    )


def _free(
    *,
    project_id: Any,
    queue: Any,
    now: Any,
    worker_id: Any,
    not_annotated: bool,
    not_versioned: bool,
) -> list[Any]:
    """What makes a job of ``queue`` free for this worker, whoever it is assigned to (the
    values may be bound parameters, for a statement built once)."""
    free = [
        job.c.project_id == project_id,
        job.c.queue == queue,
        or_(job.c.lease_expires_at.is_(None), job.c.lease_expires_at <= now),
        job.c.media_error.is_(None),
        ~_skipped_by(worker_id),
    ]
    if not_annotated:
        free.append(~_done_by(job_annotator, worker_id))
    if not_versioned:
        free.append(~_done_by(job_version, worker_id))
    return free


def _looks(*, worker_id: Any, groups: Any) -> list[Any]:
    """Whom a free job is open to, in the order a claim looks: assigned to this worker, then
    to nobody in particular (not to another worker alone, nor to a group they are not in;
    ``groups`` None when they are in none)."""
    open_to_me = (
        job.c.assigned_group.is_(None)
        if groups is None
        else or_(job.c.assigned_group.is_(None), job.c.assigned_group.in_(groups))
    )
    return [
        job.c.assigned_worker == worker_id,
        and_(or_(job.c.assigned_worker.is_(None), job.c.assigned_only.is_(False)), open_to_me),
    ]


async def next_free_job(
    conn: AsyncConnection,
    *,
    project_id: str,
    rules: ClaimRules,
    now: datetime,
    lock: bool = True,
) -> Record | None:
    """The job this worker should take next in ``rules.queue``, locked for this transaction
    (unless ``lock`` is false: a look ahead that takes nothing); see ``free_jobs``."""
    found = await free_jobs(conn, project_id=project_id, rules=rules, now=now, limit=1, lock=lock)
    return found[0] if found else None


async def free_jobs(
    conn: AsyncConnection,
    *,
    project_id: str,
    rules: ClaimRules,
    now: datetime,
    limit: int,
    lock: bool = True,
    besides: Sequence[str] = (),
) -> list[Record]:
    """Up to ``limit`` jobs this worker should take next in ``rules.queue``, in order, locked
    for this transaction (unless ``lock`` is false: a look ahead that takes nothing); jobs in
    ``besides`` (already taken by this transaction) are left out.

    Free means: waiting in that step, with no lease or an expired one, no media error (media
    the worker could not read is not handed out), not skipped by this worker, and open to
    them: assigned to them (looked at first), or to nobody in particular (not to another
    worker alone, nor to a group they are not in); with the rules' filters, not annotated or
    versioned by them. Highest ``priority_weight`` first, then oldest.
    Each look is one statement that walks an index in queue order (``ix_job_assigned``,
    ``ix_job_queue``); on PostgreSQL it takes its rows ``FOR UPDATE SKIP LOCKED``, so
    concurrent claimers split the queue between them instead of waiting on each other.
    """
    found: list[Record] = []
    taken = list(besides)
    values: dict[str, Any] = {
        "project_id": project_id,
        "queue": rules.queue,
        "now": now,
        "worker_id": rules.worker_id,
    }
    if rules.groups:
        values["groups"] = list(rules.groups)
    for look in range(2):
        statement = _free_jobs_statement(
            conn.dialect.name if lock else "",
            look=look,
            not_annotated=rules.not_annotated,
            not_versioned=rules.not_versioned,
            grouped=bool(rules.groups),
            besides=bool(taken),
        )
        # A job offered to this worker first is also open to others: not taken twice.
        bound = {**values, "limit": limit - len(found)}
        if taken:
            bound["taken"] = taken
        rows = (await conn.execute(statement, bound)).all()
        found += rows
        taken += [row.id for row in rows]
        if len(found) >= limit:
            break
    return found


def _bound_free(*, not_annotated: bool, not_versioned: bool, grouped: bool) -> tuple[Any, Any, Any]:
    """The worker bind, ``_free``'s conditions and the groups bind, as bound parameters: what a
    claim's look and a queue count share."""
    worker_id: Any = bindparam("worker_id")
    free = _free(
        project_id=bindparam("project_id"),
        queue=bindparam("queue"),
        now=bindparam("now", type_=job.c.lease_expires_at.type),
        worker_id=worker_id,
        not_annotated=not_annotated,
        not_versioned=not_versioned,
    )
    groups: Any = bindparam("groups", expanding=True) if grouped else None
    return worker_id, free, groups


@functools.cache
def _free_jobs_statement(
    locking: str,
    *,
    look: int,
    not_annotated: bool,
    not_versioned: bool,
    grouped: bool,
    besides: bool,
) -> Any:
    """One look of ``free_jobs`` for one shape of rules, built once with bound parameters
    (building the statement and its cache key each time cost more than running it);
    ``locking``: the dialect whose row locks it takes, "" for none."""
    worker_id, free, groups = _bound_free(
        not_annotated=not_annotated, not_versioned=not_versioned, grouped=grouped
    )
    unless = [job.c.id.not_in(bindparam("taken", expanding=True))] if besides else []
    query = (
        select(*WORK_COLUMNS)
        .select_from(_WITH_STEPS)
        .where(*free, _looks(worker_id=worker_id, groups=groups)[look], *unless)
        .order_by(job.c.priority_weight.desc(), job.c.created_at, job.c.seq)
        .limit(bindparam("limit"))
    )
    if locking == "postgresql":
        query = query.with_for_update(of=job, skip_locked=True)
    return query


@functools.cache
def _free_count_statement(*, not_annotated: bool, not_versioned: bool, grouped: bool) -> Any:
    """``free_count``'s statement for one shape of rules, built once with bound parameters (a
    request only binds values: building and compiling it each time would cost more than the
    read itself)."""
    worker_id, free, groups = _bound_free(
        not_annotated=not_annotated, not_versioned=not_versioned, grouped=grouped
    )
    looks = _looks(worker_id=worker_id, groups=groups)
    # In queue order, like a claim: both engines then walk ``ix_job_queue`` and stop at the
    # limit, whatever the statistics say of the project's other queues.
    counted = (
        select(job.c.id)
        .where(*free, or_(*looks))
        .order_by(job.c.priority_weight.desc(), job.c.created_at, job.c.seq)
        .limit(bindparam("limit"))
        .subquery()
    )
    return select(func.count()).select_from(counted)


async def free_count(
    conn: AsyncConnection, *, project_id: str, rules: ClaimRules, now: datetime, limit: int
) -> int:
    """How many jobs a claim with ``rules`` could take now (``next_free_job``'s either look),
    counted up to ``limit``: a range read of the queue index that stops at ``limit`` free
    jobs, so it costs the same however long the queue is (a count of ``limit`` means "that
    many or more")."""
    statement = _free_count_statement(
        not_annotated=rules.not_annotated,
        not_versioned=rules.not_versioned,
        grouped=bool(rules.groups),
    )
    values: dict[str, Any] = {
        "project_id": project_id,
        "queue": rules.queue,
        "now": now,
        "worker_id": rules.worker_id,
        "limit": limit,
    }
    if rules.groups:
        values["groups"] = list(rules.groups)
    return int(await conn.scalar(statement, values) or 0)


@functools.cache
def _job_statement(locking: str) -> Any:
    """One job of a project with its workflow's steps, built once; ``locking``: the dialect
    whose row lock it takes, "" for none."""
    query = (
        select(*WORK_COLUMNS)
        .select_from(_WITH_STEPS)
        .where(job.c.project_id == bindparam("project_id"), job.c.id == bindparam("job_id"))
    )
    if locking == "postgresql":
        query = query.with_for_update(of=job)
    return query


async def lock_job(conn: AsyncConnection, *, project_id: str, job_id: str) -> Record | None:
    """A job of the project (with its workflow's steps), locked for the rest of the transaction."""
    statement = _job_statement(conn.dialect.name)
    return (await conn.execute(statement, {"project_id": project_id, "job_id": job_id})).first()


async def read_job(conn: AsyncConnection, *, project_id: str, job_id: str) -> Record | None:
    """A job of the project (with its workflow's steps), not locked."""
    statement = _job_statement("")
    return (await conn.execute(statement, {"project_id": project_id, "job_id": job_id})).first()


async def read_jobs(
    conn: AsyncConnection, *, project_id: str, job_ids: Sequence[str]
) -> list[Record]:
    """Jobs of the project (with their workflows' steps), locked, for a change to each; locked
    in id order, so two callers locking overlapping sets queue instead of deadlocking."""
    rows: list[Record] = []
    ordered = sorted(job_ids)
    for start in range(0, len(ordered), 1000):
        chunk = ordered[start : start + 1000]
        query = (
            select(*WORK_COLUMNS)
            .select_from(_WITH_STEPS)
            .where(job.c.project_id == project_id, job.c.id.in_(chunk))
            .order_by(job.c.id)
        )
        rows += (await conn.execute(_locking(conn, query))).all()
    return rows


@functools.cache
def _update_statement(names: tuple[str, ...], nulls: tuple[str, ...], *, many_ids: bool) -> Any:
    """An update of one job (``w_id``) or of a list of jobs (``w_ids``) that sets ``names`` to
    bound values and ``nulls`` to SQL NULL (as ``values(column=None)`` does; a bound None would
    be JSON null in a JSON column), built once per shape: a request binds values instead of
    building and compiling a statement."""
    target = (
        job.c.id.in_(bindparam("w_ids", expanding=True))
        if many_ids
        else job.c.id == bindparam("w_id")
    )
    values: dict[str, Any] = {
        name: bindparam(f"v_{name}", type_=job.c[name].type) for name in names
    }
    values |= {name: null() for name in nulls}
    return update(job).where(job.c.project_id == bindparam("w_project_id"), target).values(values)


def _shape(values: Mapping[str, Any]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The columns set to values and those set to NULL."""
    names = tuple(sorted(name for name, value in values.items() if value is not None))
    nulls = tuple(sorted(name for name, value in values.items() if value is None))
    return names, nulls


async def update_job(conn: AsyncConnection, *, project_id: str, job_id: str, **values: Any) -> None:
    """Set columns of one job."""
    names, nulls = _shape(values)
    await conn.execute(
        _update_statement(names, nulls, many_ids=False),
        {"w_project_id": project_id, "w_id": job_id, **{f"v_{n}": values[n] for n in names}},
    )


async def update_jobs(
    conn: AsyncConnection, *, project_id: str, rows: Sequence[tuple[str, Mapping[str, Any]]]
) -> None:
    """Set columns of many jobs, each to its own values (every row names the same columns):
    one executemany per set of columns left NULL (``store.bulk.update_columns``: the driver's
    own, without SQLAlchemy's per-row parameter building)."""
    shapes: dict[tuple[tuple[str, ...], tuple[str, ...]], list[tuple[str, Mapping[str, Any]]]] = {}
    for job_id, columns in rows:
        shapes.setdefault(_shape(columns), []).append((job_id, columns))
    for (names, nulls), alike in shapes.items():
        await update_columns(
            conn,
            job,
            {name: [columns[name] for _, columns in alike] for name in names},
            nulls=nulls,
            where={"project_id": Same(project_id), "id": [job_id for job_id, _ in alike]},
            count=len(alike),
        )


async def add_skip(
    conn: AsyncConnection, *, project_id: str, job_id: str, worker_id: str, now: datetime
) -> None:
    """Remember that this worker skipped this job (it is not offered to them again)."""
    found = await conn.scalar(
        select(job_skip.c.job_id).where(
            and_(
                job_skip.c.project_id == project_id,
                job_skip.c.job_id == job_id,
                job_skip.c.worker_id == worker_id,
            )
        )
    )
    if found is None:
        await conn.execute(
            job_skip.insert().values(
                project_id=project_id, job_id=job_id, worker_id=worker_id, created_at=now
            )
        )


async def open_jobs_of_batch(
    conn: AsyncConnection, *, project_id: str, batch_id: str, statuses: Sequence[str]
) -> list[Record]:
    """The batch's jobs in ``statuses``, locked in id order (as ``read_jobs`` locks), for a
    change to all of them: a batch abort and a list hand-in touching the same jobs queue instead
    of deadlocking."""
    query = (
        select(
            job.c.id,
            job.c.project_id,
            job.c.batch_id,
            job.c.reference_id,
            job.c.tag,
            job.c.status,
            job.c.step_index,
            job.c.queue,
            job.c.frames,
            job.c.annotations,
            job.c.lease_holder,
            job.c.lease_expires_at,
            job.c.gold,
            workflow.c.steps,
        )
        .select_from(_WITH_STEPS)
        .where(
            job.c.project_id == project_id,
            job.c.batch_id == batch_id,
            job.c.status.in_(statuses),
        )
        .order_by(job.c.id)
    )
    return list((await conn.execute(_locking(conn, query))).all())


async def set_jobs(
    conn: AsyncConnection, *, project_id: str, job_ids: Sequence[str], **values: Any
) -> None:
    """Set the same columns on many jobs of the project."""
    names, nulls = _shape(values)
    statement = _update_statement(names, nulls, many_ids=True)
    bound = {f"v_{n}": values[n] for n in names}
    for start in range(0, len(job_ids), 1000):
        chunk = list(job_ids[start : start + 1000])
        await conn.execute(statement, {"w_project_id": project_id, "w_ids": chunk, **bound})
