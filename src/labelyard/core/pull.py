"""Reading a hosted-API server's answers for ``labelyard pull`` (pure: no network, no database).

The source speaks API.md section 3: project details (3.3), batch job pages (3.5), a job (3.6)
and its result document (3.6, 3.7). These functions check the envelope, tolerate what the
hosted service may leave out (optional keys, ``next_page_token`` ``""`` or missing), and turn a
completed job's result back into the job's data and its annotations in labelyard's layout
(``core.annotations``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import orjson

from labelyard.core import annotations as notes
from labelyard.core.model import DEFAULT_PRIORITY, Base, JobStatus
from labelyard.errors import InvalidInput, MissingParameter

MAX_RETRY_AFTER_SECONDS = 300.0


class SourceError(Exception):
    """The source answered something that is not what API.md describes (final)."""


class SourceUnavailable(SourceError):
    """The source kept failing (5xx, 429, no answer) through every retry: stop, resume later."""


@dataclass(frozen=True, slots=True)
class SourceBatch:
    """A batch of the source project (API.md 3.3)."""

    id: str
    name: str
    description: str
    is_default: bool
    total_jobs: int
    completed_jobs: int


@dataclass(frozen=True, slots=True)
class SourceProject:
    """The source project's details."""

    name: str
    base: Base
    batches: tuple[SourceBatch, ...]


@dataclass(frozen=True, slots=True)
class ListedJob:
    """A job as a batch page lists it (API.md 3.5); ``result``, from a labelyard source's
    results page, the job's result document (None: not there, read it on its own)."""

    id: str
    reference_id: str
    status: str
    priority_weight: int
    tag: str
    result: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class BatchPage:
    """One page of a batch's jobs; ``next_token`` is ``""`` after the last page."""

    jobs: tuple[ListedJob, ...]
    next_token: str


@dataclass(frozen=True, slots=True)
class Imported:
    """A completed job's data and annotations, recovered from its result document.

    ``mask_urls`` are the result's mask PNGs (index in ``annotation_data.annotations``, URL),
    to be fetched and inlined (``with_masks``) before the result is written;
    ``segmentation_url`` a point-segmentation result's PCD (``annotation_data.url``), to be
    copied and linked (``with_segmentation``).
    """

    data: dict[str, Any]
    annotations: Any
    result: dict[str, Any]
    mask_urls: tuple[tuple[int, str], ...] = field(default_factory=tuple)
    segmentation_url: str = ""


def envelope(status: int, body: bytes, what: str) -> Any:
    """``data`` of a successful answer; ``SourceError`` naming ``what`` for anything else."""
    try:
        document = orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        document = None
    if not isinstance(document, dict):
        raise SourceError(f"{what}: HTTP {status}, not a JSON envelope")
    if status == 200 and document.get("success") is True:
        return document.get("data")
    error = document.get("error")
    if isinstance(error, dict):
        raise SourceError(f"{what}: HTTP {status} {error.get('code')}: {error.get('message')}")
    raise SourceError(f"{what}: HTTP {status}, success is not true")


def document(status: int, body: bytes, what: str) -> Any:
    """A labelyard extension's answer that is a JSON document itself (not in the envelope);
    its errors are the envelope's (``SourceError`` naming ``what``)."""
    if status != 200:
        envelope(status, body, what)
        raise SourceError(f"{what}: HTTP {status}")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        raise SourceError(f"{what}: HTTP {status}, not JSON") from None


def _obj(value: object, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise SourceError(f"{what} is not an object")
    return value


def _str(value: object, what: str, *, default: str | None = None) -> str:
    if value is None and default is not None:
        return default
    if not isinstance(value, str):
        raise SourceError(f"{what} is not a string")
    return value


def _int(value: object, default: int) -> int:
    return value if type(value) is int else default


def parse_details(data: object) -> SourceProject:
    """API.md 3.3: the project's name, base and batches."""
    body = _obj(data, "project details")
    try:
        base = Base(_str(body.get("base"), "project base"))
    except ValueError:
        raise SourceError(f"project base {body.get('base')!r} is not one labelyard knows") from None
    batches = []
    for i, item in enumerate(body.get("batches") or []):
        batch = _obj(item, f"batches[{i}]")
        batches.append(
            SourceBatch(
                id=_str(batch.get("id"), f"batches[{i}].id"),
                name=_str(batch.get("name"), f"batches[{i}].name"),
                description=_str(batch.get("description"), "description", default=""),
                is_default=batch.get("is_default") is True,
                total_jobs=_int(batch.get("total_jobs"), 0),
                completed_jobs=_int(batch.get("completed_jobs"), 0),
            )
        )
    name = _str(body.get("name"), "project name", default="pulled project") or "pulled project"
    return SourceProject(name=name, base=base, batches=tuple(batches))


def parse_page(data: object, *, results: bool = False) -> BatchPage:
    """API.md 3.5: a page of jobs and the token of the next (``""`` or absent: the last).
    ``results``: the page of labelyard's results extension, each job with ``result`` (its
    result document, or ``null``); anything there but an object is read as ``null``."""
    body = _obj(data, "batch page")
    jobs = []
    for i, item in enumerate(body.get("jobs") or []):
        job = _obj(item, f"jobs[{i}]")
        priority = _int(job.get("priority_weight"), DEFAULT_PRIORITY)
        result = job.get("result") if results else None
        jobs.append(
            ListedJob(
                id=_str(job.get("id"), f"jobs[{i}].id"),
                reference_id=_str(job.get("reference_id"), f"jobs[{i}].reference_id"),
                status=_str(job.get("status"), f"jobs[{i}].status"),
                priority_weight=priority if 1 <= priority <= 10 else DEFAULT_PRIORITY,
                tag=_str(job.get("tag"), f"jobs[{i}].tag", default=""),
                result=result if isinstance(result, dict) else None,
            )
        )
    token = body.get("next_page_token")
    return BatchPage(jobs=tuple(jobs), next_token=token if isinstance(token, str) else "")


def result_url(data: object) -> str:
    """API.md 3.6: the private URL of a job's result (``""`` when it has none)."""
    body = _obj(data, "job")
    value = body.get("result")
    return value if isinstance(value, str) else ""


def retry_after(value: str | None, now: datetime) -> float | None:
    """The seconds a ``Retry-After`` header asks for (seconds or an HTTP date), capped."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - now).total_seconds()
    if not math.isfinite(seconds):
        return None
    return min(MAX_RETRY_AFTER_SECONDS, max(0.0, seconds))


def from_result(base: Base, document: object) -> Imported:
    """A completed job's data and annotations, from its result document (API.md 3.6, 3.7)."""
    result = _obj(document, "result")
    body = _obj(result.get("data"), "result data")
    entries_of = body.get("annotation_data")
    entries = _obj(entries_of, "annotation_data").get("annotations") if entries_of else None
    if notes.uses_tracks(base):
        key = "video_data" if base is Base.VIDEO else "sensor_data"
        media = _obj(body.get(key), f"result {key}")
        trackers = entries if isinstance(entries, list) else []
        segmentation = ""
        if base is Base.POINT_CLOUD_SEGMENTATION and entries_of:
            url = entries_of.get("url")
            if url is not None and (not isinstance(url, str) or not url):
                raise SourceError("result point segmentation url is not a URL")
            segmentation = url or ""
        return Imported(
            data={key: media},
            annotations=list(trackers),
            result=result,
            segmentation_url=segmentation,
        )
    annotations: dict[str, Any] = notes.empty(base)
    shapes = body.get("annotations")
    if isinstance(shapes, dict):
        for name in notes.IMAGE_KEYS:
            if isinstance(shapes.get(name), list):
                annotations[name] = list(shapes[name])
    if "video_data" in body:
        data: dict[str, Any] = {"video_data": _obj(body["video_data"], "result video_data")}
    else:
        data = {"image_url": _str(body.get("image_url"), "result image_url")}
    masks: list[tuple[int, str]] = []
    if base is Base.SEGMENTATION and isinstance(entries, list):
        for index, entry in enumerate(entries):
            url = entry.get("url") if isinstance(entry, dict) else None
            if not isinstance(url, str) or not url:
                raise SourceError(f"result mask {index} has no url")
            masks.append((index, url))
    return Imported(data=data, annotations=annotations, result=result, mask_urls=tuple(masks))


def with_masks(base: Base, imported: Imported, pngs: Mapping[int, str]) -> Imported:
    """``imported`` with each mask's PNG (base64, by index) in its annotations and its result
    (in place of the source's ``url``: the destination stores the PNG and links its own)."""
    if not imported.mask_urls:
        return imported
    body = imported.result["data"]
    entries = body["annotation_data"]["annotations"]
    inlined = [
        {**{k: v for k, v in entry.items() if k != "url"}, "png": pngs[i]}
        for i, entry in enumerate(entries)
    ]
    result = {**imported.result, "data": {**body, "annotation_data": {"annotations": inlined}}}
    masks = [
        {
            "_id": entry.get("_id", f"m{i + 1}"),
            "attributes": entry.get("attributes", {}),
            "frame_id": entry.get("frame_id", "0"),
            "track_id": entry.get("track_id", entry.get("_id", f"m{i + 1}")),
            "legend": entry.get("legend", {}),
            "png": entry["png"],
        }
        for i, entry in enumerate(inlined)
    ]
    annotations = {**imported.annotations, notes.MASKS: masks}
    return Imported(data=imported.data, annotations=annotations, result=result)


def with_segmentation(imported: Imported, url: str) -> Imported:
    """``imported`` with its point-segmentation PCD linked at ``url`` (the destination's copy)
    in place of the source's."""
    body = imported.result["data"]
    entries = {**body["annotation_data"], "url": url}
    result = {**imported.result, "data": {**body, "annotation_data": entries}}
    return Imported(data=imported.data, annotations=imported.annotations, result=result)


def create_body(
    job: ListedJob, data: Mapping[str, Any], *, tag: str, batch_id: str
) -> dict[str, Any]:
    """The create body (API.md 3.2) that re-creates ``job`` in the destination batch."""
    return {
        "reference_id": job.reference_id,
        "data": dict(data),
        "tag": tag,
        "batch_id": batch_id,
        "priority_weight": job.priority_weight,
    }


def completed(job: ListedJob) -> bool:
    """True when the source has a result for ``job``."""
    return job.status == JobStatus.COMPLETED.value


class Payloads(Mapping[str, dict[str, Any]]):
    """``--data-from``'s job data by ``reference_id``, each kept as its JSON text and read
    when asked for: a project's worth of payloads held in a fraction of the memory of the
    objects (a pull of 100,000 jobs keeps its peak RSS under 150 MB)."""

    def __init__(self) -> None:
        self._raw: dict[str, str] = {}

    def __getitem__(self, reference: str) -> dict[str, Any]:
        data: dict[str, Any] = orjson.loads(self._raw[reference])
        return data

    def __contains__(self, reference: object) -> bool:
        return reference in self._raw

    def __iter__(self) -> Iterator[str]:
        return iter(self._raw)

    def __len__(self) -> int:
        return len(self._raw)


def data_lines(text: str | Iterable[str]) -> Payloads:
    """``--data-from``: JSON lines of create payloads (a string, or lines as a file gives
    them), keyed by ``reference_id`` (their ``data``); ``SourceError`` naming the line of
    anything else."""
    payloads = Payloads()
    lines = text.splitlines() if isinstance(text, str) else text
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise SourceError(f"line {number}: not JSON ({exc})") from None
        if not isinstance(item, dict):
            raise SourceError(f"line {number}: not a JSON object")
        reference = item.get("reference_id")
        if not isinstance(reference, str) or not reference:
            raise SourceError(f"line {number}: no reference_id")
        data = item.get("data")
        if not isinstance(data, dict) or not data:
            raise SourceError(f"line {number}: no data object")
        # As a str: a copy of its own size (orjson's bytes keep the room of its buffer).
        payloads._raw[reference] = orjson.dumps(data).decode()
    return payloads


MAX_CONCURRENCY = 256


@dataclass(frozen=True, slots=True)
class PullRequest:
    """A pull to run (``POST /admin/v1/migrations``; the CLI's options)."""

    source_url: str
    api_key: str
    project: str
    into: str | None = None
    concurrency: int = 8
    data_from: tuple[dict[str, Any], ...] = ()


def parse_pull_request(body: object) -> PullRequest:
    """``{"source_url", "api_key", "project", "into"?, "concurrency"?, "data_from"?}``
    (``data_from``: create payloads); ``InvalidInput`` / ``MissingParameter`` naming the field."""
    if not isinstance(body, dict):
        raise InvalidInput("body must be a JSON object")
    for name in ("source_url", "api_key", "project"):
        if body.get(name) in (None, ""):
            raise MissingParameter(f"{name} is required")
        if not isinstance(body[name], str):
            raise InvalidInput(f"{name} must be a string")
    url = body["source_url"].rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput("source_url must be an http(s) URL of the source server")
    into = body.get("into")
    if into is not None and not isinstance(into, str):
        raise InvalidInput("into must be a project id")
    concurrency = body.get("concurrency", 8)
    if type(concurrency) is not int or not 1 <= concurrency <= MAX_CONCURRENCY:
        raise InvalidInput(f"concurrency must be an integer from 1 to {MAX_CONCURRENCY}")
    payloads = body.get("data_from") or []
    if not isinstance(payloads, list):
        raise InvalidInput("data_from must be a list of create payloads")
    lines = "\n".join(orjson.dumps(item).decode() for item in payloads)
    try:
        data_lines(lines)
    except SourceError as exc:
        raise InvalidInput(f"data_from: {exc}") from None
    return PullRequest(
        source_url=url,
        api_key=body["api_key"],
        project=body["project"],
        into=into or None,
        concurrency=concurrency,
        data_from=tuple(payloads),
    )
