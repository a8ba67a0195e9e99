"""``Client``: one method per labelyard API call, over one ``httpx.Client``.

Retries: a call that gets no answer (connect failure, timeout, dropped connection), a 429 or a
5xx is sent again, up to ``retries`` times, after an exponential backoff with jitter; an
answer's ``Retry-After`` is waited out in full. Job creates are safe to send again: an identical
replay of a ``reference_id`` answers the job the first attempt made (API.md 3.2). A batch create
is not (its name is taken by the first attempt), so it is sent again only when it surely never
reached the server: a failed connect, or a 429.

The client is safe to share between threads (``httpx.Client`` is).
"""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from itertools import islice
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx

from labelyard import __version__
from labelyard.client.errors import (
    INVALID_RESPONSE,
    LabelyardError,
    error_of,
    translate,
    translated,
)
from labelyard.client.models import (
    BatchJob,
    BulkOutcome,
    CreatedJob,
    ItemError,
    Job,
    ProjectDetails,
    ProjectStats,
)
from labelyard.core.model import Base
from labelyard.core.schema import LabelSchema, parse_schema

DEFAULT_TIMEOUT_SECONDS = 60.0
DEFAULT_RETRIES = 4
DEFAULT_BACKOFF_SECONDS = 0.5
MAX_BACKOFF_SECONDS = 30.0
MAX_BULK_JOBS = 10_000  # per bulk create call (API.md 4)
DEFAULT_CHUNK_SIZE = 2_000
MAX_PAGE_SIZE = 1_000  # the largest batch listing page (API.md 3.5)
USER_AGENT = f"labelyard-client/{__version__}"

# Errors after which the request surely never reached the server.
_UNSENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# Errors worth another attempt when the request may be sent twice.
_TRANSIENT = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


def _retry_after(response: httpx.Response) -> float | None:
    """The seconds a ``Retry-After`` header asks for (a number or an HTTP date), if any."""
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _data(response: httpx.Response) -> Any:
    """``data`` of a successful envelope; a ``LabelyardError`` for anything else."""
    if response.status_code == 200:
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and body.get("success") is True:
            return body.get("data")
    raise error_of(response)


def _chunks(items: Iterable[Mapping[str, Any]], size: int) -> Iterator[list[Mapping[str, Any]]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


class Client:
    """A labelyard server, reached with one account's API key.

    ``Client("http://127.0.0.1:8080", "ly_...")``; use it as a context manager, or ``close()``
    it. ``transport`` replaces the network (``httpx.MockTransport`` in tests).
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        retries: int = DEFAULT_RETRIES,
        backoff: float = DEFAULT_BACKOFF_SECONDS,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._auth = {"x-api-key": api_key}
        self._retries = retries
        self._backoff = backoff
        self._http = httpx.Client(
            base_url=base_url,
            timeout=timeout,
            transport=transport,
            headers={"user-agent": USER_AGENT},
        )

    def close(self) -> None:
        """Close the connections."""
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # The public API (API.md 3) and labelyard's extensions (API.md 4).

    def create_batch(
        self,
        project_id: str,
        name: str,
        *,
        description: str | None = None,
        label: str | None = None,
    ) -> str:
        """Create a batch; its id. A name already used answers ``BATCH_CREATION``."""
        body = {"name": name, "description": description, "label": label}
        data = self._call(
            "POST",
            f"/v1/projects/{project_id}/batch",
            json={k: v for k, v in body.items() if v is not None},
            idempotent=False,
        )
        return str(data["batch_id"])

    def ensure_batch(self, project_id: str, name: str) -> str:
        """The id of the batch called ``name``, which is created if there is none."""
        found = self.project_details(project_id).batch_named(name)
        if found is None:
            try:
                return self.create_batch(project_id, name)
            except LabelyardError as exc:
                if exc.code != "BATCH_CREATION":
                    raise
                # Made meanwhile by someone else (or by an attempt whose answer was lost).
                found = self.project_details(project_id).batch_named(name)
                if found is None:
                    raise
        return found.id

    def create_job(
        self,
        project_id: str,
        reference_id: str,
        data: Mapping[str, Any],
        *,
        work_flow_id: str | None = None,
        tag: str | None = None,
        batch_id: str | None = None,
        priority_weight: int | None = None,
        job_type: str | None = None,
    ) -> CreatedJob:
        """Create a job in the workflow named by ``work_flow_id`` or ``tag`` (one is needed).

        An identical create of the same ``reference_id`` answers the existing job; a different
        one raises ``FS_0001``.
        """
        body = {
            "reference_id": reference_id,
            "data": data,
            "work_flow_id": work_flow_id,
            "tag": tag,
            "batch_id": batch_id,
            "priority_weight": priority_weight,
            "type": job_type,
        }
        reply = self._call(
            "POST",
            f"/v1/projects/{project_id}/jobs",
            json={k: v for k, v in body.items() if v is not None},
        )
        return CreatedJob.from_json(reply)

    def create_jobs(
        self,
        project_id: str,
        jobs: Iterable[Mapping[str, Any]],
        *,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
    ) -> list[BulkOutcome]:
        """Create many jobs (create bodies as in API.md 3.2), ``chunk_size`` a call.

        One outcome per job, in order: created, already there, or rejected with its reason;
        a rejected job does not stop the others. A chunk the server finds too large (413) is
        sent again in halves.
        """
        if not 1 <= chunk_size <= MAX_BULK_JOBS:
            raise ValueError(f"chunk_size must be 1..{MAX_BULK_JOBS}")
        outcomes: list[BulkOutcome] = []
        for chunk in _chunks(jobs, chunk_size):
            outcomes += self._create_chunk(project_id, chunk)
        return outcomes

    def _create_chunk(
        self, project_id: str, chunk: list[Mapping[str, Any]], *, path: str = ""
    ) -> list[BulkOutcome]:
        """One bulk call (``path``: the bulk create's by default), halved on a 413."""
        path = path or f"/v1/projects/{project_id}/jobs/bulk"
        try:
            data = self._call("POST", path, json={"jobs": chunk})
        except LabelyardError as exc:
            if exc.status != 413:
                raise
            if len(chunk) == 1:  # this one job is over the server's body limit on its own
                reference_id = chunk[0].get("reference_id")
                return [
                    BulkOutcome(
                        reference_id=reference_id if isinstance(reference_id, str) else None,
                        error=ItemError(exc.code, exc.message),
                    )
                ]
            half = len(chunk) // 2
            return self._create_chunk(project_id, chunk[:half], path=path) + self._create_chunk(
                project_id, chunk[half:], path=path
            )
        return [BulkOutcome.from_json(item) for item in data["results"]]

    def project_details(self, project_id: str) -> ProjectDetails:
        """The project, its batches and their counters."""
        return ProjectDetails.from_json(self._call("GET", f"/v1/projects/{project_id}/details"))

    def create_completed_jobs(
        self, project_id: str, jobs: Iterable[Mapping[str, Any]], *, chunk_size: int = 1000
    ) -> list[BulkOutcome]:
        """Create jobs completed at once: each a create body plus ``annotations`` (labelyard's
        layout), ``chunk_size`` a call; an outcome per job, in order, as ``create_jobs``."""
        outcomes: list[BulkOutcome] = []
        path = f"/v1/projects/{project_id}/jobs/completed"
        for chunk in _chunks(jobs, min(chunk_size, MAX_BULK_JOBS)):
            outcomes += self._create_chunk(project_id, chunk, path=path)
        return outcomes

    def label_schema(self, project_id: str) -> tuple[Base, LabelSchema]:
        """The project's base and label schema (``core.schema``: its classes, attributes)."""
        base = Base(self._call("GET", f"/v1/projects/{project_id}/details")["base"])
        data = self._call("GET", f"/v1/projects/{project_id}/schema")
        return base, parse_schema(data["schema"], base)

    def project_stats(self, project_id: str) -> ProjectStats:
        """The project's totals over all its batches."""
        return ProjectStats.from_json(self._call("GET", f"/v1/projects/{project_id}/stats"))

    def job(self, project_id: str, job_id: str) -> Job:
        """A job, with its result URL once it is completed."""
        return Job.from_json(self._call("GET", f"/v1/projects/{project_id}/jobs/{job_id}"))

    def job_by_reference(self, project_id: str, reference_id: str) -> Job:
        """The job with this ``reference_id`` (say, after a create whose answer was lost)."""
        path = f"/v1/projects/{project_id}/jobs"
        return Job.from_json(self._call("GET", path, params={"reference_id": reference_id}))

    def batch_jobs(
        self,
        project_id: str,
        batch_id: str,
        *,
        status: str | None = None,
        page_size: int = MAX_PAGE_SIZE,
    ) -> Iterator[BatchJob]:
        """Every job of a batch in creation order, page after page; ``status`` filters
        (one status or a comma-separated list). Jobs created meanwhile come once, at the end."""
        params = {"limit": str(page_size)} | ({"status": status} if status else {})
        path = f"/v1/projects/{project_id}/batch/{batch_id}"
        token = ""
        while True:
            page = self._call("GET", path, params=params | {"page_token": token})
            for item in page["jobs"]:
                yield BatchJob.from_json(item)
            token = page["next_page_token"]
            if not token:
                return

    def analytics(
        self, project_id: str, *, since: str | None = None, until: str | None = None
    ) -> dict[str, Any]:
        """The project's analytics over a range of UTC days (``YYYY-MM-DD``; default: the last
        30 days): workers, days, batches, progress (docs/quality.md)."""
        params = {k: v for k, v in (("since", since), ("until", until)) if v}
        found: dict[str, Any] = self._call(
            "GET", f"/v1/projects/{project_id}/analytics", params=params
        )
        return found

    def analytics_csv(
        self,
        project_id: str,
        table: str,
        *,
        since: str | None = None,
        until: str | None = None,
    ) -> str:
        """``workers`` or ``batches`` figures as CSV text."""
        params = {k: v for k, v in (("since", since), ("until", until)) if v}
        path = f"/v1/projects/{project_id}/analytics/{table}.csv"
        reply = self._send("GET", path, params=params)
        if reply.status_code != 200:
            raise error_of(reply)
        return reply.text

    def audit(self, project_id: str) -> Iterator[dict[str, Any]]:
        """The audit log of the project and its account, newest first, page after page."""
        path = f"/v1/projects/{project_id}/audit"
        token = ""
        while True:
            page = self._call("GET", path, params={"limit": "1000", "page_token": token})
            yield from page["entries"]
            token = page["next_page_token"]
            if not token:
                return

    def result(self, project_id: str, job_id: str) -> dict[str, Any]:
        """The result JSON of a completed job, fetched through its signed link (API.md 3.6).

        A job without a result raises ``resource_error`` (404), as the server's own
        ``.../result`` route does.
        """
        link = self.result_link(self._result_url(project_id, job_id))
        with self._stream(link) as reply, translated():
            content = reply.read()
        try:
            result = json.loads(content)
        except ValueError:
            result = None
        if not isinstance(result, dict):
            raise LabelyardError(INVALID_RESPONSE, "the result is not a JSON object", 200)
        return result

    def download_result(self, project_id: str, job_id: str, path: str | os.PathLike[str]) -> Path:
        """Save a completed job's result JSON at ``path``, which appears only once complete
        (it is written next to it as ``<name>.part``, then renamed)."""
        target = Path(path)
        partial = target.with_name(target.name + ".part")
        link = self.result_link(self._result_url(project_id, job_id))
        try:
            with self._stream(link) as reply, partial.open("wb") as out, translated():
                for chunk in reply.iter_bytes():
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.replace(partial, target)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        return target

    def result_link(self, url: str) -> str:
        """A short-lived signed link to a result URL the server issued (``/v1/attachments``)."""
        reply = self._send("GET", "/v1/attachments", params={"url": url})
        location = reply.headers.get("location")
        if reply.status_code not in (301, 302, 303, 307, 308) or not location:
            _data(reply)  # raises the error the server answered
            raise LabelyardError(
                INVALID_RESPONSE, "no redirect to a signed link", reply.status_code
            )
        return str(location)

    def _result_url(self, project_id: str, job_id: str) -> str:
        job = self.job(project_id, job_id)
        if not job.result:
            message = f"the job is {job.status}; it has no result yet"
            raise LabelyardError("resource_error", message, 404)
        return job.result

    # Sending, retrying, reading the envelope.

    def _call(self, method: str, path: str, *, idempotent: bool = True, **kwargs: Any) -> Any:
        """``data`` of an API call's envelope."""
        return _data(self._send(method, path, idempotent=idempotent, **kwargs))

    @contextmanager
    def _stream(self, link: str) -> Iterator[httpx.Response]:
        """A successful answer from a signed link (no API key is sent), its body unread."""
        reply = self._send("GET", link, auth=False, stream=True)
        try:
            if reply.status_code != 200:
                with translated():
                    reply.read()
                raise error_of(reply)
            yield reply
        finally:
            reply.close()

    def _send(
        self,
        method: str,
        url: str,
        *,
        idempotent: bool = True,
        auth: bool = True,
        stream: bool = False,
        **kwargs: Any,
    ) -> httpx.Response:
        """The answer to a request, sent again on a transient failure (see the module doc)."""
        headers = self._auth if auth else None
        attempt = 0
        while True:
            request = self._http.build_request(method, url, headers=headers, **kwargs)
            try:
                reply = self._http.send(request, stream=stream)
            except _TRANSIENT as exc:
                if attempt >= self._retries or not (idempotent or isinstance(exc, _UNSENT)):
                    raise translate(exc) from exc
                time.sleep(self._delay(attempt, None))
            except httpx.HTTPError as exc:
                raise translate(exc) from exc
            else:
                status = reply.status_code
                retryable = status == 429 or (idempotent and 500 <= status <= 599)
                if not retryable or attempt >= self._retries:
                    return reply
                reply.close()
                time.sleep(self._delay(attempt, _retry_after(reply)))
            attempt += 1

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        """Exponential backoff with jitter; never less than what ``Retry-After`` asked."""
        backoff = min(MAX_BACKOFF_SECONDS, self._backoff * 2.0**attempt) * random.uniform(0.5, 1.0)
        return backoff if retry_after is None else max(retry_after, backoff)
