"""COCO object detection: ``{"info", "licenses", "images", "annotations", "categories"}``.

Boxes come from rectangles, ``segmentation`` polygons from polygons (rectangles get their own
outline, so every annotation can be turned into a mask); both in pixels, ``bbox`` as
``[x, y, width, height]``. A SEGMENTATION job's mask gives one annotation per legend entry it
uses, its ``segmentation`` the compressed RLE ``{"size": [height, width], "counts": "..."}``
that pycocotools decodes; ``iscrowd`` is 0 for an instance (``"car # 2"``) and 1 for a class as a
whole (``"road"``), and ``labelyard_instance`` carries the instance number. Images are
numbered from 1 in export order; categories are the label schema's classes in order, then
labels first seen in the jobs, numbered from 1.

The file is written in one pass: images go to the output while annotations go to a spool file,
appended after the last image; categories, complete by then, end the document.
"""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path
from typing import IO, Any

import orjson
from PIL import Image

from labelyard.core import masks
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
CHUNK = 1000
_NO_ATTRIBUTES: dict[str, Any] = {}  # shared by the records of objects without attributes
_SCALE = 10.0**DECIMALS  # 100.0, exactly
_EXACT_BELOW = 1e9
"""Pixel values rounded by ``_rectangle_pixels``'s arithmetic (``round`` above): at most 1e11
hundredths, whose product ``v * 100.0`` is then within 1.2e-5 of the exact one."""


def _rectangle_pixels(item: Any, width: int, height: int) -> list[float] | None:
    """``round(v, 2)`` of a rectangle's x, y, width and height in pixels, then of its area
    (from the rounded width and height), in a new list; None if ``rectangle_box(item)`` is None.

    COCO's hot path, a million boxes and more: the same floats as ``round``, bit for bit, for
    less. ``round(v, 2)`` is
    the double nearest to ``v`` rounded to hundredths, and so is ``r / 100.0`` (IEEE division
    rounds correctly) once ``r``, the nearest integer to ``v * 100`` exactly, is known. The
    product ``v * 100.0`` is off by less than 1.2e-5 below ``_EXACT_BELOW``: its fraction decides
    ``r`` unless within 1e-4 of a half, where ``round`` itself is asked (as it is for zero,
    negative values, whose zero keeps its sign, and anything unusual).
    """
    box = rectangle_box(item)
    if box is None:
        return None
    left, top, right, bottom = box
    out: list[float] = []
    for v in (left * width, top * height, (right - left) * width, (bottom - top) * height, None):
        if v is None:  # the area, last
            v = out[2] * out[3]
        if 0.0 < v < _EXACT_BELOW:
            hundredths = v * _SCALE
            r = int(hundredths)
            fraction = hundredths - r
            if fraction < 0.4999:
                out.append(r / _SCALE)
                continue
            if fraction > 0.5001:
                out.append((r + 1) / _SCALE)
                continue
        out.append(round(v, DECIMALS))
    return out


def _pixels(box: Box, size: ImageSize) -> list[float]:
    x0, y0, x1, y1 = box
    return [
        round(x0 * size.width, DECIMALS),
        round(y0 * size.height, DECIMALS),
        round((x1 - x0) * size.width, DECIMALS),
        round((y1 - y0) * size.height, DECIMALS),
    ]


class CocoWriter:
    """Writes one COCO JSON document, images first, in one pass over the jobs.

    Images and annotations are encoded ``CHUNK`` at a time (one orjson call per chunk, its
    brackets dropped), the per-object work of millions of jobs being the cost of an export.
    """

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
        self._image_chunk: list[dict[str, Any]] = []
        self._object_chunk: list[dict[str, Any]] = []
        self._category_ids: dict[str, int] = {}  # label: its category id (ids never change)
        self._out.write(b'{"info":' + orjson.dumps(info) + b',"licenses":[],"images":[')

    def write(self, job: ExportJob, size: ImageSize | None) -> None:
        """Add the job's image and its boxes and polygons."""
        if size is None:
            raise ValueError("COCO needs the size of every image")
        self._images += 1
        job_id, reference_id, batch_id, _status, data, annotations = job
        width, height = size
        url = data.get("image_url")
        self._image_chunk.append(
            {
                "id": self._images,
                "file_name": self._names.name(reference_id, job_id) + image_extension(url),
                "width": width,
                "height": height,
                "coco_url": url if isinstance(url, str) else "",
                "labelyard_job_id": job_id,
                "reference_id": reference_id,
                "batch_id": batch_id,
            }
        )
        if len(self._image_chunk) >= CHUNK:
            self._flush_images()
        if not isinstance(annotations, dict):
            annotations = {}
        chunk, categories = self._object_chunk, self._category_ids
        # Boxes, the most of an export's objects: _annotation's record built here, inline.
        for item in annotations.get("rectangles") or ():
            bbox = _rectangle_pixels(item, width, height)
            if bbox is not None:
                area = bbox.pop()
                x, y, w, h = bbox
                label = str(item.get("label"))
                category = categories.get(label)
                if category is None:
                    category = categories[label] = self._classes.id_of(label) + 1
                self._objects += 1
                chunk.append(
                    {
                        "id": self._objects,
                        "image_id": self._images,
                        "category_id": category,
                        "bbox": bbox,
                        "area": area,
                        "iscrowd": 0,
                        "segmentation": [[x, y, x + w, y, x + w, y + h, x, y + h]],
                        "attributes": (
                            attribute_values(item) if item.get("attributes") else _NO_ATTRIBUTES
                        ),
                        "labelyard_id": item.get("_id"),
                    }
                )
                if len(chunk) >= CHUNK:
                    self._flush_annotations()
        for item in annotations.get("polygons") or ():
            points = polygon_points(item)
            if points is not None:
                pixels = [(x * width, y * height) for x, y in points]
                flat = [round(v, DECIMALS) for point in pixels for v in point]
                area = round(polygon_area(pixels), DECIMALS)
                self._annotation(item, _pixels(points_box(points), size), [flat], area)

        for mask in annotations.get("masks") or ():
            self._mask(mask, size)

    def _mask(self, mask: dict[str, Any], size: ImageSize) -> None:
        """One annotation per legend entry of a mask, as RLE (masks of another size than the
        image are left out: COCO's RLE has the image's size)."""
        image = masks.mask_pixels(masks.png_bytes(mask), "mask")
        if image.size != (size.width, size.height):
            return
        for colour, entry in mask["legend"].items():
            found = mask_rle(image, colour)
            if found is None:
                continue
            rle, bbox, area = found
            label, instance = masks.legend_label(entry)
            item = {"_id": f"{mask['_id']}:{entry}", "label": label, "attributes": {}}
            self._annotation(item, bbox, rle, area, crowd=instance is None, instance=instance)

    def _annotation(
        self,
        item: dict[str, Any],
        bbox: list[float],
        segmentation: list[list[float]] | dict[str, Any],
        area: float,
        *,
        crowd: bool = False,
        instance: int | None = None,
    ) -> None:
        self._objects += 1
        record = {
            "id": self._objects,
            "image_id": self._images,
            "category_id": self._classes.id_of(str(item.get("label"))) + 1,
            "bbox": bbox,
            "area": round(area, DECIMALS),
            "iscrowd": int(crowd),
            "segmentation": segmentation,
            "attributes": attribute_values(item),
            "labelyard_id": item.get("_id"),
        }
        if instance is not None:
            record["labelyard_instance"] = instance
        self._object_chunk.append(record)
        if len(self._object_chunk) >= CHUNK:
            self._flush_annotations()

    def _flush_images(self) -> None:
        if self._image_chunk:
            if self._images != len(self._image_chunk):  # not the first
                self._out.write(b",")
            self._out.write(memoryview(orjson.dumps(self._image_chunk))[1:-1])
            self._image_chunk.clear()

    def _flush_annotations(self) -> None:
        if self._object_chunk:
            if self._objects != len(self._object_chunk):  # not the first
                self._annotations.write(b",")
            self._annotations.write(memoryview(orjson.dumps(self._object_chunk))[1:-1])
            self._object_chunk.clear()

    def close(self) -> None:
        """Append the annotations and the categories; close the file."""
        try:
            self._flush_images()
            self._flush_annotations()
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


def rle_string(counts: list[int]) -> str:
    """COCO's compressed RLE string of run lengths (pycocotools' ``rleToString``)."""
    out = []
    for i, count in enumerate(counts):
        x = count - counts[i - 2] if i > 2 else count
        more = True
        while more:
            c = x & 0x1F
            x >>= 5
            more = x != -1 if c & 0x10 else x != 0
            if more:
                c |= 0x20
            out.append(chr(c + 48))
    return "".join(out)


def mask_rle(image: Image.Image, colour: str) -> tuple[dict[str, Any], list[float], int] | None:
    """The RLE, pixel box and area of the pixels of ``colour`` (``#rrggbb``) in an RGBA mask,
    or None if it has none."""
    width, height = image.size
    rgb = bytes.fromhex(colour[1:]) + b"\xff"
    # Column-major (COCO's order): the transposed image's rows are the columns.
    pixels = image.transpose(Image.Transpose.TRANSPOSE).tobytes()
    inside = bytes(pixels[i : i + 4] == rgb for i in range(0, len(pixels), 4))
    counts: list[int] = []
    expected = 0
    for value, run in itertools.groupby(inside):
        length = sum(1 for _ in run)
        if value != expected:
            counts.append(0)
        counts.append(length)
        expected = 1 - value
    area = sum(counts[1::2])
    if area == 0:
        return None
    # the box: columns and rows that hold a pixel of the colour
    columns = [x for x in range(width) if any(inside[x * height : (x + 1) * height])]
    rows = [y for y in range(height) if any(inside[y::height])]
    bbox = [
        float(columns[0]),
        float(rows[0]),
        float(columns[-1] - columns[0] + 1),
        float(rows[-1] - rows[0] + 1),
    ]
    return {"size": [height, width], "counts": rle_string(counts)}, bbox, area
