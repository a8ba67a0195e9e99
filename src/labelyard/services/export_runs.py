"""Running exports of a project's jobs: queued through the API (``services.exports``) and run
by ``labelyard worker``, or run at once by ``labelyard export``.

Jobs are read a page at a time from a keyset cursor (batches oldest first, then each batch's
``seq``), every page in a short read of its own, and written as they come
(``labelyard.exports``): memory stays flat and no transaction stays open for the length of an
export.

A worker claims an export in a write transaction (``FOR UPDATE SKIP LOCKED`` on PostgreSQL)
and holds it by a lock (``locked_until``) that every progress update extends. A worker that
dies leaves the export to be redone once the lock has expired; one that finds its lock taken
over stops without touching the export again.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import shutil
import tempfile
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator, Sequence
from contextlib import aclosing, asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from labelyard.blobs import BlobStore, export_key
from labelyard.config import Settings
from labelyard.core import annotations as notes
from labelyard.core.ids import require_uuid
from labelyard.core.model import Base, JobStatus
from labelyard.core.schema import parse_schema
from labelyard.errors import LabelyardError, NotFound
from labelyard.exports.classes import Classes
from labelyard.exports.runner import Outcome, Page, Progress, open_writer, write_export
from labelyard.exports.sizes import PROBE_TIMEOUT_SECONDS, ImageSizer
from labelyard.exports.spec import ExportSpec, Format, check_base, parse_spec
from labelyard.exports.writer import ExportJob
from labelyard.outbound import OPERATOR_POLICY, Outbound
from labelyard.services import utcnow
from labelyard.store import Record
from labelyard.store import batches as batch_store
from labelyard.store import exports as store
from labelyard.store import projects as project_store
from labelyard.store.engine import Database

log = logging.getLogger("labelyard.exports")

PAGE_SIZE = 5000
STORED_PAGE_SIZE = 4000
"""Rows a page of an NDJSON export's stored JSON (``store.ImageTextRow``s, bigger ones): peak
memory as with ``PAGE_SIZE`` jobs."""
PROGRESS_EVERY_JOBS = 5000
PROGRESS_EVERY_SECONDS = 10.0

CliProgress = Callable[[int, int, int], None]
"""Called with (jobs done, jobs expected, jobs skipped) as an export advances."""


class LostExport(Exception):
    """Another worker took this export over after our lock expired."""


@dataclass(frozen=True, slots=True)
class _Source:
    """What an export reads: the project, its classes, the batches and how many jobs to expect."""

    project_id: str
    name: str
    base: Base
    class_names: tuple[str, ...]
    batch_ids: tuple[str, ...]
    total_jobs: int


def _expected(batch: Record, statuses: Sequence[str]) -> int | None:
    """Jobs of ``statuses`` in the batch, from its counters; None if they cannot tell."""
    wanted = set(statuses)
    count = 0
    if JobStatus.COMPLETED in wanted:
        count += batch.completed_jobs
    if JobStatus.ABORTED in wanted:
        count += batch.aborted_jobs
    open_ = wanted & {JobStatus.CREATED.value, JobStatus.IN_PROGRESS.value}
    if len(open_) == 2:
        count += batch.total_jobs - batch.completed_jobs - batch.aborted_jobs
    elif open_:
        return None
    return int(count)


async def _source(db: Database, *, project_id: str, spec: ExportSpec) -> _Source:
    async with db.read() as conn:
        project = await project_store.get_project(conn, id=project_id)
        if project is None:
            raise NotFound(f"no project {project_id}")
        base = Base(project.base)
        check_base(spec.format, base)
        if spec.batch_id is not None:
            batch = await batch_store.get_batch(conn, project_id=project_id, id=spec.batch_id)
            if batch is None:
                raise NotFound("no such batch in this project")
            batches = [batch]
        else:
            batches = await batch_store.list_batches(conn, project_id=project_id)
        total = 0
        for batch in batches:
            expected = _expected(batch, spec.statuses)
            if expected is None:
                expected = await store.count_jobs(
                    conn, project_id=project_id, batch_id=batch.id, statuses=spec.statuses
                )
            total += expected
    schema = parse_schema(project.label_schema, base)
    return _Source(
        project_id=project_id,
        name=project.name,
        base=base,
        class_names=tuple(schema.classes),
        batch_ids=tuple(batch.id for batch in batches),
        total_jobs=total,
    )


async def _rows(
    db: Database, source: _Source, statuses: Sequence[str], *, stored: bool
) -> AsyncGenerator[list[tuple[Any, ...]], None]:
    """The rows to export, a keyset page at a time, each page read in its own short read
    while the previous one is being written (``stored``: ``store.ImageTextRow``s, else
    ``store.JobRow``s)."""
    rows_of = store.image_text_rows if stored else store.job_rows
    page_size = STORED_PAGE_SIZE if stored else PAGE_SIZE

    async def read(batch_id: str, after: int) -> list[tuple[Any, ...]]:
        async with db.read() as conn:
            return await rows_of(
                conn,
                project_id=source.project_id,
                batch_id=batch_id,
                after=after,
                statuses=statuses,
                limit=page_size,
            )

    for batch_id in source.batch_ids:
        ahead = asyncio.ensure_future(read(batch_id, 0))
        try:
            while True:
                rows = await ahead
                if len(rows) == page_size:
                    ahead = asyncio.ensure_future(read(batch_id, rows[-1][0]))
                if rows:
                    yield rows
                if len(rows) < page_size:
                    break
        finally:
            # A read in flight is let finish, not cancelled: its connection must not go back to
            # the pool while a thread still reads on it.
            await asyncio.wait([ahead])
            if not ahead.cancelled():
                ahead.exception()  # retrieved here, so an unused page's error is not reported


async def _pages(
    db: Database, source: _Source, statuses: Sequence[str], *, stored: bool
) -> AsyncGenerator[Page, None]:
    """The jobs to export, a page at a time; each job's JSON is parsed only when the writer
    takes it, so no more than one job's documents are in memory at once (``stored``: pages of
    rows of their stored JSON's parts, for ``NdjsonWriter.write_stored``)."""
    async with aclosing(_rows(db, source, statuses, stored=stored)) as pages:
        async for rows in pages:
            if stored:
                yield Page(len(rows), (), rows)
            else:
                yield Page(len(rows), _export_jobs(rows, source.base))


def _export_jobs(rows: Sequence[store.JobRow], base: Base) -> Iterator[ExportJob]:
    """The jobs of a page of rows (the final annotations of completed jobs only)."""
    loads = orjson.loads
    completed = JobStatus.COMPLETED.value
    # tuple.__new__ builds the named tuple as ExportJob(...) does, without its Python-level
    # __new__ (a third of a microsecond, a million times).
    make = tuple.__new__
    for _seq, job_id, reference_id, batch_id, status, data, draft in rows:
        annotations = None
        if status == completed:
            annotations = None if draft is None else loads(draft)
            if annotations is None:
                annotations = notes.empty(base)
        yield make(ExportJob, (job_id, reference_id, batch_id, status, loads(data), annotations))


@asynccontextmanager
async def _sizer(
    needed: bool, outbound: Outbound | None, *, local_files: bool
) -> AsyncIterator[ImageSizer | None]:
    if not needed:
        yield None
        return
    if outbound is not None:
        yield ImageSizer(outbound, local_files=local_files)
        return
    # The command line (an operator's own machine): any host but the metadata service.
    own = Outbound(OPERATOR_POLICY, timeout=PROBE_TIMEOUT_SECONDS)
    try:
        yield ImageSizer(own, local_files=local_files)
    finally:
        await own.aclose()


async def _write(
    db: Database,
    source: _Source,
    spec: ExportSpec,
    path: Path,
    *,
    on_progress: Progress,
    outbound: Outbound | None,
    local_files: bool,
    now: datetime,
) -> Outcome:
    writer = open_writer(
        spec.format,
        path,
        base=source.base,
        classes=Classes(source.class_names),
        title=f"labelyard export of {source.name}",
        now=now,
    )
    try:
        sizer_context = _sizer(writer.needs_sizes, outbound, local_files=local_files)
        # On SQLite an IMAGE job's NDJSON line is spliced from the stored JSON text (orjson's
        # compact form, as the Json columns' serializer wrote it); PostgreSQL's jsonb text has
        # its own spacing, key order and number forms, so there every job is parsed.
        stored = (
            spec.format is Format.NDJSON
            and source.base is Base.IMAGE
            and db.is_sqlite
            and store.SPLICES_JSON
        )
        pages_context = aclosing(_pages(db, source, spec.statuses, stored=stored))
        async with sizer_context as sizer, pages_context as pages:
            return await write_export(pages, writer, sizer, on_progress=on_progress)
    except BaseException:
        writer.discard()
        raise


async def export_to_file(
    db: Database,
    *,
    project_id: object,
    format: object,
    out: Path,
    statuses: object = None,
    batch_id: object = None,
    on_progress: CliProgress | None = None,
) -> dict[str, Any]:
    """Export the project's jobs to ``out`` now (the command line; it may read local images).

    The file appears at ``out`` only when complete.
    """
    project = require_uuid(project_id, "project_id")
    spec = parse_spec(format=format, statuses=statuses, batch_id=batch_id)
    source = await _source(db, project_id=project, spec=spec)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.{secrets.token_hex(4)}.partial")

    async def progress(done: int, skipped: int) -> None:
        if on_progress is not None:
            on_progress(done, max(done, source.total_jobs), skipped)

    try:
        outcome = await _write(
            db,
            source,
            spec,
            partial,
            on_progress=progress,
            outbound=None,
            local_files=True,
            now=utcnow(),
        )
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    return {
        "path": str(out),
        "project_id": project,
        "format": spec.format.value,
        "batch_id": spec.batch_id,
        "statuses": list(spec.statuses),
        "done_jobs": outcome.done_jobs,
        "exported_jobs": outcome.exported_jobs,
        "skipped_jobs": outcome.skipped_jobs,
        "report": outcome.report.to_json(),
    }


class _Lock:
    """A worker's hold on one export: fenced updates that extend the lock."""

    def __init__(self, db: Database, row: Record, holding: datetime, seconds: float) -> None:
        self._db = db
        self._seconds = seconds
        self._project_id = row.project_id
        self._id = row.id
        self._holding = holding
        self._reported_jobs = 0
        self._reported_at = time.monotonic()

    async def update(self, *, final: bool = False, **values: Any) -> None:
        """Set columns of the export and extend the lock (or drop it, if ``final``)."""
        now = utcnow()
        lock = None if final else now + timedelta(seconds=self._seconds)
        async with self._db.write() as conn:
            held = await store.update_export(
                conn,
                project_id=self._project_id,
                id=self._id,
                holding=self._holding,
                locked_until=lock,
                updated_at=now,
                **values,
            )
        if not held:
            raise LostExport(self._id)
        if lock is not None:
            self._holding = lock

    async def progress(self, done: int, skipped: int) -> None:
        """Record progress every ``PROGRESS_EVERY_JOBS`` jobs or ``PROGRESS_EVERY_SECONDS``."""
        elapsed = time.monotonic() - self._reported_at
        if done - self._reported_jobs < PROGRESS_EVERY_JOBS and elapsed < PROGRESS_EVERY_SECONDS:
            return
        await self.update(done_jobs=done, skipped_jobs=skipped)
        self._reported_jobs, self._reported_at = done, time.monotonic()


async def _claim(db: Database, seconds: float) -> tuple[Record, datetime] | None:
    now = utcnow()
    lock = now + timedelta(seconds=seconds)
    async with db.write() as conn:
        row = await store.next_export(conn, now=now)
        if row is None:
            return None
        await store.update_export(
            conn,
            project_id=row.project_id,
            id=row.id,
            status=store.RUNNING,
            locked_until=lock,
            done_jobs=0,
            skipped_jobs=0,
            error=None,
            updated_at=now,
        )
    if row.status == store.RUNNING:
        log.warning("export %s: its worker stopped; starting it again", row.id)
    return row, lock


def _scratch(settings: Settings) -> Path:
    """Where exports are written before they go to the blob store (on the data dir's disk)."""
    folder = Path(settings.data_dir) / "tmp"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def sweep_scratch(settings: Settings) -> int:
    """Remove scratch folders that workers killed mid-export left behind; how many.

    Only folders where nothing was written for longer than the export lock: a live export
    writes its file all the time (and extends its lock far more often than that).
    """
    folder = Path(settings.data_dir) / "tmp"
    if not folder.is_dir():
        return 0
    cutoff = time.time() - max(settings.export_lock_seconds, 60.0)
    removed = 0
    for stale in folder.glob("export-*"):
        try:
            touched = max(p.stat().st_mtime for p in (stale, *stale.iterdir()))
        except OSError:
            continue  # gone meanwhile, or not a folder
        if touched < cutoff:
            shutil.rmtree(stale, ignore_errors=True)
            removed += 1
    return removed


async def run_next_export(
    db: Database, blobs: BlobStore, settings: Settings, outbound: Outbound
) -> bool:
    """Claim and run the next queued export (or one whose worker died); False if none."""
    claimed = await _claim(db, settings.export_lock_seconds)
    if claimed is None:
        return False
    row, holding = claimed
    lock = _Lock(db, row, holding, settings.export_lock_seconds)
    spec = ExportSpec(
        format=Format(row.format), statuses=tuple(row.statuses), batch_id=row.batch_id
    )
    extension = spec.format.extension
    try:
        source = await _source(db, project_id=row.project_id, spec=spec)
        await lock.update(total_jobs=source.total_jobs)
        with tempfile.TemporaryDirectory(dir=_scratch(settings), prefix="export-") as folder:
            path = Path(folder) / f"{row.id}.{extension}"
            outcome = await _write(
                db,
                source,
                spec,
                path,
                on_progress=lock.progress,
                outbound=outbound,
                local_files=False,
                now=utcnow(),
            )
            key = export_key(row.project_id, row.id, extension)
            # Still ours? (and a fresh lock for the upload): a worker that lost the export to
            # another must not overwrite the other's file.
            await lock.update(done_jobs=outcome.done_jobs, skipped_jobs=outcome.skipped_jobs)
            await blobs.put_file(key, path)
        await lock.update(
            final=True,
            status=store.DONE,
            total_jobs=outcome.done_jobs,
            done_jobs=outcome.done_jobs,
            skipped_jobs=outcome.skipped_jobs,
            report=outcome.report.to_json(),
            result_key=key,
            finished_at=utcnow(),
        )
    except LostExport:
        log.warning("export %s: another worker took it over; stopping", row.id)
    except Exception as exc:
        log.exception("export %s failed", row.id)
        message = (
            exc.message
            if isinstance(exc, LabelyardError)
            else f"internal error ({type(exc).__name__}); see the worker's log"
        )
        with suppress(LostExport):
            await lock.update(final=True, status=store.FAILED, error=message, finished_at=utcnow())
    return True
