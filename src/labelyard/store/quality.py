"""Quality records: project rules, worker groups, a job's annotators and consensus versions,
gold scores and the per-worker tallies."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from labelyard.errors import Conflict
from labelyard.store import Record
from labelyard.store.tables import (
    gold_score,
    job_annotator,
    job_version,
    project,
    worker_group,
    worker_group_member,
    worker_tally,
)


async def get_settings(conn: AsyncConnection, *, project_id: str) -> Any:
    """The project's stored quality document (None: the defaults)."""
    return await conn.scalar(select(project.c.quality).where(project.c.id == project_id))


async def set_settings(conn: AsyncConnection, *, project_id: str, settings: Any) -> None:
    """Store the project's quality document."""
    await conn.execute(update(project).where(project.c.id == project_id).values(quality=settings))


# --- Groups --------------------------------------------------------------------------------------


async def insert_group(
    conn: AsyncConnection, *, project_id: str, id: str, name: str, now: datetime
) -> None:
    """A new group; ``Conflict`` if the project has one of that name."""
    try:
        async with conn.begin_nested():
            await conn.execute(
                worker_group.insert().values(
                    project_id=project_id, id=id, name=name, created_at=now
                )
            )
    except IntegrityError:
        raise Conflict(f"the project already has a group named {name!r}") from None


async def list_groups(conn: AsyncConnection, *, project_id: str) -> list[Record]:
    """The project's groups, by name."""
    query = (
        select(worker_group)
        .where(worker_group.c.project_id == project_id)
        .order_by(worker_group.c.name)
    )
    return list((await conn.execute(query)).all())


async def group_exists(conn: AsyncConnection, *, project_id: str, group_id: str) -> bool:
    """True if the project has this group."""
    found = await conn.scalar(
        select(worker_group.c.id).where(
            worker_group.c.project_id == project_id, worker_group.c.id == group_id
        )
    )
    return found is not None


async def delete_group(conn: AsyncConnection, *, project_id: str, group_id: str) -> bool:
    """Remove a group and its memberships; False if there was none."""
    await conn.execute(
        delete(worker_group_member).where(
            worker_group_member.c.project_id == project_id,
            worker_group_member.c.group_id == group_id,
        )
    )
    done = await conn.execute(
        delete(worker_group).where(
            worker_group.c.project_id == project_id, worker_group.c.id == group_id
        )
    )
    return bool(done.rowcount)


async def set_members(
    conn: AsyncConnection, *, project_id: str, group_id: str, worker_ids: Sequence[str]
) -> None:
    """Replace a group's members."""
    await conn.execute(
        delete(worker_group_member).where(
            worker_group_member.c.project_id == project_id,
            worker_group_member.c.group_id == group_id,
        )
    )
    if worker_ids:
        await conn.execute(
            worker_group_member.insert(),
            [{"project_id": project_id, "group_id": group_id, "worker_id": w} for w in worker_ids],
        )


async def members(conn: AsyncConnection, *, project_id: str) -> dict[str, list[str]]:
    """Each group's member ids."""
    rows = await conn.execute(
        select(worker_group_member.c.group_id, worker_group_member.c.worker_id)
        .where(worker_group_member.c.project_id == project_id)
        .order_by(worker_group_member.c.worker_id)
    )
    found: dict[str, list[str]] = {}
    for group_id, worker_id in rows:
        found.setdefault(group_id, []).append(worker_id)
    return found


@functools.cache
def _groups_of_statement() -> Any:
    return select(worker_group_member.c.group_id).where(
        worker_group_member.c.project_id == bindparam("project_id"),
        worker_group_member.c.worker_id == bindparam("worker_id"),
    )


async def groups_of(conn: AsyncConnection, *, project_id: str, worker_id: str) -> list[str]:
    """The ids of the project's groups this worker belongs to (a statement built once: every
    claim reads it)."""
    rows = await conn.execute(
        _groups_of_statement(), {"project_id": project_id, "worker_id": worker_id}
    )
    return sorted(row[0] for row in rows)


# --- Annotators and versions ---------------------------------------------------------------------


async def add_annotator(
    conn: AsyncConnection, *, project_id: str, job_id: str, worker_id: str, now: datetime
) -> None:
    """Remember that this worker did annotate work on this job."""
    found = await conn.scalar(
        select(job_annotator.c.worker_id).where(
            job_annotator.c.project_id == project_id,
            job_annotator.c.job_id == job_id,
            job_annotator.c.worker_id == worker_id,
        )
    )
    if found is None:
        await conn.execute(
            job_annotator.insert().values(
                project_id=project_id, job_id=job_id, worker_id=worker_id, created_at=now
            )
        )
    else:  # the latest annotator comes last in ``annotators``
        await conn.execute(
            update(job_annotator)
            .where(
                job_annotator.c.project_id == project_id,
                job_annotator.c.job_id == job_id,
                job_annotator.c.worker_id == worker_id,
            )
            .values(created_at=now)
        )


async def add_annotators(
    conn: AsyncConnection, *, project_id: str, pairs: Sequence[tuple[str, str]], now: datetime
) -> None:
    """``add_annotator`` for many ``(job_id, worker_id)`` pairs: one read, one insert of the
    new pairs and one update per worker of the known ones."""
    if not pairs:
        return
    if len(pairs) == 1:
        job_id, worker_id = pairs[0]
        await add_annotator(
            conn, project_id=project_id, job_id=job_id, worker_id=worker_id, now=now
        )
        return
    wanted = set(pairs)
    known: set[tuple[str, str]] = set()
    job_ids = sorted({job_id for job_id, _ in wanted})
    for start in range(0, len(job_ids), 1000):
        rows = await conn.execute(
            select(job_annotator.c.job_id, job_annotator.c.worker_id).where(
                job_annotator.c.project_id == project_id,
                job_annotator.c.job_id.in_(job_ids[start : start + 1000]),
            )
        )
        known |= {(row[0], row[1]) for row in rows} & wanted
    new = sorted(wanted - known)
    if new:
        await conn.execute(
            job_annotator.insert(),
            [
                {"project_id": project_id, "job_id": j, "worker_id": w, "created_at": now}
                for j, w in new
            ],
        )
    by_worker: dict[str, list[str]] = {}
    for job_id, worker_id in sorted(known):
        by_worker.setdefault(worker_id, []).append(job_id)
    for worker_id, jobs in by_worker.items():  # the latest annotator comes last in ``annotators``
        for start in range(0, len(jobs), 1000):
            await conn.execute(
                update(job_annotator)
                .where(
                    job_annotator.c.project_id == project_id,
                    job_annotator.c.job_id.in_(jobs[start : start + 1000]),
                    job_annotator.c.worker_id == worker_id,
                )
                .values(created_at=now)
            )


async def annotators(conn: AsyncConnection, *, project_id: str, job_id: str) -> list[str]:
    """The workers who did annotate work on the job, first first."""
    rows = await conn.execute(
        select(job_annotator.c.worker_id)
        .where(job_annotator.c.project_id == project_id, job_annotator.c.job_id == job_id)
        .order_by(job_annotator.c.created_at, job_annotator.c.worker_id)
    )
    return [row[0] for row in rows]


async def annotators_of(
    conn: AsyncConnection, *, project_id: str, job_ids: Sequence[str]
) -> dict[str, list[str]]:
    """``annotators`` of each of many jobs (a job with none is left out), in one query."""
    found: dict[str, list[str]] = {}
    if not job_ids:
        return found
    rows = await conn.execute(
        select(job_annotator.c.job_id, job_annotator.c.worker_id)
        .where(job_annotator.c.project_id == project_id, job_annotator.c.job_id.in_(job_ids))
        .order_by(job_annotator.c.created_at, job_annotator.c.worker_id)
    )
    for job_id, worker_id in rows:
        found.setdefault(job_id, []).append(worker_id)
    return found


async def add_version(
    conn: AsyncConnection,
    *,
    project_id: str,
    job_id: str,
    worker_id: str,
    annotations: Any,
    now: datetime,
) -> None:
    """Store one annotator's version of a consensus job."""
    await conn.execute(
        job_version.insert().values(
            project_id=project_id,
            job_id=job_id,
            worker_id=worker_id,
            annotations=annotations,
            created_at=now,
        )
    )


async def versions(conn: AsyncConnection, *, project_id: str, job_id: str) -> list[Record]:
    """The versions of the job's current round, oldest first."""
    query = (
        select(job_version.c.worker_id, job_version.c.annotations, job_version.c.created_at)
        .where(job_version.c.project_id == project_id, job_version.c.job_id == job_id)
        .order_by(job_version.c.created_at, job_version.c.worker_id)
    )
    return list((await conn.execute(query)).all())


async def versions_of(
    conn: AsyncConnection, *, project_id: str, job_ids: Sequence[str]
) -> dict[str, list[Record]]:
    """``versions`` of each of many jobs (a job with none is left out), in one query."""
    found: dict[str, list[Record]] = {}
    if not job_ids:
        return found
    query = (
        select(
            job_version.c.job_id,
            job_version.c.worker_id,
            job_version.c.annotations,
            job_version.c.created_at,
        )
        .where(job_version.c.project_id == project_id, job_version.c.job_id.in_(job_ids))
        .order_by(job_version.c.created_at, job_version.c.worker_id)
    )
    for row in await conn.execute(query):
        found.setdefault(row.job_id, []).append(row)
    return found


async def clear_versions(conn: AsyncConnection, *, project_id: str, job_id: str) -> None:
    """Start a new consensus round."""
    await conn.execute(
        delete(job_version).where(
            job_version.c.project_id == project_id, job_version.c.job_id == job_id
        )
    )


# --- Gold scores and tallies ---------------------------------------------------------------------


async def insert_gold_score(conn: AsyncConnection, **values: Any) -> None:
    """Store one scored gold submission."""
    await conn.execute(gold_score.insert().values(**values))


async def list_gold_scores(
    conn: AsyncConnection, *, project_id: str, worker_id: str, limit: int
) -> list[Record]:
    """A worker's latest gold scores, newest first."""
    query = (
        select(gold_score)
        .where(gold_score.c.project_id == project_id, gold_score.c.worker_id == worker_id)
        .order_by(gold_score.c.created_at.desc(), gold_score.c.id)
        .limit(limit)
    )
    return list((await conn.execute(query)).all())


async def add_tallies(
    conn: AsyncConnection, *, project_id: str, deltas: Mapping[str, Mapping[str, float]]
) -> None:
    """Add to workers' tallies (rows made on first use, by an upsert: concurrent first uses
    of one worker's row both count)."""
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    for worker_id, delta in sorted(deltas.items()):
        row = {"accepted": 0, "rejected": 0, "gold_jobs": 0, "gold_score_sum": 0.0, **delta}
        statement = insert(worker_tally).values(project_id=project_id, worker_id=worker_id, **row)
        statement = statement.on_conflict_do_update(
            index_elements=[worker_tally.c.project_id, worker_tally.c.worker_id],
            set_={name: getattr(worker_tally.c, name) + amount for name, amount in delta.items()},
        )
        await conn.execute(statement)


async def tally(conn: AsyncConnection, *, project_id: str, worker_id: str) -> Record | None:
    """A worker's tally in the project."""
    query = select(worker_tally).where(
        worker_tally.c.project_id == project_id, worker_tally.c.worker_id == worker_id
    )
    return (await conn.execute(query)).first()


async def tallies(conn: AsyncConnection, *, project_id: str) -> list[Record]:
    """Every worker's tally in the project."""
    query = (
        select(worker_tally)
        .where(worker_tally.c.project_id == project_id)
        .order_by(worker_tally.c.worker_id)
    )
    return list((await conn.execute(query)).all())


async def count_versions(conn: AsyncConnection, *, project_id: str, job_id: str) -> int:
    """How many versions the job's current round has."""
    found = await conn.scalar(
        select(func.count()).where(
            job_version.c.project_id == project_id, job_version.c.job_id == job_id
        )
    )
    return int(found or 0)


_MEMBERSHIPS = select(worker_group_member.c.project_id, worker_group_member.c.group_id).where(
    worker_group_member.c.worker_id == bindparam("worker_id")
)


async def memberships(conn: AsyncConnection, *, worker_id: str) -> dict[str, set[str]]:
    """The groups this worker belongs to, by project."""
    rows = await conn.execute(_MEMBERSHIPS, {"worker_id": worker_id})
    found: dict[str, set[str]] = {}
    for project_id, group_id in rows:
        found.setdefault(project_id, set()).add(group_id)
    return found
