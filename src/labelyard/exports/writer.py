"""What every format writer gets (one job at a time) and offers (write, close, discard)."""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path
from typing import IO, Any, NamedTuple, Protocol

from labelyard.exports.archive import ZipWriter
from labelyard.exports.sizes import ImageSize

BUFFER_BYTES = 1024 * 1024


class ExportJob(NamedTuple):
    """One job as exports see it; ``annotations`` are the final ones of a completed job.

    A named tuple rather than a dataclass: exports make millions of them, and a tuple is the
    cheapest object to build."""

    job_id: str
    reference_id: str
    batch_id: str
    status: str
    data: dict[str, Any]
    annotations: Any | None


class Writer(Protocol):
    """Writes one export file, a job at a time."""

    needs_sizes: bool
    """True if every job needs its image's pixel size (jobs without one are skipped)."""

    def write(self, job: ExportJob, size: ImageSize | None) -> None:
        """Add one job (``size`` is None unless ``needs_sizes``)."""

    def close(self) -> None:
        """Finish the file."""

    def discard(self) -> None:
        """Release the files without finishing (the caller deletes the output)."""


class Spool:
    """Bytes kept in a temporary file next to the output (not in /tmp, often a RAM disk)."""

    def __init__(self, folder: Path) -> None:
        spool = tempfile.TemporaryFile(dir=folder, buffering=BUFFER_BYTES)  # noqa: SIM115
        self.file: IO[bytes] = spool

    def write(self, data: bytes | memoryview) -> None:
        """Append ``data``."""
        self.file.write(data)

    def rewound(self) -> IO[bytes]:
        """The file, positioned at its start for reading."""
        self.file.flush()
        self.file.seek(0)
        return self.file

    def close(self) -> None:
        """Delete it."""
        self.file.close()


def image_extension(url: Any) -> str:
    """The extension of an image URL's file name (``.jpg``), or ``.jpg`` if it has none."""
    if isinstance(url, str):
        path: str = url
        if "?" in path or "#" in path:
            path = path.split("?", 1)[0].split("#", 1)[0]
        last = path[path.rfind("/") + 1 :]
        stem, dot, extension = last.rpartition(".")
        if dot and stem and 1 <= len(extension) <= 5 and extension.isalnum():
            return "." + extension.lower()
    return ".jpg"


class ImageIndex:
    """``images.csv`` of an archive: each label file's image, its URL, job and reference id."""

    HEADER = ("file_name", "image_url", "job_id", "reference_id")

    def __init__(self, folder: Path) -> None:
        self._spool = Spool(folder)
        self._line = io.StringIO()
        self._csv = csv.writer(self._line, lineterminator="\n")
        self.add(*self.HEADER)

    def add(self, file_name: str, image_url: str, job_id: str, reference_id: str) -> None:
        """Append one row."""
        self._line.seek(0)
        self._line.truncate()
        self._csv.writerow((file_name, image_url, job_id, reference_id))
        self._spool.write(self._line.getvalue().encode())

    def put_into(self, archive: ZipWriter, name: str = "images.csv") -> None:
        """Add the index to ``archive``."""
        archive.add_file(name, self._spool.rewound())

    def close(self) -> None:
        """Delete the spool."""
        self._spool.close()
