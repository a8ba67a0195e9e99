"""NDJSON: one line per job, ``{"job_id", "reference_id", "batch_id", "status", "data",
"result"}``, ``result`` being the job's result document (API.md 3.6) or null."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

import orjson

from labelyard.core.annotations import empty, empty_image, result_document
from labelyard.core.model import Base, JobStatus
from labelyard.exports.sizes import ImageSize
from labelyard.exports.writer import BUFFER_BYTES, ExportJob

_COMPLETED = orjson.dumps(JobStatus.COMPLETED.value)
_SHAPES = tuple(empty_image())
_EMPTY = orjson.dumps(empty_image())
_EMPTY_CLASSIFICATIONS = b',"classifications":[]}'
_ALL_KEYS = ",".join(f"{key}:array" for key in (*_SHAPES, "classifications"))
# A draft's keys (as json_each lists them) that are the first shapes in result_document's
# order, each a list; their text becomes the result's annotations with its last "}" replaced by
# this: the shapes it lacks, empty.
_SUFFIXES = {
    ",".join(f"{key}:array" for key in _SHAPES[:n]): b"".join(
        b',"%s":[]' % key.encode() for key in _SHAPES[n:]
    )
    + b"}"
    for n in range(1, len(_SHAPES) + 1)
}

# Keys of IMAGE annotations that are the first shapes in result_document's order (none, some or
# all): the shapes they lack, empty (tuples: shared, and encoded as empty lists).
_MISSING: dict[tuple[str, ...], dict[str, tuple[()]]] = {
    _SHAPES[:n]: dict.fromkeys(_SHAPES[n:], ()) for n in range(len(_SHAPES) + 1)
}


class NdjsonWriter:
    """Writes one JSON document per line; works for every project base."""

    needs_sizes = False

    def __init__(self, path: Path, *, base: Base) -> None:
        self._base = base
        self._out: IO[bytes] = path.open("wb", buffering=BUFFER_BYTES)

    def write(self, job: ExportJob, size: ImageSize | None) -> None:
        """Add one line."""
        self._out.write(self._line(job))

    def _line(self, job: ExportJob) -> bytes:
        annotations = job.annotations
        data = job.data
        if annotations is None:
            result = None
        elif (
            self._base is Base.IMAGE
            and type(annotations) is dict
            and type(data) is dict
            and (missing := _MISSING.get(tuple(annotations))) is not None
            and all(type(shapes) is list for shapes in annotations.values())
        ):
            # The annotations are the first shapes in result_document's order, each a list
            # (the usual {"rectangles": [...]}): its document, without copying each list.
            full = {**annotations, **missing} if missing else annotations
            result = {"data": {"annotations": full, "image_url": data.get("image_url")}}
        else:
            result = result_document(self._base, data, annotations)
        line = {
            "job_id": job.job_id,
            "reference_id": job.reference_id,
            "batch_id": job.batch_id,
            "status": job.status,
            "data": data,
            "result": result,
        }
        return orjson.dumps(line, option=orjson.OPT_APPEND_NEWLINE)

    def write_stored(self, rows: Iterable[tuple[Any, ...]]) -> None:
        """Add the lines of IMAGE jobs given with their JSON as stored
        (``store.exports.ImageTextRow``: SQLite, whose JSON columns hold orjson's compact form).

        That text is spliced into each line: it is what parsing and encoding it again would
        give. A draft whose keys are the first shapes in ``result_document``'s order, each a
        list (``{"rectangles": [...]}``, the usual one), needs only the missing shapes
        appended; a job with any other draft or data is parsed, as ``write`` does.
        """
        if self._base is not Base.IMAGE:
            raise ValueError("stored rows are for IMAGE projects")
        out, join, dumps = self._out.write, b"".join, orjson.dumps
        completed = JobStatus.COMPLETED.value
        quoted: dict[Any, bytes] = {}  # batch ids and statuses: a handful of values per page
        for row in rows:
            _, job_id, reference_id, batch_id, status, data, data_object, url, draft, keys = row
            if not data_object:
                out(self._parsed_line(row))
                continue
            if (batch := quoted.get(batch_id)) is None:
                batch = quoted[batch_id] = dumps(batch_id)
            if status != completed:
                if (state := quoted.get(status)) is None:
                    state = quoted[status] = dumps(status)
                result = b"null"
            else:
                suffix = _SUFFIXES.get(keys)
                first_rectangles = draft is not None and draft[:15] == b'{"rectangles":['
                if suffix is not None and first_rectangles:
                    annotations = draft[:-1] + suffix
                elif keys == _ALL_KEYS and first_rectangles:
                    # result_document leaves classifications out when there are none
                    if draft.endswith(_EMPTY_CLASSIFICATIONS):
                        annotations = draft[: -len(_EMPTY_CLASSIFICATIONS)] + b"}"
                    else:
                        annotations = draft
                elif keys is None and (draft is None or draft == b"null" or draft == b"{}"):
                    annotations = _EMPTY
                else:
                    out(self._parsed_line(row))
                    continue
                state = _COMPLETED
                result = join(
                    (
                        b'{"data":{"annotations":',
                        annotations,
                        b',"image_url":',
                        url or b"null",
                        b"}}",
                    )
                )
            # Each line joined at once: orjson's output is freed as soon as it is used (many
            # small buffers of its kept alive together make the allocator slow).
            out(
                join(
                    (
                        b'{"job_id":',
                        dumps(job_id),
                        b',"reference_id":',
                        dumps(reference_id),
                        b',"batch_id":',
                        batch,
                        b',"status":',
                        state,
                        b',"data":',
                        data,
                        b',"result":',
                        result,
                        b"}\n",
                    )
                )
            )

    def _parsed_line(self, row: tuple[Any, ...]) -> bytes:
        _, job_id, reference_id, batch_id, status, data, _, _, draft = row[:9]
        annotations = None
        if status == JobStatus.COMPLETED.value:
            annotations = None if draft is None else orjson.loads(draft)
            if annotations is None:
                annotations = empty(self._base)
        job = ExportJob(job_id, reference_id, batch_id, status, orjson.loads(data), annotations)
        return self._line(job)

    def close(self) -> None:
        """Flush and close the file."""
        self._out.close()

    def discard(self) -> None:
        """Close the file."""
        self._out.close()
