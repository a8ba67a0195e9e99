"""CVAT XML 1.1: "CVAT for images" (``<image>``s with ``<box>``, ``<polygon>``,
``<polyline>``, ``<points>``) and "CVAT for video" (``<track>``s of per-frame shapes).

Pixels are normalised by each image's ``width``/``height`` (the task's ``original_size`` for
tracks). Shapes become rectangles, polygons, lines and landmarks; ``<attribute>``s and
``occluded="1"`` become attributes. The reference id of an image is its name without
extension, its location the name (rebase it with ``--media-root`` / ``--media-url``). A file
with tracks is one video job (a VIDEO project): its frames ``0``, ``1``... at
``frame_000000.jpg``... (CVAT's frame names), and a tracker per track with the frames where
the object is not ``outside``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any
from xml.etree import ElementTree

from labelyard.importers import FormatError, Item, rectangle, shape
from labelyard.importers.xml import parse_xml, text_of

SHAPES = {"box": "rectangle", "polygon": "polygon", "polyline": "line", "points": "landmark"}
KEYS = {"rectangle": "rectangles", "polygon": "polygons", "line": "lines", "landmark": "landmarks"}


def parse(files: Mapping[str, bytes]) -> list[Item]:
    """The images (or videos) of the CVAT files in ``files``."""
    items: list[Item] = []
    for name, raw in files.items():
        items += parse_document(name, raw)
    return items


def _float(element: ElementTree.Element, key: str, where: str) -> float:
    value = element.get(key)
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise FormatError(where, f"{key}={value!r} is not a number") from None


def parse_document(name: str, raw: bytes) -> list[Item]:
    root = parse_xml(name, raw)
    if root.tag != "annotations":
        raise FormatError(name, f"<{root.tag}> is not CVAT's <annotations>")
    version = text_of(root, "version")
    if version and version != "1.1":
        raise FormatError(name, f"CVAT XML version {version}; 1.1 is read")
    tracks = root.findall("track")
    if tracks:
        return [_video(name, root, tracks)]
    items = []
    for n, image in enumerate(root.iter("image")):
        where = f"{name}: image[{n}]"
        file_name = image.get("name") or ""
        if not file_name:
            raise FormatError(where, "has no name")
        width, height = _float(image, "width", where), _float(image, "height", where)
        if width <= 0 or height <= 0:
            raise FormatError(where, "width and height must be positive")
        item = Item(reference_id=PurePosixPath(file_name).stem, location=file_name, where=where)
        item.size = (int(width), int(height))
        for m, element in enumerate(image):
            kind = SHAPES.get(element.tag)
            if kind is None:
                continue
            at = f"{where}/{element.tag}[{m}]"
            obj = _object(element, kind, f"cvat{n}_{m}", width, height, at)
            item.annotations[KEYS[kind]].append(obj)
        items.append(item)
    if not items:
        raise FormatError(name, "no <image> and no <track>")
    return items


def _attributes(element: ElementTree.Element) -> dict[str, Any]:
    values: dict[str, Any] = {
        a.get("name") or "": (a.text or "").strip() for a in element.findall("attribute")
    }
    if element.get("occluded") == "1":
        values["occluded"] = True
    return values


def _points(
    element: ElementTree.Element, width: float, height: float, where: str
) -> list[tuple[float, float]]:
    text = element.get("points") or ""
    points = []
    for pair in text.split(";"):
        x, _, y = pair.partition(",")
        try:
            points.append((float(x) / width, float(y) / height))
        except ValueError:
            raise FormatError(where, f"points {text!r} are not 'x,y;x,y...'") from None
    return points


def _geometry(
    element: ElementTree.Element, kind: str, width: float, height: float, where: str
) -> dict[str, Any]:
    if kind == "rectangle":
        box = (
            _float(element, "xtl", where) / width,
            _float(element, "ytl", where) / height,
            _float(element, "xbr", where) / width,
            _float(element, "ybr", where) / height,
        )
        return rectangle("", "", box)
    points = _points(element, width, height, where)
    least = {"polygon": 3, "line": 2, "landmark": 1}[kind]
    if len(points) < least:
        raise FormatError(where, f"a {kind} needs at least {least} points")
    return shape("", "", points, ring=kind == "polygon")


def _object(
    element: ElementTree.Element, kind: str, object_id: str, width: float, height: float, where: str
) -> dict[str, Any]:
    label = element.get("label")
    if not label:
        raise FormatError(where, "has no label")
    geometry = _geometry(element, kind, width, height, where)
    return {**geometry, "_id": object_id, "label": label, "attributes": _wrap(_attributes(element))}


def _wrap(values: dict[str, Any]) -> dict[str, Any]:
    return {k: {"value": v} for k, v in values.items()}


def _video(name: str, root: ElementTree.Element, tracks: list[ElementTree.Element]) -> Item:
    width = _size(root, "meta/task/original_size/width", name)
    height = _size(root, "meta/task/original_size/height", name)
    task = text_of(root, "meta/task/name") or PurePosixPath(name).stem
    trackers = []
    last = -1
    for n, track in enumerate(tracks):
        where = f"{name}: track[{n}]"
        label = track.get("label")
        if not label:
            raise FormatError(where, "has no label")
        frames: dict[str, Any] = {}
        kind = ""
        attributes: dict[str, Any] = {}
        for m, element in enumerate(track):
            kind = SHAPES.get(element.tag, "")
            if not kind:
                raise FormatError(f"{where}/{element.tag}[{m}]", "is not a shape")
            at = f"{where}/{element.tag}[{m}]"
            frame = int(_float(element, "frame", at))
            last = max(last, frame)
            if element.get("outside") == "1":
                continue
            geometry = _geometry(element, kind, width, height, at)
            frames[str(frame)] = {
                k: v for k, v in geometry.items() if k not in ("_id", "label", "attributes")
            }
            attributes = _attributes(element)
        if frames:
            trackers.append(
                {
                    "_id": f"track{track.get('id', n)}",
                    "type": kind,
                    "label": label,
                    "attributes": _wrap(attributes),
                    "frames": frames,
                }
            )
    item = Item(reference_id=task, location="", where=name)
    item.frames = [f"frame_{i:06d}.jpg" for i in range(last + 1)]
    item.trackers = trackers
    return item


def _size(root: ElementTree.Element, path: str, where: str) -> float:
    text = text_of(root, path)
    try:
        value = float(text)
    except ValueError:
        raise FormatError(where, f"tracks need <{path}> (a number), not {text!r}") from None
    if value <= 0:
        raise FormatError(where, f"<{path}> must be positive")
    return value
