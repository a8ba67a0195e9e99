"""COCO object detection JSON (``images``, ``annotations``, ``categories``).

``bbox`` ``[x, y, width, height]`` and polygon ``segmentation`` in pixels, normalised by each
image's ``width``/``height``. An annotation whose only polygon is its box's outline (as
labelyard's own export writes rectangles) is a rectangle; other polygons are polygons; an
annotation without polygons is its box. RLE segmentations (``iscrowd``) are reported, not
imported (they are masks: SEGMENTATION projects). ``labelyard_id`` and ``attributes`` (labelyard's
export, CVAT's) are kept. The reference id is the image's ``reference_id`` (labelyard's
export) or its file name without extension; its location ``coco_url`` or ``file_name``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any

import orjson

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
        _add(item, annotation, label, width, height, where, i)
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
    if isinstance(segmentation, dict):
        raise FormatError(where, "an RLE mask: import masks into a SEGMENTATION project")
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
