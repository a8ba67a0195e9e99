"""``labelyard pull``: bring a whole project in from a hosted-API server (API.md section 3).

Reads the source project's details (3.3), walks each batch's pages (3.5, ``page_token`` to
``""``), and for each completed job reads its result: from a labelyard source with the page
itself (the ``/batch/{id}/results`` extension, found in its ``/openapi.json``: pages of 750
jobs, each completed job's result inline), or in one request (a labelyard with only the
``/jobs/{id}/result`` extension; its pages are then read 1,000 jobs at a time with the
``limit`` extension), else as the hosted API allows: the job
(3.6) for its result URL, ``/v1/attachments`` for the signed link, and the link (fetched
without the API key). The page carries everything else a job needs (status, reference id,
priority, tag), so jobs not completed cost no request. Mask PNGs (3.7) and point-segmentation
PCDs are copied through the attachment link the same way. Each page is written through
``services.pulls`` in one transaction. Jobs not completed at the source take their data from
``--data-from`` (the team's own create payloads, by ``reference_id``); without it they are
reported, not guessed.

Every request goes through ``labelyard.outbound.Outbound`` (kept-alive connections, pinned to
the checked address) with a policy that allows the host the operator named in ``--from`` (it
may be on their own network) and nothing private else. At most ``concurrency`` requests are in
flight across all jobs and batches; the next pages of a batch are read and their results
fetched while the page before is written. A 429 waits its ``Retry-After``, a 5xx or a dropped
connection is sent again after an exponential backoff.

Resumable: a checkpoint per batch (``<data dir>/pulls/<key>/``) holds the token of the next
page to bring in and the counts so far, written after each page's transaction commits (pages
are written in order). A run killed at any point and started again redoes at most the pages
it had read ahead; reference ids decide what is already here, so nothing is duplicated.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import logging
import os
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

import orjson

from labelyard.blobs import BlobStore
from labelyard.blobs.config import from_settings as blob_store
from labelyard.config import Settings
from labelyard.core import pull
from labelyard.core.ids import new_id, require_uuid
from labelyard.core.model import JobStatus, Project, rfc3339
from labelyard.core.pull import (
    ListedJob,
    PullRequest,
    SourceBatch,
    SourceError,
    SourceProject,
    SourceUnavailable,
)
from labelyard.errors import InvalidInput, LabelyardError, NotFound
from labelyard.outbound import Outbound, OutboundError, OutboundPolicy, OutboundUnreachable
from labelyard.secretbox import SecretBox, secret_box
from labelyard.services import pulls, utcnow
from labelyard.services.pulls import EXISTS, ImportItem
from labelyard.store import pulls as run_store
from labelyard.store.engine import Database

log = logging.getLogger("labelyard.pull")

DEFAULT_CONCURRENCY = 8
MAX_ATTEMPTS = 10
BACKOFF_SECONDS = 0.5
MAX_BACKOFF_SECONDS = 30.0
REQUEST_TIMEOUT_SECONDS = 60.0
MAX_JSON_BYTES = 64 * 1024 * 1024
MAX_FILE_BYTES = 256 * 1024 * 1024
PARALLEL_BATCHES = 4
READ_AHEAD_PAGES = 3
# A page with its results inline is one request: one page read ahead keeps the writer busy,
# and fewer pages in memory keep a pull's peak RSS down.
READ_AHEAD_INLINE_PAGES = 1
EXTENSION_PAGE_LIMIT = 1000
# Pages with their results inline: half as many jobs (a page's jobs, results and what its write
# builds are the pull's working memory; a request a page stays cheap).
INLINE_PAGE_LIMIT = 750
RESULT_EXTENSION = "/v1/projects/{project_id}/jobs/{job_id}/result"
RESULTS_EXTENSION = "/v1/projects/{project_id}/batch/{batch_id}/results"

Progress = Callable[[str, str, int, int], None]
"""Called with (batch id, batch name, jobs done, jobs expected) as a batch advances."""


@dataclass(slots=True)
class Checkpoint:
    """Where a batch's pull stands: the token of the next page to bring in, and counts."""

    page_token: str = ""
    finished: bool = False
    imported: int = 0
    completed: int = 0
    already: int = 0
    skipped: int = 0


@dataclass(slots=True)
class Summary:
    """What a pull did (or, dry, would do)."""

    source_project: str
    project_id: str = ""
    api_key: str | None = None
    dry_run: bool = False
    batches: int = 0
    jobs: int = 0
    # Brought in by this run (``imported`` counts every run of this pull).
    this_run: int = 0
    imported: int = 0
    completed: int = 0
    already: int = 0
    skipped: int = 0
    would_skip: int = 0
    waits: int = 0
    seconds: float = 0.0
    report: str = ""
    by_status: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class SourceDown(InvalidInput):
    """The source kept failing through every retry: the pull stopped where its checkpoints say
    and resumes when run again."""


class Source:
    """The hosted-API server, read through ``Outbound`` with retries (see the module)."""

    def __init__(self, outbound: Outbound, url: str, api_key: str, concurrency: int) -> None:
        self._out = outbound
        self.url = url.rstrip("/")
        self._key = api_key
        self._gate = asyncio.Semaphore(concurrency)
        self.waits = 0
        # A labelyard source (see ``detect``): a result in one request, pages of 1,000, or
        # pages of 750 with their results inline where the source has that extension.
        self.direct_results = False
        self.inline_results = False
        self.page_limit = 0

    async def detect(self) -> None:
        """Whether the source is a labelyard (its ``/openapi.json`` lists the result
        extensions); anything else is read as the hosted API allows."""
        try:
            status, body, _ = await self._get(
                f"{self.url}/openapi.json", keyed=False, max_bytes=MAX_JSON_BYTES, attempts=2
            )
            paths = orjson.loads(body).get("paths", {}) if status == 200 else {}
        except (SourceUnavailable, orjson.JSONDecodeError, AttributeError):
            paths = {}
        if isinstance(paths, dict) and RESULT_EXTENSION in paths:
            self.direct_results = True
            self.inline_results = RESULTS_EXTENSION in paths
            self.page_limit = INLINE_PAGE_LIMIT if self.inline_results else EXTENSION_PAGE_LIMIT

    async def _get(
        self, url: str, *, keyed: bool, max_bytes: int, attempts: int = MAX_ATTEMPTS
    ) -> tuple[int, bytes, str]:
        """(status, body, location) of a GET, after the retries a 429/5xx/no answer earn."""
        headers = {"x-api-key": self._key, "accept": "application/json"} if keyed else {}
        attempt = 0
        while True:
            async with self._gate:
                try:
                    reply = await self._out.request(
                        "GET",
                        url,
                        headers=headers,
                        timeout=REQUEST_TIMEOUT_SECONDS,
                        max_bytes=max_bytes,
                    )
                except OutboundUnreachable as exc:
                    problem, wait = str(exc), None
                else:
                    status = reply.status_code
                    if status != 429 and status < 500:
                        return status, reply.content, reply.headers.get("location", "")
                    problem = f"HTTP {status}"
                    wait = pull.retry_after(reply.headers.get("retry-after"), utcnow())
            attempt += 1
            if attempt >= attempts:
                raise SourceUnavailable(f"{_where(url)}: {problem}, {attempt} attempts") from None
            backoff = min(MAX_BACKOFF_SECONDS, BACKOFF_SECONDS * 2.0 ** (attempt - 1))
            backoff *= random.uniform(0.5, 1.0)
            self.waits += 1
            await asyncio.sleep(backoff if wait is None else max(wait, 0.05))

    async def data(self, path: str, what: str) -> Any:
        status, body, _ = await self._get(f"{self.url}{path}", keyed=True, max_bytes=MAX_JSON_BYTES)
        return pull.envelope(status, body, what)

    async def get(self, path: str, *, max_bytes: int) -> tuple[int, bytes, str]:
        """A keyed GET of ``path`` on the source (with the retries ``_get`` makes)."""
        return await self._get(f"{self.url}{path}", keyed=True, max_bytes=max_bytes)

    async def file(self, private_url: str, *, max_bytes: int) -> bytes:
        """A result or mask file: its signed link from ``/v1/attachments`` (with the key),
        then the link itself (without it: the key never goes to the file's host)."""
        asked = f"{self.url}/v1/attachments?url={quote(private_url, safe='')}"
        status, body, location = await self._get(asked, keyed=True, max_bytes=MAX_JSON_BYTES)
        if status not in (301, 302, 303, 307, 308) or not location:
            pull.envelope(status, body, f"attachment of {private_url}")
            raise SourceError(f"attachment of {private_url}: HTTP {status}, no redirect")
        link = urljoin(asked, location)
        status, body, _ = await self._get(link, keyed=False, max_bytes=max_bytes)
        if status != 200:
            raise SourceError(f"{_where(link)}: HTTP {status}")
        return body

    async def result(self, project_id: str, job_id: str) -> bytes:
        """A completed job's result document, in as few requests as the source allows."""
        if self.direct_results:
            path = RESULT_EXTENSION.format(project_id=project_id, job_id=job_id)
            status, body, _ = await self._get(
                f"{self.url}{path}", keyed=True, max_bytes=MAX_JSON_BYTES
            )
            if status != 200:
                pull.envelope(status, body, f"result of job {job_id}")
                raise SourceError(f"result of job {job_id}: HTTP {status}")
            return body
        url = pull.result_url(
            await self.data(f"/v1/projects/{project_id}/jobs/{job_id}", f"job {job_id}")
        )
        if not url:
            raise SourceError("completed at the source but its result URL is empty")
        return await self.file(url, max_bytes=MAX_JSON_BYTES)


def _where(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def source_policy(url: str) -> OutboundPolicy:
    """The operator's own command reaches the host they named (even a private one)."""
    host = urlsplit(url).hostname
    if urlsplit(url).scheme not in ("http", "https") or not host:
        raise InvalidInput(f"--from must be an http(s) URL, not {url!r}")
    return OutboundPolicy(allow=(host,))


def _key(url: str, project_id: str, into: str | None) -> str:
    seed = f"{url.rstrip('/')}\n{project_id}\n{into or ''}".encode()
    return hashlib.sha256(seed).hexdigest()[:16]


def _write_json(path: Path, value: Any) -> None:
    """Atomically: a crash leaves the old file or the new one, never half of one."""
    scratch = path.with_suffix(".tmp")
    scratch.write_bytes(orjson.dumps(value))
    with open(scratch, "rb+") as handle:
        os.fsync(handle.fileno())
    os.replace(scratch, path)


class _Run:
    def __init__(
        self,
        db: Database,
        blobs: BlobStore,
        settings: Settings,
        source: Source,
        *,
        project_id: str,
        into: str | None,
        data_from: Mapping[str, dict[str, Any]],
        on_progress: Progress | None,
    ) -> None:
        self.db, self.blobs, self.settings, self.source = db, blobs, settings, source
        self.source_project = project_id
        self.into = into
        self.data_from = data_from
        self.on_progress = on_progress
        self.folder = Path(settings.data_dir) / "pulls" / _key(source.url, project_id, into)
        self.base_url = settings.resolved_public_base_url()
        self.tags: dict[str, str] = {}
        self.tag_lock = asyncio.Lock()
        self.report_lock = asyncio.Lock()
        self.pages_written = 0

    # --- checkpoints -------------------------------------------------------------------

    def _checkpoint(self, batch_id: str) -> Checkpoint:
        path = self.folder / f"batch-{batch_id}.json"
        if not path.exists():
            return Checkpoint()
        return Checkpoint(**orjson.loads(path.read_bytes()))

    def _save(self, batch_id: str, point: Checkpoint) -> None:
        _write_json(self.folder / f"batch-{batch_id}.json", asdict(point))

    async def _skipped(self, lines: list[dict[str, Any]]) -> None:
        if not lines:
            return
        async with self.report_lock:
            with open(self.folder / "skipped.jsonl", "ab") as handle:
                handle.write(b"".join(orjson.dumps(line) + b"\n" for line in lines))

    async def destination(self, details: SourceProject) -> tuple[Project, str | None]:
        """The project this pull writes to: the one its first run chose or made."""
        self.folder.mkdir(parents=True, exist_ok=True)
        state = self.folder / "pull.json"
        if state.exists():
            chosen = orjson.loads(state.read_bytes())
            return await pulls.project_of(self.db, chosen["project_id"]), None
        project, key = await pulls.open_project(
            self.db, into=self.into, name=details.name, base=details.base
        )
        _write_json(
            state,
            {
                "source": self.source.url,
                "source_project": self.source_project,
                "project_id": project.id,
            },
        )
        return project, key

    # --- one batch -----------------------------------------------------------------------

    async def _tag(self, project: Project, tag: str) -> str:
        async with self.tag_lock:
            if tag not in self.tags:
                self.tags[tag] = await pulls.ensure_workflow(self.db, project, tag)
            return self.tags[tag]

    async def _item(
        self, project: Project, job: ListedJob, batch_id: str
    ) -> ImportItem | dict[str, Any]:
        """What to write for ``job``, or the report line of why not."""
        tag = await self._tag(project, job.tag)
        data = self.data_from.get(job.reference_id)
        imported = None
        files: dict[str, bytes] = {}
        if pull.completed(job):
            document: Any = job.result
            if document is None:
                raw = await self.source.result(self.source_project, job.id)
                try:
                    document = orjson.loads(raw)
                except orjson.JSONDecodeError:
                    return _line(job, "its result file is not JSON")
            imported = pull.from_result(project.base, document)
            if imported.mask_urls:
                got = await asyncio.gather(
                    *(self.source.file(u, max_bytes=MAX_FILE_BYTES) for _, u in imported.mask_urls)
                )
                pngs = {
                    index: base64.b64encode(png).decode()
                    for (index, _), png in zip(imported.mask_urls, got, strict=True)
                }
                imported = pull.with_masks(project.base, imported, pngs)
            if imported.segmentation_url:
                files[pulls.SEGMENTATION] = await self.source.file(
                    imported.segmentation_url, max_bytes=MAX_FILE_BYTES
                )
            if data is None:
                data = imported.data
        if data is None:
            return _line(job, "no data: not completed at the source and not in --data-from")
        body = pull.create_body(job, data, tag=tag, batch_id=batch_id)
        return ImportItem(body=body, status=job.status, imported=imported, files=files)

    def _ready(
        self, project: Project, job: ListedJob, batch_id: str, tag: str
    ) -> ImportItem | dict[str, Any] | None:
        """What ``_item`` gives for ``job`` when that needs no request (a result inline and no
        file to copy, or no result); None when it does."""
        data = self.data_from.get(job.reference_id)
        imported = None
        if pull.completed(job):
            if job.result is None:
                return None
            imported = pull.from_result(project.base, job.result)
            if imported.mask_urls or imported.segmentation_url:
                return None
            if data is None:
                data = imported.data
        if data is None:
            return _line(job, "no data: not completed at the source and not in --data-from")
        body = pull.create_body(job, data, tag=tag, batch_id=batch_id)
        return ImportItem(body=body, status=job.status, imported=imported)

    async def _outcomes(self, project: Project, page: pull.BatchPage, batch_id: str) -> list[Any]:
        """An outcome per job of ``page`` (``_item``'s, or the exception it raised): at once
        where nothing is to be fetched, else after the requests, side by side."""
        tags = {job.tag: "" for job in page.jobs}
        for name in tags:
            tags[name] = await self._tag(project, name)
        outcomes: list[Any] = []
        later: list[int] = []
        for i, job in enumerate(page.jobs):
            outcome: Any
            try:
                outcome = self._ready(project, job, batch_id, tags[job.tag])
            except Exception as exc:  # as gather's return_exceptions gives them to the writer
                outcome = exc
            if outcome is None:
                later.append(i)
            outcomes.append(outcome)
        if later:
            fetched = await asyncio.gather(
                *(self._item(project, page.jobs[i], batch_id) for i in later),
                return_exceptions=True,
            )
            for i, got in zip(later, fetched, strict=True):
                outcomes[i] = got
        return outcomes

    async def _read(
        self, project: Project, batch_id: str, source_id: str, token: str, queue: asyncio.Queue[Any]
    ) -> None:
        """Read the pages from ``token`` on, each with its jobs' results being fetched, into
        ``queue`` (at most ``READ_AHEAD_PAGES`` ahead of the writer, ``READ_AHEAD_INLINE_PAGES``
        with results inline); None after the last."""
        while True:
            page = await self._page(source_id, token, results=True)
            fetching = asyncio.ensure_future(self._outcomes(project, page, batch_id))
            await queue.put((page, fetching))
            token = page.next_token
            if not token:
                await queue.put(None)
                return

    async def batch(self, project: Project, source: SourceBatch, summary: Summary) -> None:
        point = self._checkpoint(source.id)
        done = point.imported + point.already + point.skipped
        self._progress(source, done)
        if point.finished:
            _add(summary, point)
            return
        batch_id = await pulls.ensure_batch(self.db, project, source)
        pages = READ_AHEAD_INLINE_PAGES if self.source.inline_results else READ_AHEAD_PAGES
        queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=pages)
        reader = asyncio.create_task(
            self._read(project, batch_id, source.id, point.page_token, queue)
        )
        try:
            await self._write(project, source, point, summary, queue, reader, done)
        finally:
            if not reader.done():
                reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader
            # Stop the fetches of pages read ahead when the writer stopped early.
            ahead = []
            while not queue.empty():
                entry = queue.get_nowait()
                if entry is not None:
                    entry[1].cancel()
                    ahead.append(entry[1])
            await asyncio.gather(*ahead, return_exceptions=True)
        _add(summary, point)

    async def _write(
        self,
        project: Project,
        source: SourceBatch,
        point: Checkpoint,
        summary: Summary,
        queue: asyncio.Queue[Any],
        reader: asyncio.Task[None],
        done: int,
    ) -> None:
        """Write the pages ``reader`` queues, in order, one transaction and checkpoint each."""
        while True:
            getting = asyncio.ensure_future(queue.get())
            await asyncio.wait({getting, reader}, return_when=asyncio.FIRST_COMPLETED)
            if not getting.done():
                getting.cancel()
                reader.result()  # the reader failed: raise its error
                continue
            entry = getting.result()
            if entry is None:
                return
            page, fetching = entry
            results = await fetching
            items: list[ImportItem] = []
            listed: list[ListedJob] = []
            lines: list[dict[str, Any]] = []
            for outcome in results:
                if isinstance(outcome, SourceUnavailable):
                    # Not this job's fault: stop with the page undone; a new run resumes here.
                    raise outcome
            for job, outcome in zip(page.jobs, results, strict=True):
                if isinstance(outcome, SourceError | OutboundError):
                    lines.append(_line(job, str(outcome)))
                elif isinstance(outcome, BaseException):
                    raise outcome
                elif isinstance(outcome, ImportItem):
                    items.append(outcome)
                    listed.append(job)
                else:
                    lines.append(outcome)
            written = await pulls.import_page(
                self.db, self.blobs, project, items, base_url=self.base_url
            )
            self.pages_written += 1
            if self.pages_written & (self.pages_written - 1) == 0:
                # After pages 1, 2, 4, 8...: the planner's figures are never off by more than
                # twice what this run has written (see ``refresh_statistics``).
                async with self.db.write() as conn:
                    await run_store.refresh_statistics(conn)
            for job, why in zip(listed, written, strict=True):
                if why is None:
                    point.imported += 1
                    summary.this_run += 1
                    point.completed += job.status == JobStatus.COMPLETED.value
                elif why == EXISTS:
                    point.already += 1
                else:
                    lines.append(_line(job, why))
            point.skipped += len(lines)
            await self._skipped(lines)
            point.page_token = page.next_token
            point.finished = not page.next_token
            self._save(source.id, point)
            done += len(page.jobs)
            self._progress(source, done)

    async def _page(self, batch_id: str, token: str, *, results: bool = False) -> pull.BatchPage:
        """A page of the batch; ``results``: with the results inline, where the source can."""
        results = results and self.source.inline_results
        path = f"/v1/projects/{self.source_project}/batch/{batch_id}"
        if results:
            path = RESULTS_EXTENSION.format(project_id=self.source_project, batch_id=batch_id)
        query = [f"limit={self.source.page_limit}"] if self.source.page_limit else []
        if token:
            query.append(f"page_token={quote(token, safe='')}")
        if query:
            path += "?" + "&".join(query)
        if not results:
            return pull.parse_page(await self.source.data(path, f"batch {batch_id}"))
        status, body, _ = await self.source.get(path, max_bytes=MAX_JSON_BYTES)
        return pull.parse_page(pull.document(status, body, f"batch {batch_id}"), results=True)

    def _progress(self, source: SourceBatch, done: int) -> None:
        if self.on_progress is not None:
            self.on_progress(source.id, source.name, done, source.total_jobs)

    # --- dry run -------------------------------------------------------------------------

    async def count(self, source: SourceBatch, summary: Summary) -> None:
        token = ""
        done = 0
        while True:
            page = await self._page(source.id, token)
            for job in page.jobs:
                summary.by_status[job.status] = summary.by_status.get(job.status, 0) + 1
                if not pull.completed(job) and job.reference_id not in self.data_from:
                    summary.would_skip += 1
            summary.jobs += len(page.jobs)
            done += len(page.jobs)
            self._progress(source, done)
            token = page.next_token
            if not token:
                return


def _line(job: ListedJob, why: str) -> dict[str, Any]:
    return {"job_id": job.id, "reference_id": job.reference_id, "status": job.status, "why": why}


def _add(summary: Summary, point: Checkpoint) -> None:
    summary.imported += point.imported
    summary.completed += point.completed
    summary.already += point.already
    summary.skipped += point.skipped


def _report(folder: Path, out: Path) -> int:
    """The skipped jobs, once each (the last reason wins), as JSON lines at ``out``."""
    lines: dict[str, bytes] = {}
    log_file = folder / "skipped.jsonl"
    if log_file.exists():
        for raw in log_file.read_bytes().splitlines():
            if raw.strip():
                lines[orjson.loads(raw)["reference_id"]] = raw
    out.write_bytes(b"".join(line + b"\n" for line in lines.values()))
    return len(lines)


async def pull_project(
    db: Database,
    settings: Settings,
    *,
    source_url: str,
    api_key: str,
    project_id: str,
    into: str | None = None,
    data_from: Mapping[str, dict[str, Any]] | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    dry_run: bool = False,
    report_dir: Path = Path(),
    on_progress: Progress | None = None,
    outbound: Outbound | None = None,
    blobs: BlobStore | None = None,
) -> Summary:
    """Pull (or, ``dry_run``, count) the source project ``project_id`` into labelyard."""
    if not 1 <= concurrency <= 256:
        raise InvalidInput("--concurrency must be from 1 to 256")
    started = time.monotonic()
    own = outbound is None
    out = outbound or Outbound(source_policy(source_url), timeout=REQUEST_TIMEOUT_SECONDS)
    source = Source(out, source_url, api_key, concurrency)
    run = _Run(
        db,
        blobs or blob_store(settings),
        settings,
        source,
        project_id=project_id,
        into=into,
        data_from=data_from or {},
        on_progress=on_progress,
    )
    summary = Summary(source_project=project_id, dry_run=dry_run)
    try:
        details = pull.parse_details(
            await source.data(f"/v1/projects/{project_id}/details", "project details")
        )
        summary.batches = len(details.batches)
        await source.detect()
        gate = asyncio.Semaphore(PARALLEL_BATCHES)

        async def one(batch: SourceBatch, work: Callable[..., Any]) -> None:
            async with gate:
                await work(batch, summary)

        if dry_run:
            await asyncio.gather(*(one(b, run.count) for b in details.batches))
        else:
            project, key = await run.destination(details)
            summary.project_id, summary.api_key = project.id, key

            async def batch(b: SourceBatch, s: Summary) -> None:
                await run.batch(project, b, s)

            await asyncio.gather(*(one(b, batch) for b in details.batches))
            summary.jobs = summary.imported + summary.already + summary.skipped
            report = report_dir / f"{project_id}.pull-report.jsonl"
            summary.skipped = _report(run.folder, report)
            summary.report = str(report)
    except SourceUnavailable as exc:
        raise SourceDown(f"the source: {exc}; run the pull again to resume") from None
    except (SourceError, OutboundError) as exc:
        raise InvalidInput(f"the source: {exc}") from None
    finally:
        summary.waits = source.waits
        summary.seconds = round(time.monotonic() - started, 3)
        if own:
            await out.aclose()
    return summary


# --- pulls queued through the admin API, run by ``labelyard worker`` ---------------------------

PULL_LOCK_SECONDS = 300.0
PULL_PROGRESS_SECONDS = 2.0


def _view(row: Any) -> dict[str, Any]:
    """A pull as the admin API shows it (never the source's API key)."""
    return {
        "migration_id": row.id,
        "source_url": row.source_url,
        "source_project": row.source_project,
        "into": row.into_project,
        "status": row.status,
        "project_id": row.project_id,
        "total_jobs": row.total_jobs,
        "done_jobs": row.done_jobs,
        "summary": row.summary,
        "error": row.error,
        "created_at": rfc3339(row.created_at),
        "finished_at": rfc3339(row.finished_at) if row.finished_at else None,
    }


async def queue_pull(db: Database, box: SecretBox, request: PullRequest) -> dict[str, Any]:
    """Queue a pull for a worker; the API key is sealed until the pull no longer needs it."""
    run_id = new_id()
    now = utcnow()
    async with db.write() as conn:
        await run_store.insert_run(
            conn,
            id=run_id,
            source_url=request.source_url,
            source_project=request.project,
            into_project=request.into,
            api_key_sealed=box.seal(request.api_key),
            data_from=list(request.data_from),
            concurrency=request.concurrency,
            status=run_store.QUEUED,
            total_jobs=0,
            done_jobs=0,
            created_at=now,
            updated_at=now,
        )
        row = await run_store.get_run(conn, id=run_id)
    return _view(row)


async def get_pull(db: Database, *, run_id: str) -> dict[str, Any]:
    """A queued, running or finished pull, with its progress."""
    async with db.read() as conn:
        row = await run_store.get_run(conn, id=require_uuid(run_id, "migration_id"))
    if row is None:
        raise NotFound(f"no migration {run_id}")
    return _view(row)


async def _claim_pull(db: Database) -> Any:
    now = utcnow()
    async with db.write() as conn:
        row = await run_store.next_run(conn, now=now)
        if row is None:
            return None
        await run_store.update_run(
            conn,
            id=row.id,
            status=run_store.RUNNING,
            locked_until=now + timedelta(seconds=PULL_LOCK_SECONDS),
            updated_at=now,
        )
    return row


async def run_next_pull(
    db: Database, blobs: BlobStore, settings: Settings, box: SecretBox | None = None
) -> bool:
    """Claim and run the next queued pull (or one whose worker died: it resumes from its
    checkpoints); False if there is none."""
    row = await _claim_pull(db)
    if row is None:
        return False
    box = box or secret_box(settings)
    done: dict[str, tuple[int, int]] = {}

    def progress(batch_id: str, name: str, count: int, total: int) -> None:
        done[batch_id] = (count, max(count, total))

    async def report() -> None:
        while True:
            await asyncio.sleep(PULL_PROGRESS_SECONDS)
            now = utcnow()
            async with db.write() as conn:
                await run_store.update_run(
                    conn,
                    id=row.id,
                    done_jobs=sum(d for d, _ in done.values()),
                    total_jobs=sum(t for _, t in done.values()),
                    locked_until=now + timedelta(seconds=PULL_LOCK_SECONDS),
                    updated_at=now,
                )

    reporter = asyncio.create_task(report())
    final: dict[str, Any]
    try:
        if row.api_key_sealed is None:
            raise InvalidInput("the source's API key is gone; queue the migration again")
        payloads = pull.data_lines("\n".join(orjson.dumps(p).decode() for p in row.data_from or []))
        summary = await pull_project(
            db,
            settings,
            source_url=row.source_url,
            api_key=box.open(row.api_key_sealed),
            project_id=row.source_project,
            into=row.into_project,
            data_from=payloads,
            concurrency=row.concurrency,
            report_dir=_report_dir(settings),
            on_progress=progress,
            blobs=blobs,
        )
        result = summary.to_json()
        result.pop("api_key", None)  # the new project's key is not kept anywhere
        final = {"status": run_store.DONE, "summary": result, "project_id": summary.project_id}
    except SourceDown as exc:
        # The source is down for now: the checkpoints keep the place; a later claim resumes.
        log.warning("migration %s: %s; will resume", row.id, exc)
        final = {"status": run_store.QUEUED}
    except Exception as exc:
        log.exception("migration %s failed", row.id)
        message = (
            exc.message
            if isinstance(exc, LabelyardError)
            else f"internal error ({type(exc).__name__}); see the worker's log"
        )
        final = {"status": run_store.FAILED, "error": message}
    finally:
        reporter.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reporter
    now = utcnow()
    if final["status"] != run_store.QUEUED:
        final |= {"api_key_sealed": None, "data_from": None, "finished_at": now}
    async with db.write() as conn:
        await run_store.update_run(
            conn,
            id=row.id,
            done_jobs=sum(d for d, _ in done.values()),
            total_jobs=sum(t for _, t in done.values()),
            locked_until=None,
            updated_at=now,
            **final,
        )
    return True


def _report_dir(settings: Settings) -> Path:
    folder = Path(settings.data_dir) / "pulls" / "reports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder
