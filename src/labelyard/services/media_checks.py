"""Media checks: queued with every new job, run by ``labelyard worker``, retried by the owner.

A job whose media cannot be read gets a ``media_error`` and the event ``job.media_failed`` in
one transaction, and is not handed to annotators (``store.work`` skips it) until a retried check
passes. The reading itself (HTTP, concurrency, rate limits) is the worker's: ``worker/media.py``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncConnection

from labelyard.core.events import media_failed_event
from labelyard.core.ids import require_uuid
from labelyard.core.media import (
    INVALID_IMAGE_LINK,
    SNIFF_BYTES,
    MediaItem,
    Readable,
    TryLater,
    Unreadable,
    Verdict,
    judge,
    media_error_text,
    media_items,
    parse_object_url,
)
from labelyard.core.model import Base, Project
from labelyard.errors import NoStorageConnection, NotFound
from labelyard.outbound import Outbound, OutboundRefused, OutboundUnreachable
from labelyard.services import utcnow
from labelyard.services.events import emit
from labelyard.services.media import Connection, MediaSigner
from labelyard.store import media as store
from labelyard.store.engine import Database

USER_AGENT = "labelyard-media-check/1"


async def read_item(
    item: MediaItem,
    *,
    signer: MediaSigner,
    connections: Sequence[Connection],
    outbound: Outbound,
    timeout: float,
    pace: Callable[[str], Awaitable[None]] | None = None,
) -> Verdict:
    """The verdict on one media URL: a ranged GET of its first bytes (object URLs presigned with
    the account's connection). An address the rules keep the server from is not held against
    the media (annotators' browsers may well reach a private network): ``Readable``."""
    try:
        url = signer.media_url(connections, item.url)
    except NoStorageConnection as exc:
        return Unreadable(exc.message)
    host = urlsplit(url).hostname
    if urlsplit(url).scheme not in ("http", "https") or not host:
        return Unreadable("not an http(s), s3 or gs URL")
    if pace is not None:
        await pace(host)
    try:
        status, head = await first_bytes(outbound, url, timeout=timeout)
    except OutboundRefused:
        return Readable()
    except OutboundUnreachable as exc:
        return TryLater(str(exc))
    except TimeoutError:
        return TryLater(f"no answer within {timeout:g} s")
    return judge(status=status, head=head, image=item.image)


async def first_bytes(outbound: Outbound, url: str, *, timeout: float) -> tuple[int, bytes]:
    """The status and first ``SNIFF_BYTES`` of a ranged GET (a store that ignores the range
    is not read further)."""
    headers = {"range": f"bytes=0-{SNIFF_BYTES - 1}", "user-agent": USER_AGENT}
    async with asyncio.timeout(timeout):
        async with outbound.stream("GET", url, headers=headers, timeout=timeout) as response:
            head = bytearray()
            async for chunk in response.aiter_raw():
                head += chunk
                if len(head) >= SNIFF_BYTES:
                    break
            return response.status_code, bytes(head[:SNIFF_BYTES])


def _without_query(url: str) -> str:
    return url.split("?", 1)[0]


async def diagnose(
    db: Database,
    signer: MediaSigner,
    outbound: Outbound,
    *,
    account_id: str,
    data: Any,
    src: object,
    timeout: float,
) -> dict[str, str]:
    """Why the browser could not show ``src``, one of the job's media (as the web UI got it):
    the server reads it now. ``NotFound`` for a URL that is not the job's."""
    if not isinstance(src, str) or not src:
        raise NotFound("src must be a media URL of this job")
    items = media_items(data)
    connections: list[Connection] = []
    if any(parse_object_url(item.url) for item in items):
        connections = await signer.connections(db, account_id=account_id)
    wanted = _without_query(src)
    for item in items:
        shown = item.url
        if parse_object_url(item.url) is not None:
            try:
                shown = signer.media_url(connections, item.url)
            except NoStorageConnection:
                shown = item.url
        if item.url == src or _without_query(shown) == wanted:
            break
    else:
        raise NotFound("src is not a media URL of this job")
    verdict = await read_item(
        item, signer=signer, connections=connections, outbound=outbound, timeout=timeout
    )
    if isinstance(verdict, Readable):
        reason = (
            "the server reads this file: your browser may not reach its address (network, "
            "VPN, proxy), or its link expired (reload the page)"
        )
    else:
        reason = verdict.reason
    return {"field": item.field, "url": item.url, "reason": reason}


@dataclass(frozen=True, slots=True)
class CheckTask:
    """A leased check: the job's data, and whose connections sign its private media."""

    project_id: str
    job_id: str
    account_id: str
    base: Base
    data: Any
    attempts: int


async def queue_for_new_jobs(
    conn: AsyncConnection, *, project_id: str, job_ids: Iterable[str], now: datetime
) -> None:
    """Ask the worker to check new jobs' media (in the creating transaction)."""
    await store.queue_checks(conn, project_id=project_id, job_ids=job_ids, now=now)


async def claim(db: Database, *, lease_seconds: float, limit: int) -> list[CheckTask]:
    """Lease up to ``limit`` due checks to this worker."""
    now = utcnow()
    async with db.write() as conn:
        rows = await store.claim_due(
            conn, now=now, until=now + timedelta(seconds=lease_seconds), limit=limit
        )
    return [
        CheckTask(
            project_id=row.project_id,
            job_id=row.job_id,
            account_id=row.account_id,
            base=Base(row.base),
            data=row.data,
            attempts=row.attempts,
        )
        for row in rows
    ]


@dataclass(frozen=True, slots=True)
class CheckResult:
    """What reading a job's media found: URLs that failed for good, and URLs to try later."""

    task: CheckTask
    failures: Sequence[tuple[MediaItem, str]]
    later: Sequence[tuple[MediaItem, str]]


async def settle(
    db: Database,
    results: Sequence[CheckResult],
    *,
    max_attempts: int,
    retry_base_seconds: float,
) -> list[str]:
    """Record the outcomes of checks in one transaction, each ``failed`` (media error and
    event), ``retry`` (checked again later) or ``passed`` (a former media error cleared)."""
    now = utcnow()
    ordered = sorted(results, key=lambda r: (r.task.project_id, r.task.job_id))  # lock order
    outcomes: dict[tuple[str, str], str] = {}
    async with db.write() as conn:
        for result in ordered:
            key = (result.task.project_id, result.task.job_id)
            outcomes[key] = await _settle(
                conn,
                result,
                now=now,
                max_attempts=max_attempts,
                retry_base_seconds=retry_base_seconds,
            )
    return [outcomes[(r.task.project_id, r.task.job_id)] for r in results]


async def _settle(
    conn: AsyncConnection,
    result: CheckResult,
    *,
    now: datetime,
    max_attempts: int,
    retry_base_seconds: float,
) -> str:
    task, failures, later = result.task, result.failures, result.later
    attempts = task.attempts + 1
    job = await store.lock_job_for_outcome(conn, project_id=task.project_id, job_id=task.job_id)
    if job is None:  # deleted meanwhile
        await store.finish_check(conn, project_id=task.project_id, job_id=task.job_id)
        return "passed"
    if not failures and later and attempts < max_attempts:
        delay = retry_base_seconds * 4 ** (attempts - 1)
        await store.reschedule_check(
            conn,
            project_id=task.project_id,
            job_id=task.job_id,
            attempts=attempts,
            at=now + timedelta(seconds=delay),
            error=media_error_text(later),
        )
        return "retry"
    await store.finish_check(conn, project_id=task.project_id, job_id=task.job_id)
    if not failures and not later:
        if job.media_error is not None:
            await store.set_media_error(
                conn, project_id=task.project_id, job_id=task.job_id, error=None, now=now
            )
        return "passed"
    if not failures:
        failures = [(item, f"{reason} (after {attempts} attempts)") for item, reason in later]
    error = media_error_text(failures)
    await store.set_media_error(
        conn, project_id=task.project_id, job_id=task.job_id, error=error, now=now
    )
    listed = [
        {"field": item.field, "type": INVALID_IMAGE_LINK, "url": item.url, "reason": reason}
        for item, reason in failures
    ]
    event = media_failed_event(dict(job._mapping), media_error=error, failures=listed)
    await emit(conn, project_id=task.project_id, events=[event], now=now)
    return "failed"


async def retry(db: Database, project: Project, *, job_id: str) -> dict[str, Any]:
    """The owner fixed a job's media: check it again (the job stays out of the queue until the
    check passes)."""
    job_id = require_uuid(job_id, "job_id")
    now = utcnow()
    async with db.write() as conn:
        job = await store.lock_job_for_outcome(conn, project_id=project.id, job_id=job_id)
        if job is None:
            raise NotFound(f"no job {job_id} in this project")
        await store.queue_checks(conn, project_id=project.id, job_ids=[job_id], now=now)
        await store.reschedule_check(
            conn, project_id=project.id, job_id=job_id, attempts=0, at=now, error=""
        )
    return {"job_id": job_id, "media_error": job.media_error or "", "media_check": "queued"}
