"""The worker API's use cases: claim, heartbeat, draft, submit, skip, review.

Each runs in one write transaction: the job row is locked, the rule from ``core.lifecycle``
decides, the job, its batch's counters and its transition record change together.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from labelyard.blobs import BlobStore
from labelyard.core import annotations as notes
from labelyard.core import lifecycle
from labelyard.core.ids import new_id, parse_uuid, require_uuid
from labelyard.core.lifecycle import REVIEW, Route
from labelyard.core.model import Base, JobStatus, as_utc, rfc3339
from labelyard.core.passwords import MIN_LENGTH as MIN_PASSWORD_LENGTH
from labelyard.core.passwords import hash_password
from labelyard.core.schema import LabelSchema, parse_schema
from labelyard.core.validation import require_name
from labelyard.errors import AuthFailure, Forbidden, InvalidInput, NotFound
from labelyard.services import point_clouds, utcnow
from labelyard.services.events import record
from labelyard.services.lifecycle import complete, route_of, send_to_step, transition_record
from labelyard.store import Record
from labelyard.store import accounts as account_store
from labelyard.store import projects as project_store
from labelyard.store import work as store
from labelyard.store import workers as worker_store
from labelyard.store.engine import Database

WORKER_TOKEN_PREFIX = "lyw_"
ROLES = tuple(lifecycle.ROLES)


@dataclass(frozen=True, slots=True)
class WorkProject:
    """What the worker API needs of a project."""

    id: str
    base: Base
    schema: LabelSchema


@dataclass(frozen=True, slots=True)
class Worker:
    """An annotator, reviewer or program of an account, acting in one of its projects."""

    id: str
    account_id: str
    name: str
    role: str
    project: WorkProject


def token_digest(token: str) -> str:
    """The digest a worker token is stored and looked up by."""
    return hashlib.sha256(token.encode()).hexdigest()


async def create_worker(
    db: Database, *, account_id: object, name: object, role: object
) -> dict[str, str]:
    """A worker of the account and its token (shown once, stored as a digest)."""
    account = require_uuid(account_id, "account_id")
    label = require_name(name)
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}")
    token = WORKER_TOKEN_PREFIX + secrets.token_urlsafe(32)
    worker_id = new_id()
    async with db.write() as conn:
        if not await account_store.account_exists(conn, id=account):
            raise NotFound(f"no account {account}")
        await worker_store.insert_worker(
            conn,
            id=worker_id,
            account_id=account,
            name=label,
            role=str(role),
            token_hash=token_digest(token),
            now=utcnow(),
        )
    return {
        "worker_id": worker_id,
        "account_id": account,
        "name": label,
        "role": str(role),
        "token": token,
    }


async def authorize(db: Database, *, token: str | None, project_id: str) -> Worker:
    """The worker presenting ``token``, in a project of its account; else 401 / 403."""
    if not token:
        raise AuthFailure("missing worker token")
    return await _in_project(db, project_id, token_hash=token_digest(token))


async def worker_in_project(db: Database, *, worker_id: str, project_id: str) -> Worker:
    """A live worker (signed in to the web UI) in a project of its account; else 401 / 403."""
    return await _in_project(db, project_id, worker_id=worker_id)


async def _in_project(
    db: Database, project_id: str, *, token_hash: str | None = None, worker_id: str | None = None
) -> Worker:
    canonical = parse_uuid(project_id)
    async with db.read() as conn:
        row = await worker_store.worker_for_project(
            conn, project_id=canonical or "", token_hash=token_hash, worker_id=worker_id
        )
    if row is None:
        raise AuthFailure("unknown or revoked worker token")
    if canonical is None:
        raise InvalidInput("project_id must be a UUID")
    if row.project_id is None or row.project_account_id != row.account_id:
        raise Forbidden("this worker may not access this project")
    base = Base(row.base)
    project = WorkProject(id=row.project_id, base=base, schema=parse_schema(row.label_schema, base))
    return Worker(
        id=row.id, account_id=row.account_id, name=row.name, role=row.role, project=project
    )


def _view(
    job: Record, project: WorkProject, route: Route, *, draft: Any, lease_until: datetime
) -> dict[str, Any]:
    return {
        "job_id": job.id,
        "project_id": job.project_id,
        "batch_id": job.batch_id,
        "reference_id": job.reference_id,
        "base": project.base.value,
        "step": route.kinds[job.step_index],
        "step_name": route.name_of(job.step_index),
        "data": job.data,
        "draft": draft,
        "comment": job.comment,
        "schema": project.schema.to_json(),
        "lease_expires_at": rfc3339(lease_until),
    }


async def claim(
    db: Database, worker: Worker, *, body: object, default_lease: int
) -> dict[str, Any] | None:
    """The next free job of the asked step, leased to this worker; None if the queue is empty."""
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise InvalidInput("body must be a JSON object")
    step = body.get("step", lifecycle.ANNOTATE)
    lifecycle.check_role(worker.role, str(step))
    now = utcnow()
    until = lifecycle.lease_until(now, body.get("lease_seconds"), default_lease)
    project = worker.project
    if db.is_sqlite:
        # SQLite has a single writer: look for a free job before queueing for the write lock,
        # so empty queues cost a read. The claim itself is decided under the lock below.
        async with db.read() as conn:
            found = await store.next_free_job(
                conn, project_id=project.id, queue=str(step), worker_id=worker.id, now=now
            )
        if found is None:
            return None
    async with db.write() as conn:
        job = await store.next_free_job(
            conn, project_id=project.id, queue=str(step), worker_id=worker.id, now=now
        )
        if job is None:
            return None
        route = route_of(job)
        draft = (
            job.draft
            if job.draft is not None
            else notes.starting_draft(project.base, project.schema, job.data)
        )
        await store.update_job(
            conn,
            project_id=project.id,
            job_id=job.id,
            status=JobStatus.IN_PROGRESS.value,
            lease_holder=worker.id,
            lease_expires_at=until,
            draft=draft,
            updated_at=now,
        )
        await record(
            conn,
            job._mapping,
            [
                transition_record(
                    job,
                    action="claim",
                    to_status=JobStatus.IN_PROGRESS.value,
                    route=route,
                    to_index=job.step_index,
                    worker_id=worker.id,
                    comment=None,
                    now=now,
                )
            ],
            now=now,
        )
        return _view(job, project, route, draft=draft, lease_until=until)


async def _held(
    conn: AsyncConnection, worker: Worker, job_id: str, now: datetime
) -> tuple[WorkProject, Record]:
    project = worker.project
    job = await store.lock_job(conn, project_id=project.id, job_id=require_uuid(job_id, "job_id"))
    job, _ = _check_held(job, worker, now)
    return project, job


def _check_held(job: Record | None, worker: Worker, now: datetime) -> tuple[Record, datetime]:
    """``NotFound``/``Conflict`` unless the job is open and leased to this worker; the job and
    its lease's end."""
    if job is None:
        raise NotFound("no such job in this project")
    lifecycle.check_open(job.status)
    expires = as_utc(job.lease_expires_at) if job.lease_expires_at else None
    lifecycle.check_lease(job.lease_holder, expires, worker.id, now)
    assert expires is not None  # check_lease refuses a job without a live lease
    return job, expires


async def held_view(db: Database, worker: Worker, *, job_id: str) -> dict[str, Any]:
    """The job as a claim answered it, for the worker that still holds its lease."""
    now = utcnow()
    async with db.read() as conn:
        job = await store.read_job(
            conn, project_id=worker.project.id, job_id=require_uuid(job_id, "job_id")
        )
    job, expires = _check_held(job, worker, now)
    draft = (
        job.draft
        if job.draft is not None
        else notes.starting_draft(worker.project.base, worker.project.schema, job.data)
    )
    return _view(job, worker.project, route_of(job), draft=draft, lease_until=expires)


async def upcoming_sources(db: Database, worker: Worker, *, step: object) -> list[str]:
    """The images of the job a claim of ``step`` would give this worker next, for the browser to
    load ahead; nothing is leased."""
    lifecycle.check_role(worker.role, str(step))
    async with db.read() as conn:
        job = await store.next_free_job(
            conn,
            project_id=worker.project.id,
            queue=str(step),
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
    kinds = [kind for kind in lifecycle.STEP_KINDS if kind in lifecycle.ROLES.get(role, set())]
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


async def set_login(db: Database, *, worker_id: object, username: object, password: str) -> None:
    """Let a worker sign in to the web UI with ``username`` and ``password``."""
    worker_id = require_uuid(worker_id, "worker_id")
    name = require_name(username.strip() if isinstance(username, str) else username)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    digest = await asyncio.to_thread(hash_password, password)  # scrypt: off the event loop
    async with db.write() as conn:
        if not await worker_store.set_login(
            conn, worker_id=worker_id, username=name, password_hash=digest
        ):
            raise NotFound(f"no live worker {worker_id}")


async def revoke_worker(db: Database, *, worker_id: object) -> None:
    """Revoke a worker at once: its token stops working and its web sign-ins end."""
    worker_id = require_uuid(worker_id, "worker_id")
    async with db.write() as conn:
        if not await worker_store.revoke_worker(conn, worker_id=worker_id, now=utcnow()):
            raise NotFound(f"no live worker {worker_id}")


async def heartbeat(
    db: Database, worker: Worker, *, job_id: str, body: object, default_lease: int
) -> dict[str, str]:
    """Extend the lease."""
    fields = body if isinstance(body, dict) else {}
    now = utcnow()
    until = lifecycle.lease_until(now, fields.get("lease_seconds"), default_lease)
    async with db.write() as conn:
        project, job = await _held(conn, worker, job_id, now)
        await store.update_job(conn, project_id=project.id, job_id=job.id, lease_expires_at=until)
    return {"job_id": job.id, "lease_expires_at": rfc3339(until)}


async def _annotations(
    conn: AsyncConnection, body: object, project: WorkProject, job: Record, *, required: bool
) -> Any:
    if not isinstance(body, dict):
        raise InvalidInput("body must be a JSON object")
    if "annotations" not in body:
        if required:
            raise InvalidInput("annotations: required")
        return None
    await _validate(conn, body["annotations"], project, job)
    return body["annotations"]


async def _validate(
    conn: AsyncConnection, annotations: Any, project: WorkProject, job: Record
) -> None:
    counts = (
        await point_clouds.point_counts(conn, project_id=project.id, job_id=job.id)
        if project.base is Base.POINT_CLOUD_SEGMENTATION
        else None
    )
    notes.validate(
        annotations, base=project.base, schema=project.schema, data=job.data, point_counts=counts
    )


async def save_draft(db: Database, worker: Worker, *, job_id: str, body: object) -> dict[str, Any]:
    """Save work in progress (validated shapes, so a draft can always be submitted as is)."""
    now = utcnow()
    async with db.write() as conn:
        project, job = await _held(conn, worker, job_id, now)
        annotations = await _annotations(conn, body, project, job, required=True)
        await store.update_job(
            conn, project_id=project.id, job_id=job.id, draft=annotations, updated_at=now
        )
    return {"job_id": job.id, "saved_at": rfc3339(now)}


async def _advance(
    conn: AsyncConnection,
    blobs: BlobStore,
    project: WorkProject,
    job: Record,
    route: Route,
    *,
    action: str,
    annotations: Any,
    worker: Worker,
    comment: str | None,
    now: datetime,
    base_url: str,
) -> dict[str, Any]:
    """Move the job past its current step: to the next one, or to completed after the last."""
    next_index = route.next_of(job.step_index)
    if next_index is None:
        return await complete(
            conn,
            blobs,
            project.base,
            job,
            route,
            annotations=annotations,
            action=action,
            worker_id=worker.id,
            comment=comment,
            now=now,
            base_url=base_url,
        )
    return await send_to_step(
        conn,
        job,
        route,
        next_index,
        action=action,
        worker_id=worker.id,
        comment=comment,
        now=now,
        columns={"draft": annotations},
    )


async def submit(
    db: Database, blobs: BlobStore, worker: Worker, *, job_id: str, body: object, base_url: str
) -> dict[str, Any]:
    """Hand in an annotate step's work; the job moves on."""
    now = utcnow()
    async with db.write() as conn:
        project, job = await _held(conn, worker, job_id, now)
        route = route_of(job)
        if route.kinds[job.step_index] != lifecycle.ANNOTATE:
            raise InvalidInput("this job is in a review step: use .../review")
        annotations = await _annotations(conn, body, project, job, required=True)
        return await _advance(
            conn,
            blobs,
            project,
            job,
            route,
            action="submit",
            annotations=annotations,
            worker=worker,
            comment=None,
            now=now,
            base_url=base_url,
        )


async def skip(db: Database, worker: Worker, *, job_id: str, body: object) -> dict[str, Any]:
    """Give the job back; it is not offered to this worker again."""
    now = utcnow()
    reason = body.get("reason") if isinstance(body, dict) else None
    async with db.write() as conn:
        project, job = await _held(conn, worker, job_id, now)
        route = route_of(job)
        await store.update_job(
            conn,
            project_id=project.id,
            job_id=job.id,
            lease_holder=None,
            lease_expires_at=None,
            updated_at=now,
        )
        await store.add_skip(
            conn, project_id=project.id, job_id=job.id, worker_id=worker.id, now=now
        )
        await record(
            conn,
            job._mapping,
            [
                transition_record(
                    job,
                    action="skip",
                    to_status=job.status,
                    route=route,
                    to_index=job.step_index,
                    worker_id=worker.id,
                    comment=reason if isinstance(reason, str) else None,
                    now=now,
                )
            ],
            now=now,
        )
    return {"job_id": job.id, "status": job.status, "step": route.name_of(job.step_index)}


async def review(
    db: Database, blobs: BlobStore, worker: Worker, *, job_id: str, body: object, base_url: str
) -> dict[str, Any]:
    """Accept (optionally with corrections) or reject back to an earlier step, with a comment."""
    if not isinstance(body, dict):
        raise InvalidInput("body must be a JSON object")
    decision = body.get("decision")
    if decision not in ("accept", "reject"):
        raise InvalidInput("decision must be 'accept' or 'reject'")
    comment = body.get("comment")
    if comment is not None and not isinstance(comment, str):
        raise InvalidInput("comment must be a string")
    now = utcnow()
    async with db.write() as conn:
        project, job = await _held(conn, worker, job_id, now)
        route = route_of(job)
        if route.kinds[job.step_index] != REVIEW:
            raise InvalidInput("this job is in an annotate step: use .../submit")
        if decision == "accept":
            corrected = await _annotations(conn, body, project, job, required=False)
            annotations = corrected if corrected is not None else job.draft
            if corrected is None:
                # The draft was valid when saved; the schema may have changed since.
                await _validate(conn, annotations, project, job)
            return await _advance(
                conn,
                blobs,
                project,
                job,
                route,
                action="accept",
                annotations=annotations,
                worker=worker,
                comment=comment,
                now=now,
                base_url=base_url,
            )
        step = body.get("step")
        target = route.reject_target(job.step_index, step if isinstance(step, str) else None)
        return await send_to_step(
            conn,
            job,
            route,
            target,
            action="reject",
            worker_id=worker.id,
            comment=comment,
            now=now,
            columns={"comment": comment},
        )
