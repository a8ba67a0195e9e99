"""Read-only queries behind the owners' web pages: project totals, job counts, one job in full."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, bindparam, cast, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from labelyard.core.model import JobStatus
from labelyard.store import Record
from labelyard.store.tables import batch, job, project, worker, workflow


def _total(column: ColumnElement[Any]) -> ColumnElement[int]:
    # SUM of a BIGINT is NUMERIC on PostgreSQL and NULL over no rows: give back an integer.
    return cast(func.coalesce(func.sum(column), 0), BigInteger)


async def project_summaries(conn: AsyncConnection, *, account_id: str | None) -> list[Record]:
    """The projects of an account (of every account for ``None``), by name, each with its
    number of batches and its batches' job counters summed (no scan of jobs)."""
    query = (
        select(
            project.c.id,
            project.c.account_id,
            project.c.name,
            project.c.base,
            func.count(batch.c.id).label("batches"),
            _total(batch.c.total_jobs).label("total_jobs"),
            _total(batch.c.completed_jobs).label("completed_jobs"),
            _total(batch.c.aborted_jobs).label("aborted_jobs"),
        )
        .select_from(project.outerjoin(batch, batch.c.project_id == project.c.id))
        .group_by(project.c.id, project.c.account_id, project.c.name, project.c.base)
        .order_by(project.c.name, project.c.id)
    )
    if account_id is not None:
        query = query.where(project.c.account_id == account_id)
    return list((await conn.execute(query)).all())


_BATCH_COUNTERS = select(
    batch.c.id,
    batch.c.total_jobs,
    batch.c.in_progress_jobs,
    batch.c.completed_jobs,
    batch.c.aborted_jobs,
).where(batch.c.project_id == bindparam("project_id"))


async def job_counts(conn: AsyncConnection, *, project_id: str) -> dict[str, dict[str, int]]:
    """How many jobs of the project are in each status, by batch id: read off the batches'
    counters (one row per batch, no job read); gold jobs are in none of them."""
    counts: dict[str, dict[str, int]] = {}
    rows = await conn.execute(_BATCH_COUNTERS, {"project_id": project_id})
    for batch_id, total, in_progress, completed, aborted in rows:
        counts[batch_id] = {
            JobStatus.CREATED.value: int(total - in_progress - completed - aborted),
            JobStatus.IN_PROGRESS.value: int(in_progress),
            JobStatus.COMPLETED.value: int(completed),
            JobStatus.ABORTED.value: int(aborted),
        }
    return counts


async def job_detail(conn: AsyncConnection, *, project_id: str, job_id: str) -> Record | None:
    """A job of the project with its data, draft, workflow steps and batch name."""
    query = (
        select(
            job.c.id,
            job.c.project_id,
            job.c.batch_id,
            job.c.reference_id,
            job.c.status,
            job.c.priority_weight,
            job.c.frames,
            job.c.annotations,
            job.c.data,
            job.c.step_index,
            job.c.queue,
            job.c.draft,
            job.c.comment,
            job.c.result_key,
            job.c.media_error,
            job.c.created_at,
            workflow.c.steps,
            batch.c.name.label("batch_name"),
        )
        .select_from(
            job.join(
                workflow,
                (workflow.c.project_id == job.c.project_id) & (workflow.c.id == job.c.workflow_id),
            ).join(batch, (batch.c.project_id == job.c.project_id) & (batch.c.id == job.c.batch_id))
        )
        .where(job.c.project_id == project_id, job.c.id == job_id)
    )
    return (await conn.execute(query)).first()


async def worker_names(conn: AsyncConnection, *, ids: Collection[str]) -> dict[str, str]:
    """The names of these workers (revoked ones too), by id."""
    if not ids:
        return {}
    query = select(worker.c.id, worker.c.name).where(worker.c.id.in_(list(ids)))
    return {row.id: row.name for row in await conn.execute(query)}
