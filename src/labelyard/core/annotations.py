"""Annotations: what a valid one is (against the schema and the job), and the result document.

Two layouts, as in API.md 3.6:
- IMAGE and SEGMENTATION: ``{"rectangles": [...], "polygons": [...], "lines": [...],
  "landmarks": [...], "cuboids": [...]}``; each object has ``_id``, ``label``, ``attributes``
  (``{name: {"value": ...}}``) and its geometry.
- VIDEO, SENSOR_FUSION and POINT_CLOUD_SEGMENTATION: a list of trackers ``{"_id", "type",
  "label", "attributes", "frames": {frame_id: geometry}}``.

Geometry, normalised to [0, 1] with the origin top-left: a rectangle has ``coordinates``, its 4
corners TL, TR, BR, BL; a polygon ``points`` ``{"p1": {"x", "y"}, ...}`` (at least 3) and
optional ``edges`` ``{"e1": ["p1", "p2"], ...}``; a line at least 2 ``points``, a landmark at
least 1, a cuboid 8 (front face then back face, as drawn on the image).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from labelyard.core import annotations3d, masks
from labelyard.core.model import Base
from labelyard.core.pointcloud import lidar_files
from labelyard.core.schema import (
    SHAPES,
    SHAPES_BY_BASE,
    Classification,
    LabelClass,
    LabelSchema,
)
from labelyard.errors import InvalidInput

IMAGE_KEYS = {
    "rectangles": "rectangle",
    "polygons": "polygon",
    "lines": "line",
    "landmarks": "landmark",
    "cuboids": "cuboid",
}
MASKS = "masks"  # SEGMENTATION only: see core.masks
CLASSIFICATIONS = "classifications"  # answers to the schema's classifications
CLASSIFICATION = "classification"  # a tracker of this type holds a video's answers
MIN_POINTS = {"polygon": 3, "line": 2, "landmark": 1}
CUBOID_POINTS = 8
FRAME_FLAGS = ("hidden", "occluded", "interpolated")
"""Per-frame booleans of a tracker's geometry: not seen on the frame, seen behind something,
computed between keyframes by the editor (VIDEO keyframe interpolation)."""
_EPSILON = 1e-9
_SHAPE_KEYS = tuple(IMAGE_KEYS)
_NO_SHAPES = ((),) * len(_SHAPE_KEYS)
_TRACK_BASES = (Base.VIDEO, Base.SENSOR_FUSION, Base.POINT_CLOUD_SEGMENTATION)


def uses_tracks(base: Base) -> bool:
    """True where annotations are trackers across frames."""
    return base in _TRACK_BASES


def video_segmentation(base: Base, data: dict[str, Any]) -> bool:
    """True for a SEGMENTATION job of a video (``video_data``): masks per frame, no shapes."""
    return base is Base.SEGMENTATION and isinstance(data, dict) and "video_data" in data


def empty(base: Base) -> Any:
    """The annotations of a job nobody has touched."""
    return [] if uses_tracks(base) else {key: [] for key in IMAGE_KEYS}


def empty_image() -> dict[str, list[Any]]:
    """The annotations of an untouched IMAGE job: no object of any shape."""
    return {key: [] for key in IMAGE_KEYS}


def frame_ids(base: Base, data: dict[str, Any]) -> list[str]:
    """The frame ids a job's annotations may refer to."""
    if base is Base.VIDEO or video_segmentation(base, data):
        return [f["frame_id"] for f in data["video_data"]["frames"]]
    if base is Base.SENSOR_FUSION:
        return [f["frame_id"] for f in data["sensor_data"]["frames"]]
    return ["0"]  # single-frame jobs


def image_sources(base: Base, data: dict[str, Any], *, frames: int = 3) -> list[str]:
    """The URLs of the images an editor shows first: the image, or the first ``frames`` frames'
    (for SENSOR_FUSION, each camera's image of those frames)."""
    if base is Base.VIDEO or video_segmentation(base, data):
        return [f["src"] for f in data["video_data"]["frames"][:frames]]
    if base is Base.SENSOR_FUSION:
        cameras = {
            m["id"] for m in data["sensor_data"]["sensor_meta"] if m.get("modality") == "camera"
        }
        return [
            s["data_url"]
            for f in data["sensor_data"]["frames"][:frames]
            for s in f.get("sensors", [])
            if s.get("sensor_id") in cameras
        ]
    url = data.get("image_url")
    return [url] if isinstance(url, str) else []


def sensor_ids(data: dict[str, Any]) -> set[str]:
    """The sensors of a sensor job (empty for other bases)."""
    meta = data.get("sensor_data", {}).get("sensor_meta", []) if isinstance(data, dict) else []
    return {m["id"] for m in meta if isinstance(m, dict) and "id" in m}


def _fail(where: str, message: str) -> InvalidInput:
    return InvalidInput(f"{where}: {message}")


def validate(
    annotations: object,
    *,
    base: Base,
    schema: LabelSchema,
    data: dict[str, Any],
    point_counts: Mapping[tuple[str, str], int] | None = None,
) -> int:
    """Raise ``InvalidInput`` naming the offending path, else return the number of objects.

    ``point_counts`` (points of each converted lidar file by ``(frame_id, sensor_id)``) bounds
    point-segmentation indices; without it they are checked for shape and overlap only.
    """
    ids: set[str] = set()
    if uses_tracks(base):
        if not isinstance(annotations, list):
            raise _fail("annotations", "must be a list of trackers")
        context = _TrackContext(
            schema=schema,
            frames=set(frame_ids(base, data)),
            sensors=sensor_ids(data),
            shapes=SHAPES_BY_BASE.get(base, SHAPES),
            points=_point_labels(base, data, point_counts),
        )
        asked: set[str] = set()
        for i, tracker in enumerate(annotations):
            if isinstance(tracker, dict) and tracker.get("type") == CLASSIFICATION:
                _classification(tracker, f"annotations[{i}]", context, ids, asked)
                continue
            _tracker(tracker, f"annotations[{i}]", context, ids)
        return len(annotations)
    if not isinstance(annotations, dict):
        raise _fail("annotations", f"must be an object with {', '.join(IMAGE_KEYS)}")
    count = 0
    for key, items in annotations.items():
        if key == MASKS and base is Base.SEGMENTATION:
            frames = set(frame_ids(base, data))
            count += masks.validate_masks(
                items, f"annotations.{key}", schema=schema, frames=frames, ids=ids
            )
            continue
        if key == CLASSIFICATIONS:
            count += _image_classifications(items, f"annotations.{key}", schema, ids)
            continue
        shape = IMAGE_KEYS.get(key)
        if shape is None:
            raise _fail(f"annotations.{key}", f"unknown; use {', '.join(IMAGE_KEYS)}")
        if not isinstance(items, list):
            raise _fail(f"annotations.{key}", "must be a list")
        if items and video_segmentation(base, data):
            raise _fail(f"annotations.{key}", "a video segmentation job has masks only")
        for i, item in enumerate(items):
            where = f"annotations.{key}[{i}]"
            if not isinstance(item, dict):
                raise _fail(where, "must be an object")
            _object_id(item, where, ids)
            label_class = _label(item, where, schema, shape)
            _attributes(item.get("attributes"), f"{where}.attributes", label_class)
            _geometry(shape, item, where)
            _skeleton(label_class, shape, item, where)
        count += len(items)
    return count


def _classification_of(
    item: dict[str, Any], where: str, schema: LabelSchema, asked: set[str]
) -> Classification:
    name = item.get("label")
    found = schema.classifications.get(name) if isinstance(name, str) else None
    if found is None:
        known = ", ".join(schema.classifications) or "none"
        raise _fail(f"{where}.label", f"{name!r} is not a classification of this project ({known})")
    if found.name in asked:
        raise _fail(f"{where}.label", f"{found.name!r} is answered twice")
    asked.add(found.name)
    return found


def _image_classifications(items: object, where: str, schema: LabelSchema, ids: set[str]) -> int:
    """``[{"_id", "label": classification name, "attributes"}]``, one per classification."""
    if not isinstance(items, list):
        raise _fail(where, "must be a list")
    asked: set[str] = set()
    for i, item in enumerate(items):
        at = f"{where}[{i}]"
        if not isinstance(item, dict):
            raise _fail(at, "must be an object")
        _object_id(item, at, ids)
        found = _classification_of(item, at, schema, asked)
        _attributes(item.get("attributes"), f"{at}.attributes", found)
    return len(items)


def _classification(
    tracker: dict[str, Any], where: str, context: _TrackContext, ids: set[str], asked: set[str]
) -> None:
    """A video's answers: ``{"_id", "type": "classification", "label", "attributes"}`` for the
    whole video, or ``"frames": {frame_id: {"attributes"}}`` for a per-frame one."""
    _object_id(tracker, where, ids)
    found = _classification_of(tracker, where, context.schema, asked)
    if not found.per_frame:
        if "frames" in tracker:
            raise _fail(f"{where}.frames", f"{found.name!r} is answered once, not per frame")
        _attributes(tracker.get("attributes"), f"{where}.attributes", found)
        return
    if tracker.get("attributes"):
        raise _fail(f"{where}.attributes", f"{found.name!r} is answered per frame (frames)")
    per_frame = tracker.get("frames")
    if not isinstance(per_frame, dict):
        raise _fail(f"{where}.frames", 'must map frame ids to {"attributes": ...}')
    for frame_id, answer in per_frame.items():
        at = f"{where}.frames.{frame_id}"
        if frame_id not in context.frames:
            raise _fail(at, "is not a frame of this job")
        if not isinstance(answer, dict):
            raise _fail(at, 'must be {"attributes": ...}')
        _attributes(answer.get("attributes"), f"{at}.attributes", found)


def _object_id(item: dict[str, Any], where: str, ids: set[str]) -> None:
    object_id = item.get("_id")
    if not isinstance(object_id, str) or not object_id:
        raise _fail(f"{where}._id", "must be a non-empty string")
    if object_id in ids:
        raise _fail(f"{where}._id", f"{object_id!r} is used twice in this job")
    ids.add(object_id)


def _label(item: dict[str, Any], where: str, schema: LabelSchema, shape: str) -> LabelClass | None:
    label = item.get("label")
    if not isinstance(label, str) or not label:
        raise _fail(f"{where}.label", "must be a non-empty string")
    if schema.open:
        return None
    label_class = schema.classes.get(label)
    if label_class is None:
        raise _fail(f"{where}.label", f"{label!r} is not a class of this project")
    if shape not in label_class.shapes:
        raise _fail(where, f"a {label!r} may not be drawn as a {shape}")
    return label_class


def _attributes(value: object, where: str, label_class: LabelClass | Classification | None) -> None:
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise _fail(where, 'must be an object of {name: {"value": ...}}')
    for name, wrapped in value.items():
        if not isinstance(wrapped, dict) or "value" not in wrapped:
            raise _fail(f"{where}.{name}", 'must be {"value": ...}')
    if label_class is None:
        return
    for name, wrapped in value.items():
        attribute = label_class.attributes.get(name)
        if attribute is None:
            raise _fail(f"{where}.{name}", f"not an attribute of {label_class.name!r}")
        _attribute_value(attribute.type, attribute.options, wrapped["value"], f"{where}.{name}")
    for attribute in label_class.attributes.values():
        if attribute.required and _blank(value.get(attribute.name, {}).get("value")):
            raise _fail(f"{where}.{attribute.name}", "is required")


def _blank(value: object) -> bool:
    return value is None or value == "" or value == []


def _attribute_value(kind: str, options: tuple[str, ...], value: object, where: str) -> None:
    if value is None:
        return
    if kind == "select":
        if value not in options:
            raise _fail(where, f"must be one of {', '.join(options)}")
    elif kind == "multiselect":
        if not isinstance(value, list) or any(v not in options for v in value):
            raise _fail(where, f"must be a list of {', '.join(options)}")
        if len(set(value)) != len(value):
            raise _fail(where, "must not repeat an option")
    elif kind == "text":
        if not isinstance(value, str):
            raise _fail(where, "must be a string")
    elif kind == "number":
        if type(value) not in (int, float) or not math.isfinite(value):  # type: ignore[arg-type]
            raise _fail(where, "must be a number")
    elif kind == "boolean" and not isinstance(value, bool):
        raise _fail(where, "must be true or false")


def _point(value: object, where: str) -> tuple[float, float]:
    if not isinstance(value, dict):
        raise _fail(where, 'must be {"x", "y"}')
    coords = []
    for axis in ("x", "y"):
        v = value.get(axis)
        if type(v) not in (int, float) or not math.isfinite(v):  # type: ignore[arg-type]
            raise _fail(f"{where}.{axis}", "must be a number")
        if not 0 <= v <= 1:  # type: ignore[operator]
            raise _fail(f"{where}.{axis}", "must be within [0, 1] (normalised)")
        coords.append(float(v))  # type: ignore[arg-type]
    return coords[0], coords[1]


def _geometry(shape: str, item: dict[str, Any], where: str) -> None:
    if shape == "rectangle":
        corners = item.get("coordinates")
        if not isinstance(corners, list) or len(corners) != 4:
            raise _fail(f"{where}.coordinates", "must be the 4 corners TL, TR, BR, BL")
        tl, tr, br, bl = (_point(c, f"{where}.coordinates[{i}]") for i, c in enumerate(corners))
        aligned = (
            _close(tl[1], tr[1])
            and _close(bl[1], br[1])
            and _close(tl[0], bl[0])
            and _close(tr[0], br[0])
        )
        if not aligned or tl[0] > tr[0] or tl[1] > bl[1]:
            raise _fail(f"{where}.coordinates", "corners must be TL, TR, BR, BL of a rectangle")
        return
    points = item.get("points")
    if not isinstance(points, dict):
        raise _fail(f"{where}.points", 'must be {"p1": {"x", "y"}, ...}')
    for name, point in points.items():
        _point(point, f"{where}.points.{name}")
    if shape == "cuboid":
        if len(points) != CUBOID_POINTS:
            raise _fail(f"{where}.points", f"a cuboid has {CUBOID_POINTS} points")
        return
    if len(points) < MIN_POINTS[shape]:
        raise _fail(f"{where}.points", f"a {shape} needs at least {MIN_POINTS[shape]} points")
    edges = item.get("edges")
    if shape == "polygon" and edges is not None:
        if not isinstance(edges, dict):
            raise _fail(f"{where}.edges", 'must be {"e1": ["p1", "p2"], ...}')
        for name, edge in edges.items():
            joined = isinstance(edge, list) and len(edge) == 2
            if not joined or not all(isinstance(p, str) and p in points for p in edge):
                raise _fail(f"{where}.edges.{name}", "must join two of the polygon's points")


def _skeleton(label_class: LabelClass | None, shape: str, item: dict[str, Any], where: str) -> None:
    """A landmark of a class with a skeleton names exactly the skeleton's points; its edges,
    if any, are edges of the skeleton."""
    if shape != "landmark" or label_class is None or label_class.skeleton is None:
        return
    skeleton = label_class.skeleton
    points = item["points"]
    if set(points) != set(skeleton.points):
        missing = [p for p in skeleton.points if p not in points]
        extra = [p for p in points if p not in skeleton.points]
        raise _fail(
            f"{where}.points",
            f"a {label_class.name!r} names the skeleton's points "
            f"(missing: {', '.join(missing) or 'none'}; unknown: {', '.join(extra) or 'none'})",
        )
    edges = item.get("edges")
    if edges is None:
        return
    allowed = {frozenset(e) for e in skeleton.edges}
    if not isinstance(edges, dict):
        raise _fail(f"{where}.edges", 'must be {"e1": [name, name], ...}')
    for name, edge in edges.items():
        if not isinstance(edge, list) or len(edge) != 2 or frozenset(edge) not in allowed:
            raise _fail(f"{where}.edges.{name}", "is not an edge of the skeleton")


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= _EPSILON


class _TrackContext:
    """What trackers of one job are checked against."""

    def __init__(
        self,
        *,
        schema: LabelSchema,
        frames: set[str],
        sensors: set[str],
        shapes: tuple[str, ...],
        points: annotations3d.PointLabels,
    ) -> None:
        self.schema = schema
        self.frames = frames
        self.sensors = sensors
        self.shapes = shapes
        self.points = points


def _point_labels(
    base: Base, data: dict[str, Any], counts: Mapping[tuple[str, str], int] | None
) -> annotations3d.PointLabels:
    first: dict[str, str] = {}
    for found in lidar_files(base.value, data):
        first.setdefault(found.frame_id, found.sensor_id)
    return annotations3d.PointLabels(counts=counts, lidar_of_frame=first)


def _tracker(tracker: object, where: str, context: _TrackContext, ids: set[str]) -> None:
    if not isinstance(tracker, dict):
        raise _fail(where, "must be an object")
    _object_id(tracker, where, ids)
    shape = tracker.get("type")
    if shape not in context.shapes:
        raise _fail(f"{where}.type", f"must be one of {', '.join(context.shapes)}")
    schema, frames, sensors = context.schema, context.frames, context.sensors
    label_class = _label(tracker, where, schema, str(shape))
    _attributes(tracker.get("attributes"), f"{where}.attributes", label_class)
    if shape == "cuboid3d":
        annotations3d.check_stationary(tracker, where)
    per_frame = tracker.get("frames")
    if not isinstance(per_frame, dict) or not per_frame:
        raise _fail(f"{where}.frames", "must map at least one frame id to its geometry")
    if label_class is not None and not label_class.tracked and len(per_frame) > 1:
        raise _fail(f"{where}.frames", f"{label_class.name!r} objects are not tracked")
    for frame_id, geometry in per_frame.items():
        at = f"{where}.frames.{frame_id}"
        if frame_id not in frames:
            raise _fail(at, "is not a frame of this job")
        if not isinstance(geometry, dict):
            raise _fail(at, "must be an object")
        if shape == "cuboid3d":
            annotations3d.check_cuboid3d(geometry, at)
            continue
        if shape == "points":
            context.points.check(geometry, at, frame_id)
            continue
        for name in FRAME_FLAGS:
            if name in geometry and not isinstance(geometry[name], bool):
                raise _fail(f"{at}.{name}", "must be true or false")
        sensor = geometry.get("sensor_id")
        if sensor is not None and (not isinstance(sensor, str) or sensor not in sensors):
            raise _fail(f"{at}.sensor_id", f"{sensor!r} is not a sensor of this job")
        _geometry(str(shape), geometry, at)
        _skeleton(label_class, str(shape), geometry, at)


def result_document(base: Base, data: dict[str, Any], annotations: Any) -> dict[str, Any]:
    """The result JSON of a completed job (API.md 3.6)."""
    if not uses_tracks(base):
        # map/zip rather than a comprehension: exports call this for millions of jobs
        found = map(annotations.get, _SHAPE_KEYS, _NO_SHAPES)
        full = dict(zip(_SHAPE_KEYS, map(list, found), strict=True))
        if annotations.get(CLASSIFICATIONS):
            full[CLASSIFICATIONS] = list(annotations[CLASSIFICATIONS])
        image: dict[str, Any] = {"annotations": full, "image_url": data.get("image_url")}
        if base is Base.SEGMENTATION:
            entries = masks.result_entries(list(annotations.get(MASKS, [])))
            if video_segmentation(base, data):
                video = {"annotation_data": {"annotations": entries}}
                return {"data": {**video, "video_data": data.get("video_data")}}
            image["annotation_data"] = {"annotations": entries}
        return {"data": image}
    body: dict[str, Any] = {"annotation_data": {"annotations": list(annotations)}}
    if base is Base.VIDEO:
        body["video_data"] = data.get("video_data")
    else:
        body["sensor_data"] = data.get("sensor_data")
    return {"data": body}


def prelabels(base: Base, data: dict[str, Any]) -> Any:
    """The first draft of a job: its ``maker_response`` when it has the right layout."""
    maker = data.get("maker_response")
    if uses_tracks(base):
        return maker if isinstance(maker, list) else empty(base)
    # A SEGMENTATION job's raster pre-label (``maker_response.raster``) is a PNG URL the editor
    # loads itself; its shapes, if any, are pre-labels as for IMAGE.
    keys = (
        set(IMAGE_KEYS) | {CLASSIFICATIONS} | ({"raster"} if base is Base.SEGMENTATION else set())
    )
    if isinstance(maker, dict) and set(maker) <= keys:
        draft = {key: maker.get(key, []) for key in IMAGE_KEYS}
        if maker.get(CLASSIFICATIONS):
            draft[CLASSIFICATIONS] = maker[CLASSIFICATIONS]
        return draft
    return empty(base)


def starting_draft(base: Base, schema: LabelSchema, data: dict[str, Any]) -> Any:
    """What a job nobody has worked on starts from: its pre-labels if they are valid for the
    project, else nothing."""
    draft = prelabels(base, data)
    try:
        validate(draft, base=base, schema=schema, data=data)
    except InvalidInput:
        return empty(base)
    return draft


def count(base: Base, annotations: Iterable[Any] | dict[str, Any]) -> int:
    """The number of annotation objects."""
    if isinstance(annotations, dict):
        return sum(len(v) for v in annotations.values() if isinstance(v, list))
    return len(list(annotations))
