"""Pascal VOC annotations, as one zip.

- ``Annotations/<name>.xml``: one ``<annotation>`` per image, with ``<size>`` and an
  ``<object>`` per rectangle: ``<name>`` (the label), ``<pose>``, ``<truncated>``,
  ``<difficult>``, ``<occluded>`` (from boolean attributes of those names, else 0) and
  ``<bndbox>`` in VOC's 1-based, inclusive integer pixel coordinates; other attributes under
  ``<attributes>``.
- ``ImageSets/Main/default.txt``: every image name; ``labels.txt``: class names in order.
- ``images.csv``: each annotation file's image: its file name, URL, job id and reference id.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape as xml_escape

from labelyard.exports.archive import ZipWriter
from labelyard.exports.classes import Classes
from labelyard.exports.geometry import Box, attribute_values, rectangle_box
from labelyard.exports.names import FileNames
from labelyard.exports.sizes import ImageSize
from labelyard.exports.writer import ExportJob, ImageIndex, Spool, image_extension

FLAGS = ("truncated", "difficult", "occluded")
DEPTH = 3  # colour; the true depth is not known without reading the image


# Written from templates rather than built as trees: several times faster, and the layout is
# fixed. Every value from a job goes through escape().
_DOCUMENT = """<annotation>
\t<folder>images</folder>
\t<filename>{filename}</filename>
\t<path>{path}</path>
\t<source>
\t\t<database>labelyard</database>
\t</source>
\t<size>
\t\t<width>{width}</width>
\t\t<height>{height}</height>
\t\t<depth>{depth}</depth>
\t</size>
\t<segmented>0</segmented>
{objects}</annotation>
"""
_OBJECT = """\t<object>
\t\t<name>{name}</name>
\t\t<pose>Unspecified</pose>
\t\t<truncated>{truncated}</truncated>
\t\t<difficult>{difficult}</difficult>
\t\t<occluded>{occluded}</occluded>
\t\t<bndbox>
\t\t\t<xmin>{xmin}</xmin>
\t\t\t<ymin>{ymin}</ymin>
\t\t\t<xmax>{xmax}</xmax>
\t\t\t<ymax>{ymax}</ymax>
\t\t</bndbox>
{attributes}\t</object>
"""
_ATTRIBUTE = """\t\t\t<attribute>
\t\t\t\t<name>{name}</name>
\t\t\t\t<value>{value}</value>
\t\t\t</attribute>
"""
# Characters XML 1.0 does not allow at all (escaping cannot save them).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def escape(text: str) -> str:
    """``text`` as XML character data (markup escaped, characters XML forbids dropped)."""
    return _NOT_XML.sub("", xml_escape(text))


def pixel_range(start: float, end: float, pixels: int) -> tuple[int, int]:
    """VOC's first and last pixel (1-based, inclusive) covered by ``[start, end]`` in [0, 1]."""
    first = min(pixels, max(1, round(start * pixels) + 1))
    last = min(pixels, max(first, round(end * pixels)))
    return first, last


def _flag(value: Any) -> int:
    return 1 if value is True or value in ("true", "yes", 1) else 0


class VocWriter:
    """Writes an annotation file per job into a zip; boxes from rectangles."""

    needs_sizes = True

    def __init__(
        self, path: Path, *, classes: Classes, names: FileNames, modified: datetime
    ) -> None:
        self._classes = classes
        self._names = names
        self._zip = ZipWriter(path, modified=modified)
        self._index = ImageIndex(path.parent)
        self._image_set = Spool(path.parent)

    def write(self, job: ExportJob, size: ImageSize | None) -> None:
        """Add ``Annotations/<name>.xml`` for the job."""
        if size is None:
            raise ValueError("Pascal VOC needs the size of every image")
        name = self._names.name(job.reference_id, job.job_id)
        url = job.data.get("image_url")
        url = url if isinstance(url, str) else ""
        objects = []
        annotations = job.annotations if isinstance(job.annotations, dict) else {}
        for item in annotations.get("rectangles") or ():
            box = rectangle_box(item)
            if box is not None:
                objects.append(self._object(item, box, size))
        document = _DOCUMENT.format(
            filename=escape(name + image_extension(url)),
            path=escape(url),
            width=size.width,
            height=size.height,
            depth=DEPTH,
            objects="".join(objects),
        )
        self._zip.add(f"Annotations/{name}.xml", document.encode())
        self._image_set.write(f"{name}\n".encode())
        self._index.add(name + image_extension(url), url, job.job_id, job.reference_id)

    def _object(self, item: dict[str, Any], box: Box, size: ImageSize) -> str:
        label = str(item.get("label"))
        self._classes.id_of(label)
        values = attribute_values(item)
        flags = {flag: _flag(values.pop(flag, None)) for flag in FLAGS}
        xmin, xmax = pixel_range(box[0], box[2], size.width)
        ymin, ymax = pixel_range(box[1], box[3], size.height)
        attributes = "".join(
            _ATTRIBUTE.format(name=escape(str(key)), value=escape(_attribute_text(value)))
            for key, value in values.items()
        )
        return _OBJECT.format(
            name=escape(label),
            **flags,
            xmin=xmin,
            ymin=ymin,
            xmax=xmax,
            ymax=ymax,
            attributes=f"\t\t<attributes>\n{attributes}\t\t</attributes>\n" if attributes else "",
        )

    def close(self) -> None:
        """Add the image set, the class list and the image index; finish the zip."""
        try:
            self._zip.add_file("ImageSets/Main/default.txt", self._image_set.rewound())
            names = self._classes.names
            self._zip.add("labels.txt", "".join(f"{n}\n" for n in names).encode())
            self._index.put_into(self._zip)
            self._zip.close()
        finally:
            self.discard()

    def discard(self) -> None:
        """Close the files."""
        self._image_set.close()
        self._index.close()
        self._zip.discard()


def _attribute_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return "" if value is None else str(value)
