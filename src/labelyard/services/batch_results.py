"""A page of a batch's jobs with their results inline: labelyard's extension
``GET /v1/projects/{project_id}/batch/{batch_id}/results``, what ``labelyard pull`` reads from a
labelyard source instead of one request per completed job.

The page is get-batch-jobs' ``data`` (API.md 3.5: the same fields, creation order, keyset
tokens, ``limit`` 1..1000, 100 by default), answered as itself, not in the envelope: as the
result file of ``/jobs/{job_id}/result``, annotation bodies never go inside an envelope's
``data`` (API.md section 1); errors are the envelope's, as anywhere. Each job carries
``result``: a completed job's result document, the bytes of its result file as they are (so a
pull copies them as they are), or
``null`` (not completed, or its file cannot be read now: read it then with
``/jobs/{job_id}/result``). Its tokens are get-batch-jobs' without a ``status`` filter (bound
to the batch): a client may go from one listing to the other between pages, as a pull resumed
from an older checkpoint does. A page also stops once its results reach
``MAX_PAGE_BYTES`` (then with a next token): a page always holds at least one job, so a single
larger result still comes through, alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import orjson

from labelyard.blobs import BlobNotFound, BlobStore
from labelyard.core import pagination
from labelyard.core.ids import require_uuid
from labelyard.core.model import JobStatus, Project
from labelyard.errors import NotFound
from labelyard.store import pulls as store
from labelyard.store.engine import Database

RESULTS_QUERY = pagination.query_of(())
"""The query a token of this listing is bound to: get-batch-jobs' with no filter."""

MAX_PAGE_BYTES = 8 * 1024 * 1024
READ_CHUNK = 64
"""Result files read at once (one thread hop for a chunk of a local store's files)."""


async def batch_results(
    db: Database,
    blobs: BlobStore,
    project: Project,
    *,
    batch_id: str,
    page_token: str | None,
    limit: str | None,
    token_key: bytes,
    base_url: str,
) -> bytes:
    """The whole answer: ``{"id", "project_id", "name", "jobs": [{"id", "reference_id",
    "status", "frames", "annotations", "priority_weight", "tag", "viewer_url", "result"}],
    "next_page_token"}``."""
    batch_id = require_uuid(batch_id, "batch_id")
    size = pagination.parse_limit(limit)
    after = pagination.decode_token(
        token_key, page_token or "", batch_id=batch_id, query=RESULTS_QUERY
    )
    async with db.read() as conn:
        page = await store.page_results(
            conn, project_id=project.id, batch_id=batch_id, after=after, limit=size + 1
        )
    if page is None:
        raise NotFound(f"no batch {batch_id} in this project")
    name, rows = page
    more = len(rows) > size
    rows = rows[:size]
    viewer = f"{base_url}/ui/projects/{project.id}/jobs/"
    items: list[bytes] = []
    total = 0
    for start in range(0, len(rows), READ_CHUNK):
        chunk = rows[start : start + READ_CHUNK]
        keys = [
            row.result_key if row.status == JobStatus.COMPLETED.value and row.result_key else None
            for row in chunk
        ]
        documents = await _read(blobs, keys)
        for row, document in zip(chunk, documents, strict=True):
            if items and document is not None and total + len(document) > MAX_PAGE_BYTES:
                more = True
                break
            listed = orjson.dumps(
                {
                    "id": row.id,
                    "reference_id": row.reference_id,
                    "status": row.status,
                    "frames": row.frames,
                    "annotations": row.annotations,
                    "priority_weight": row.priority_weight,
                    "tag": row.tag,
                    "viewer_url": viewer + row.id,
                }
            )
            inline = document if document is not None and _is_json(document) else b"null"
            items.append(listed[:-1] + b',"result":' + inline + b"}")
            total += len(listed) + len(inline)
        else:
            continue
        break
    next_token = ""
    if more and items:
        last = rows[len(items) - 1].seq
        next_token = pagination.encode_token(
            token_key, batch_id=batch_id, query=RESULTS_QUERY, position=last
        )
    head = orjson.dumps({"id": batch_id, "project_id": project.id, "name": name})
    tail = orjson.dumps(next_token)
    return b"".join(
        (
            head[:-1],
            b',"jobs":[',
            b",".join(items),
            b'],"next_page_token":',
            tail,
            b"}",
        )
    )


def _is_json(document: bytes) -> bool:
    """A file spliced into the answer must be one JSON value, or the whole page breaks."""
    try:
        orjson.loads(document)
    except orjson.JSONDecodeError:
        return False
    return True


async def _read(blobs: BlobStore, keys: Sequence[str | None]) -> list[bytes | None]:
    """The files under ``keys`` (None for no key or a file gone): a local store's in one
    thread hop, any other store's side by side."""
    local = await asyncio.to_thread(_read_local, blobs, keys)
    if local is not None:
        return local

    async def one(key: str | None) -> bytes | None:
        if key is None:
            return None
        try:
            return await blobs.get(key)
        except BlobNotFound:
            return None

    return list(await asyncio.gather(*(one(key) for key in keys)))


def _read_local(blobs: BlobStore, keys: Sequence[str | None]) -> list[bytes | None] | None:
    out: list[bytes | None] = []
    for key in keys:
        if key is None:
            out.append(None)
            continue
        path = blobs.local_path(key)
        if path is None:
            return None  # not a local store
        try:
            out.append(path.read_bytes())
        except FileNotFoundError:
            out.append(None)
    return out
