"""The hottest reads of the API, each one statement that also checks the caller's key.

A page of a batch and one job are read in the same statement as the key and the project
(``api_key`` → its account's project → the batch or job), run by ``Database.fetch`` on the driver
in one call: one round trip per request where the key check and the read took two, each with
SQLAlchemy's overhead. The key is looked up in the database on every request, so a revoked key
is refused at once by every process. On SQLite a page is two statements in one snapshot (the
project and batch, then the jobs; both check the key): in-process, a second statement costs
less than the project and batch on every row.

What a read answers tells the caller's errors apart: no row, the key is unknown or revoked; a
row without a project, the key's account has no such project; then no batch, or no job.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from labelyard.core.lifecycle import JOB_STATUSES
from labelyard.store.driver import DriverStatement, statement
from labelyard.store.engine import Database

_KEY_AND_PROJECT = """
    FROM api_key AS k
    LEFT JOIN project AS p ON p.id = :project_id AND p.account_id = k.account_id"""
_LIVE_KEY = "WHERE k.key_hash = :key_hash AND k.revoked_at IS NULL"

# A status filter is given as every job status's slot filled: the statuses asked for, the first
# repeated into the slots left (``IN`` with repeats is the same set), so one statement serves
# every filter on both drivers.
_STATUS_SLOTS = tuple(f"status_{i}" for i in range(len(JOB_STATUSES)))


_PAGE_COLUMNS = """
    SELECT p.id, b.name, j.seq, j.id, j.reference_id, j.status, j.frames, j.annotations,
           j.priority_weight, j.tag"""


def _status_filter(column: str) -> str:
    return f"AND {column} IN ({', '.join(':' + slot for slot in _STATUS_SLOTS)})"


def _page(*, by_status: bool) -> DriverStatement:
    # The page is a LIMIT-ed range read of the (project_id, batch_id, seq) index, joined only when
    # the key's project has the batch: it costs the same at any depth on both engines.
    status = _status_filter("status") if by_status else ""
    postgresql = f"""{_PAGE_COLUMNS}
    {_KEY_AND_PROJECT}
    LEFT JOIN batch AS b ON b.project_id = p.id AND b.id = :batch_id
    LEFT JOIN (
        SELECT seq, id, reference_id, status, frames, annotations, priority_weight, tag
        FROM job
        WHERE project_id = :project_id AND batch_id = :batch_id AND seq > :after {status}
        ORDER BY seq
        LIMIT :limit
    ) AS j ON b.id IS NOT NULL
    {_LIVE_KEY}
    ORDER BY j.seq"""
    # SQLite would materialise that subquery and sort it again; joined directly, the key, project
    # and batch are one-row lookups and the index range already comes in seq order (no sort).
    status = _status_filter("j.status") if by_status else ""
    sqlite = f"""{_PAGE_COLUMNS}
    {_KEY_AND_PROJECT}
    LEFT JOIN batch AS b ON b.project_id = p.id AND b.id = :batch_id
    LEFT JOIN job AS j
        ON j.project_id = b.project_id AND j.batch_id = b.id AND j.seq > :after {status}
    {_LIVE_KEY}
    ORDER BY j.seq
    LIMIT :limit"""
    return statement(postgresql, sqlite=sqlite)


_PAGE = _page(by_status=False)
_PAGE_BY_STATUS = _page(by_status=True)

# On SQLite (in-process: a second statement costs no round trip) the project and batch are read
# once, then the jobs alone: the project id and batch name on each of 1,001 rows cost more
# (two strings made per row) than the second statement. Both check the key.
_HEAD = statement(f"""
    SELECT p.id, b.name
    {_KEY_AND_PROJECT}
    LEFT JOIN batch AS b ON b.project_id = p.id AND b.id = :batch_id
    {_LIVE_KEY}""")


def _jobs(*, by_status: bool) -> DriverStatement:
    status = _status_filter("j.status") if by_status else ""
    return statement(f"""
    SELECT NULL, NULL, j.seq, j.id, j.reference_id, j.status, j.frames, j.annotations,
           j.priority_weight, j.tag
    FROM api_key AS k
    JOIN project AS p ON p.id = :project_id AND p.account_id = k.account_id
    JOIN batch AS b ON b.project_id = p.id AND b.id = :batch_id
    JOIN job AS j ON j.project_id = b.project_id AND j.batch_id = b.id AND j.seq > :after {status}
    {_LIVE_KEY}
    ORDER BY j.seq
    LIMIT :limit""")


_JOBS = _jobs(by_status=False)
_JOBS_BY_STATUS = _jobs(by_status=True)

PAGE_ROW_JOB = 3
"""Where a page row's job columns start: ``id, reference_id, status, frames, annotations,
priority_weight, tag``, after the project id, the batch name and the job's keyset position."""

_JOB = statement(f"""
    SELECT p.id, p.account_id, p.name, p.base, k.id,
           j.id, j.project_id, j.reference_id, j.batch_id, j.status, j.workflow_id,
           j.priority_weight, j.tag, j.payload_hash, j.result_key, j.media_error
    {_KEY_AND_PROJECT}
    LEFT JOIN job AS j ON j.project_id = p.id AND j.id = :job_id
    {_LIVE_KEY}""")


class KeyedProject(NamedTuple):
    """The project a key may act on (columns as ``core.model.Project`` takes them)."""

    id: str
    account_id: str
    name: str
    base: str
    key_id: str


class JobRead(NamedTuple):
    """One job's columns as ``store.jobs.get_job`` reads them (``JOB_READ_COLUMNS``)."""

    id: str
    project_id: str
    reference_id: str
    batch_id: str
    status: str
    workflow_id: str
    priority_weight: int
    tag: str
    payload_hash: str
    result_key: str | None
    media_error: str | None


class KeyedPage(NamedTuple):
    """What ``page_for_key`` read for a key that may read: the project id (None: the key's
    account has no such project), the batch name (None: no such batch in it) and the rows of
    the page (the job columns from ``PAGE_ROW_JOB``, after the keyset position)."""

    project_id: str | None
    name: str | None
    rows: Sequence[Sequence[Any]]


async def page_for_key(
    db: Database,
    *,
    key_hash: str,
    project_id: str,
    batch_id: str,
    after: int,
    statuses: Sequence[str],
    limit: int,
) -> KeyedPage | None:
    """The batch's jobs after keyset position ``after`` (up to ``limit``), if the key may read
    the project; None if the key is unknown or revoked."""
    values: dict[str, Any] = {
        "key_hash": key_hash,
        "project_id": project_id,
        "batch_id": batch_id,
        "after": after,
        "limit": limit,
    }
    if statuses:
        for slot, status in zip(_STATUS_SLOTS, _slots(statuses), strict=True):
            values[slot] = status
    if db.is_sqlite:
        jobs = _JOBS_BY_STATUS if statuses else _JOBS
        head, rows = await db.fetch_each((_HEAD, jobs), values)
        if not head:
            return None
        return KeyedPage(head[0][0], head[0][1], rows)
    # One row per job (or one without a job: an empty page), each with the project and batch.
    rows = await db.fetch(_PAGE_BY_STATUS if statuses else _PAGE, values)
    if not rows:
        return None
    first = rows[0]
    return KeyedPage(first[0], first[1], rows if first[PAGE_ROW_JOB] is not None else [])


def _slots(statuses: Sequence[str]) -> list[str]:
    if len(statuses) > len(_STATUS_SLOTS):
        raise ValueError(f"more statuses than there are: {statuses!r}")
    return [*statuses, *[statuses[0]] * (len(_STATUS_SLOTS) - len(statuses))]


class KeyedJob(NamedTuple):
    """What ``job_for_key`` found: no project if the key's account has no such project."""

    project: KeyedProject | None
    job: JobRead | None


async def job_for_key(
    db: Database, *, key_hash: str, project_id: str, job_id: str
) -> KeyedJob | None:
    """The project and the job, if the key may read the project; ``None`` if the key is unknown
    or revoked."""
    rows = await db.fetch(_JOB, {"key_hash": key_hash, "project_id": project_id, "job_id": job_id})
    if not rows:
        return None
    row = rows[0]
    if row[0] is None:
        return KeyedJob(None, None)
    return KeyedJob(KeyedProject(*row[:5]), JobRead(*row[5:]) if row[5] is not None else None)


# A web session's checks on every page, in one statement: the signed-in worker (or key) is
# still live, and the session was not signed out.
_SIGNED_OUT = "EXISTS (SELECT 1 FROM revoked_session AS r WHERE r.nonce = :nonce)"
_WORKER_SESSION = statement(f"""
    SELECT w.id, w.account_id, w.name, w.role, w.username, w.password_hash, w.token_hash,
           {_SIGNED_OUT}
    FROM worker AS w
    WHERE w.id = :worker_id AND w.revoked_at IS NULL""")
_KEY_SESSION = statement(f"""
    SELECT EXISTS (SELECT 1 FROM api_key AS k WHERE k.id = :key_id AND k.revoked_at IS NULL),
           {_SIGNED_OUT}""")


class SessionWorker(NamedTuple):
    """A signed-in worker's columns as ``store.workers.live_worker`` reads them."""

    id: str
    account_id: str
    name: str
    role: str
    username: str | None
    password_hash: str | None
    token_hash: str


async def worker_session(
    db: Database, *, worker_id: str, nonce: str
) -> tuple[SessionWorker | None, bool]:
    """The worker unless it was revoked, and whether the session ``nonce`` was signed out."""
    rows = await db.fetch(_WORKER_SESSION, {"worker_id": worker_id, "nonce": nonce})
    if not rows:
        return None, False
    return SessionWorker(*rows[0][:7]), bool(rows[0][7])


async def key_session(db: Database, *, key_id: str, nonce: str) -> tuple[bool, bool]:
    """Whether the API key ``key_id`` is live, and whether the session ``nonce`` was signed
    out."""
    rows = await db.fetch(_KEY_SESSION, {"key_id": key_id, "nonce": nonce})
    return bool(rows[0][0]), bool(rows[0][1])


# A job create's reads in one statement: the key, the project and its workflows, default first
# (as ``store.projects.list_workflows`` orders them).
_PROJECT_WORKFLOWS = statement(f"""
    SELECT p.id, p.account_id, p.name, p.base, k.id, w.id, w.tag
    {_KEY_AND_PROJECT}
    LEFT JOIN workflow AS w ON w.project_id = p.id
    {_LIVE_KEY}
    ORDER BY w.is_default DESC, w.created_at""")


class KeyedWorkflows(NamedTuple):
    """What ``workflows_for_key`` found: no project if the key's account has no such project;
    the project's workflows as ``(id, tag)``, default first."""

    project: KeyedProject | None
    workflows: list[tuple[str, str]]


async def workflows_for_key(
    db: Database, *, key_hash: str, project_id: str
) -> KeyedWorkflows | None:
    """The project and its workflows, if the key may act on the project; ``None`` if the key is
    unknown or revoked."""
    rows = await db.fetch(_PROJECT_WORKFLOWS, {"key_hash": key_hash, "project_id": project_id})
    if not rows:
        return None
    first = rows[0]
    if first[0] is None:
        return KeyedWorkflows(None, [])
    return KeyedWorkflows(
        KeyedProject(*first[:5]), [(row[5], row[6]) for row in rows if row[5] is not None]
    )
