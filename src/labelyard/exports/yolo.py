"""YOLO (Darknet / Ultralytics) labels, as one zip.

- ``labels/<name>.txt``: one line per rectangle, ``class x_center y_center width height``,
  normalised to [0, 1] (so no pixel sizes are needed), class ids from 0; an image without
  boxes has an empty file.
- ``classes.txt``: class names, one per line, in id order; ``data.yaml``: the same as an
  Ultralytics dataset file (``nc``, ``names``; images expected under ``images/<name>.<ext>``).
- ``images.csv``: each label file's image: its file name, URL, job id and reference id.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import yaml

from labelyard.exports.archive import ZipWriter
from labelyard.exports.classes import Classes
from labelyard.exports.geometry import rectangle_box
from labelyard.exports.names import FileNames
from labelyard.exports.sizes import ImageSize
from labelyard.exports.writer import ExportJob, ImageIndex, image_extension


def _clamp(value: float) -> float:
    return min(1.0, max(0.0, value))


class YoloWriter:
    """Writes a label file per job into a zip; boxes from rectangles."""

    needs_sizes = False

    def __init__(
        self, path: Path, *, classes: Classes, names: FileNames, modified: datetime
    ) -> None:
        self._classes = classes
        self._names = names
        self._zip = ZipWriter(path, modified=modified)
        self._index = ImageIndex(path.parent)

    def write(self, job: ExportJob, size: ImageSize | None) -> None:
        """Add ``labels/<name>.txt`` for the job."""
        name = self._names.name(job.reference_id, job.job_id)
        lines = []
        annotations = job.annotations if isinstance(job.annotations, dict) else {}
        for item in annotations.get("rectangles") or ():
            box = rectangle_box(item)
            if box is None:
                continue
            x0, y0, x1, y1 = (_clamp(v) for v in box)
            class_id = self._classes.id_of(str(item.get("label")))
            lines.append(
                f"{class_id} {(x0 + x1) / 2:.6f} {(y0 + y1) / 2:.6f} {x1 - x0:.6f} {y1 - y0:.6f}\n"
            )
        self._zip.add(f"labels/{name}.txt", "".join(lines).encode())
        url = job.data.get("image_url")
        url = url if isinstance(url, str) else ""
        self._index.add(name + image_extension(url), url, job.job_id, job.reference_id)

    def close(self) -> None:
        """Add the class list, the dataset file and the image index; finish the zip."""
        try:
            names = self._classes.names
            self._zip.add("classes.txt", "".join(f"{n}\n" for n in names).encode())
            dataset = {
                "path": ".",
                "train": "images",
                "val": "images",
                "nc": len(names),
                "names": dict(enumerate(names)),
            }
            self._zip.add(
                "data.yaml", yaml.safe_dump(dataset, sort_keys=False, allow_unicode=True).encode()
            )
            self._index.put_into(self._zip)
            self._zip.close()
        finally:
            self.discard()

    def discard(self) -> None:
        """Close the files."""
        self._index.close()
        self._zip.discard()
