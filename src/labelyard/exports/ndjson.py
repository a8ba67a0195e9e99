"""NDJSON: one line per job, ``{"job_id", "reference_id", "batch_id", "status", "data",
"result"}``, ``result`` being the job's result document (API.md 3.6) or null."""

from __future__ import annotations

from pathlib import Path
from typing import IO

import orjson

from labelyard.core.annotations import result_document
from labelyard.core.model import Base
from labelyard.exports.sizes import ImageSize
from labelyard.exports.writer import BUFFER_BYTES, ExportJob


class NdjsonWriter:
    """Writes one JSON document per line; works for every project base."""

    needs_sizes = False

    def __init__(self, path: Path, *, base: Base) -> None:
        self._base = base
        self._out: IO[bytes] = path.open("wb", buffering=BUFFER_BYTES)

    def write(self, job: ExportJob, size: ImageSize | None) -> None:
        """Add one line."""
        annotations = job.annotations
        result = None if annotations is None else result_document(self._base, job.data, annotations)
        line = {
            "job_id": job.job_id,
            "reference_id": job.reference_id,
            "batch_id": job.batch_id,
            "status": job.status,
            "data": job.data,
            "result": result,
        }
        self._out.write(orjson.dumps(line, option=orjson.OPT_APPEND_NEWLINE))

    def close(self) -> None:
        """Flush and close the file."""
        self._out.close()

    def discard(self) -> None:
        """Close the file."""
        self._out.close()
