"""COCO object detection JSON (``images``, ``annotations``, ``categories``).

``bbox`` ``[x, y, width, height]`` and polygon ``segmentation`` in pixels, normalised by each
image's ``width``/``height``. An annotation whose only polygon is its box's outline (as
labelyard's own export writes rectangles) is a rectangle; other polygons are polygons; an
annotation without polygons is its box. RLE segmentations (compressed ``counts`` strings or
count lists) are masks: an image's RLEs are painted into one RGBA mask PNG whose legend has a
colour per annotation, ``"<label>"`` for a crowd (``iscrowd: 1``, a class as a whole) and
``"<label> # <n>"`` for an instance (``labelyard_instance``, else numbered per label) — as
labelyard's own COCO export writes SEGMENTATION masks. ``labelyard_id`` and ``attributes``
(labelyard's export, CVAT's) are kept. The reference id is the image's ``reference_id`` (labelyard's
export) or its file name without extension; its location ``coco_url`` or ``file_name``.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any

import orjson
from PIL import Image

from labelyard.importers import FormatError, Item, rectangle, shape

_CLOSE = 1e-6


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FormatError(where, "must be a number")
    return float(value)


def parse(files: Mapping[str, bytes]) -> list[Item]:
    """The images of every COCO document in ``files``, in file order."""
    items: list[Item] = []
    for name, raw in files.items():
        items += parse_document(name, raw)
    return items


def parse_document(name: str, raw: bytes) -> list[Item]:
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise FormatError(name, f"not JSON ({exc})") from None
    if not isinstance(document, dict) or not isinstance(document.get("images"), list):
        raise FormatError(name, "not a COCO document (no images list)")
    categories: dict[Any, str] = {}
    for i, category in enumerate(document.get("categories") or []):
        if not isinstance(category, dict) or "id" not in category or "name" not in category:
            raise FormatError(f"{name}: categories[{i}]", "needs id and name")
        categories[category["id"]] = str(category["name"])
    images: dict[Any, tuple[Item, float, float]] = {}
    painted: dict[int, Canvas] = {}
    items: list[Item] = []
    for i, image in enumerate(document["images"]):
        where = f"{name}: images[{i}]"
        if not isinstance(image, dict) or "id" not in image:
            raise FormatError(where, "needs an id")
        width = _number(image.get("width"), f"{where}.width")
        height = _number(image.get("height"), f"{where}.height")
        if width <= 0 or height <= 0:
            raise FormatError(where, "width and height must be positive")
        file_name = str(image.get("file_name") or "")
        reference = image.get("reference_id") or PurePosixPath(file_name).stem
        if not reference:
            raise FormatError(where, "needs a file_name")
        location = str(image.get("coco_url") or image.get("flickr_url") or file_name)
        item = Item(reference_id=str(reference), location=location, where=where)
        item.size = (round(width), round(height))
        images[image["id"]] = (item, width, height)
        items.append(item)
    for i, annotation in enumerate(document.get("annotations") or []):
        where = f"{name}: annotations[{i}]"
        if not isinstance(annotation, dict):
            raise FormatError(where, "must be an object")
        found = images.get(annotation.get("image_id"))
        if found is None:
            raise FormatError(where, f"image_id {annotation.get('image_id')!r} names no image")
        label = categories.get(annotation.get("category_id"))
        if label is None:
            raise FormatError(where, f"category_id {annotation.get('category_id')!r} is unknown")
        item, width, height = found
        segmentation = annotation.get("segmentation")
        if isinstance(segmentation, dict):
            canvas = painted.setdefault(id(item), Canvas(item, int(width), int(height)))
            canvas.paint(annotation, label, where)
            continue
        _add(item, annotation, label, width, height, where, i)
    for canvas in painted.values():
        canvas.finish()
    return items


def _add(
    item: Item,
    annotation: dict[str, Any],
    label: str,
    width: float,
    height: float,
    where: str,
    index: int,
) -> None:
    object_id = str(annotation.get("labelyard_id") or annotation.get("id") or f"coco{index}")
    attributes = annotation.get("attributes")
    attributes = attributes if isinstance(attributes, dict) else {}
    segmentation = annotation.get("segmentation")
    bbox = annotation.get("bbox")
    box = None
    if not isinstance(bbox, list):
        bbox = []
    if len(bbox) == 4:
        x, y, w, h = (_number(v, f"{where}.bbox") for v in bbox)
        box = (x / width, y / height, (x + w) / width, (y + h) / height)
    polygons = segmentation if isinstance(segmentation, list) else []
    if box is not None and (not polygons or (len(polygons) == 1 and _outline(polygons[0], bbox))):
        item.annotations["rectangles"].append(rectangle(object_id, label, box, attributes))
        return
    if not polygons:
        raise FormatError(where, "has neither a bbox nor a polygon")
    for n, flat in enumerate(polygons):
        if not isinstance(flat, list) or len(flat) < 6 or len(flat) % 2:
            raise FormatError(f"{where}.segmentation[{n}]", "a polygon is [x1, y1, x2, y2, ...]")
        values = [_number(v, f"{where}.segmentation[{n}]") for v in flat]
        points = [(values[j] / width, values[j + 1] / height) for j in range(0, len(values), 2)]
        suffix = f":{n}" if len(polygons) > 1 else ""
        item.annotations["polygons"].append(
            shape(object_id + suffix, label, points, attributes, ring=True)
        )


def _outline(flat: Any, bbox: list[Any]) -> bool:
    """Whether a polygon is exactly its box's outline (TL, TR, BR, BL)."""
    if not isinstance(flat, list) or len(flat) != 8:
        return False
    x, y, w, h = (float(v) for v in bbox)
    expected = [x, y, x + w, y, x + w, y + h, x, y + h]
    return all(
        isinstance(v, int | float) and abs(v - e) <= _CLOSE + 0.01
        for v, e in zip(flat, expected, strict=True)
    )


def rle_counts(text: str, where: str) -> list[int]:
    """The run lengths of COCO's compressed RLE string (pycocotools' ``rleFrString``)."""
    counts: list[int] = []
    p = 0
    while p < len(text):
        x, k, more = 0, 0, True
        while more:
            if p >= len(text):
                raise FormatError(where, "the RLE counts string ends mid-number")
            c = ord(text[p]) - 48
            if not 0 <= c < 64:
                raise FormatError(where, f"the RLE counts string has {text[p]!r}")
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            p += 1
            k += 1
            if not more and c & 0x10:
                x |= -1 << (5 * k)
        if len(counts) > 2:
            x += counts[-2]
        counts.append(x)
    return counts


class Canvas:
    """An image's RLE annotations painted into one RGBA mask with a legend."""

    def __init__(self, item: Item, width: int, height: int) -> None:
        self.item = item
        self.image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
        self.legend: dict[str, str] = {}
        self.instances: dict[str, int] = {}
        self.first_id = ""

    def paint(self, annotation: dict[str, Any], label: str, where: str) -> None:
        segmentation = annotation["segmentation"]
        width, height = self.image.size
        if segmentation.get("size") != [height, width]:
            raise FormatError(where, f"the RLE size {segmentation.get('size')} is not the image's")
        raw = segmentation.get("counts")
        counts = rle_counts(raw, where) if isinstance(raw, str) else raw
        if not isinstance(counts, list) or not all(type(c) is int and c >= 0 for c in counts):
            raise FormatError(where, "RLE counts must be a string or a list of run lengths")
        if sum(counts) != width * height:
            raise FormatError(where, "the RLE runs do not cover the image")
        column_major = bytearray()
        for i, run in enumerate(counts):
            column_major += (b"\xff" if i % 2 else b"\x00") * run
        stencil = Image.frombytes("L", (height, width), bytes(column_major))
        stencil = stencil.transpose(Image.Transpose.TRANSPOSE)
        if annotation.get("iscrowd") == 1 and "labelyard_instance" not in annotation:
            self.paint_stencil(stencil, label, None, annotation, where)
        else:
            number = annotation.get("labelyard_instance")
            self.paint_stencil(
                stencil, label, number if type(number) is int else 0, annotation, where
            )

    def paint_stencil(
        self,
        stencil: Image.Image,
        label: str,
        instance: int | None,
        annotation: Mapping[str, Any],
        where: str,
    ) -> None:
        """Paint the pixels ``stencil`` (mode L, the image's size) covers as one legend entry:
        ``label`` as a whole (``instance`` None) or an instance of it (0: the next number)."""
        if instance is None:
            entry = label
        else:
            number = instance or self.instances.get(label, 0) + 1
            self.instances[label] = max(self.instances.get(label, 0), number)
            entry = f"{label} # {number}"
        if entry in self.legend.values():
            raise FormatError(where, f"{entry!r} appears twice in this image")
        colour = _colour(len(self.legend))
        self.legend[colour] = entry
        self.image.paste((*bytes.fromhex(colour[1:]), 255), mask=stencil)
        if not self.first_id:
            raw_id = str(annotation.get("labelyard_id") or annotation.get("id") or "m")
            self.first_id = raw_id.split(":", 1)[0]

    def finish(self) -> None:
        out = io.BytesIO()
        self.image.save(out, "PNG")
        self.item.annotations.setdefault("masks", []).append(
            {
                "_id": self.first_id or "m1",
                "frame_id": "0",
                "legend": self.legend,
                "png": base64.b64encode(out.getvalue()).decode(),
            }
        )


def _colour(index: int) -> str:
    """A distinct colour per legend entry (a multiplicative hash of the index; never clear)."""
    return f"#{(index + 1) * 0x9E3779 % 0xFFFFFF:06x}"
