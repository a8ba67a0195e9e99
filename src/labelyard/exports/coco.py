"""COCO object detection: ``{"info", "licenses", "images", "annotations", "categories"}``.

Boxes come from rectangles, ``segmentation`` polygons from polygons (rectangles get their own
outline, so every annotation can be turned into a mask); both in pixels, ``bbox`` as
``[x, y, width, height]``. Images are numbered from 1 in export order; categories are the
label schema's classes in order, then labels first seen in the jobs, numbered from 1.

The file is written in one pass: images go to the output while annotations go to a spool file,
appended after the last image; categories, complete by then, end the document.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import IO, Any

import orjson

from labelyard.exports.classes import Classes
from labelyard.exports.geometry import (
    Box,
    attribute_values,
    points_box,
    polygon_area,
    polygon_points,
    rectangle_box,
)
from labelyard.exports.names import FileNames
from labelyard.exports.sizes import ImageSize
from labelyard.exports.writer import BUFFER_BYTES, ExportJob, Spool, image_extension

DECIMALS = 2


def _pixels(box: Box, size: ImageSize) -> list[float]:
    x0, y0, x1, y1 = box
    return [
        round(x0 * size.width, DECIMALS),
        round(y0 * size.height, DECIMALS),
        round((x1 - x0) * size.width, DECIMALS),
        round((y1 - y0) * size.height, DECIMALS),
    ]


class CocoWriter:
    """Writes one COCO JSON document, images first, in one pass over the jobs."""

    needs_sizes = True

    def __init__(
        self, path: Path, *, classes: Classes, names: FileNames, info: dict[str, Any]
    ) -> None:
        self._classes = classes
        self._names = names
        self._out: IO[bytes] = path.open("wb", buffering=BUFFER_BYTES)
        self._annotations = Spool(path.parent)
        self._images = 0
        self._objects = 0
        self._out.write(b'{"info":' + orjson.dumps(info) + b',"licenses":[],"images":[')

    def write(self, job: ExportJob, size: ImageSize | None) -> None:
        """Add the job's image and its boxes and polygons."""
        if size is None:
            raise ValueError("COCO needs the size of every image")
        self._images += 1
        url = job.data.get("image_url")
        image = {
            "id": self._images,
            "file_name": self._names.name(job.reference_id, job.job_id) + image_extension(url),
            "width": size.width,
            "height": size.height,
            "coco_url": url if isinstance(url, str) else "",
            "labelyard_job_id": job.job_id,
            "reference_id": job.reference_id,
            "batch_id": job.batch_id,
        }
        self._out.write((b"," if self._images > 1 else b"") + orjson.dumps(image))
        annotations = job.annotations if isinstance(job.annotations, dict) else {}
        for item in annotations.get("rectangles") or ():
            box = rectangle_box(item)
            if box is not None:
                bbox = _pixels(box, size)
                x, y, w, h = bbox
                outline = [x, y, x + w, y, x + w, y + h, x, y + h]
                self._annotation(item, bbox, [outline], w * h)
        for item in annotations.get("polygons") or ():
            points = polygon_points(item)
            if points is not None:
                pixels = [(x * size.width, y * size.height) for x, y in points]
                flat = [round(v, DECIMALS) for point in pixels for v in point]
                area = round(polygon_area(pixels), DECIMALS)
                self._annotation(item, _pixels(points_box(points), size), [flat], area)

    def _annotation(
        self, item: dict[str, Any], bbox: list[float], segmentation: list[list[float]], area: float
    ) -> None:
        self._objects += 1
        record = {
            "id": self._objects,
            "image_id": self._images,
            "category_id": self._classes.id_of(str(item.get("label"))) + 1,
            "bbox": bbox,
            "area": round(area, DECIMALS),
            "iscrowd": 0,
            "segmentation": segmentation,
            "attributes": attribute_values(item),
            "labelyard_id": item.get("_id"),
        }
        self._annotations.write((b"," if self._objects > 1 else b"") + orjson.dumps(record))

    def close(self) -> None:
        """Append the annotations and the categories; close the file."""
        try:
            self._out.write(b'],"annotations":[')
            shutil.copyfileobj(self._annotations.rewound(), self._out, BUFFER_BYTES)
            categories = [
                {"id": i + 1, "name": name, "supercategory": ""}
                for i, name in enumerate(self._classes.names)
            ]
            self._out.write(b'],"categories":' + orjson.dumps(categories) + b"}")
        finally:
            self.discard()

    def discard(self) -> None:
        """Close the files."""
        self._annotations.close()
        self._out.close()
