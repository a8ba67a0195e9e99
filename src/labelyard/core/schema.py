"""A project's label schema: its classes, the shapes each may use, and their attributes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from labelyard.core.model import Base
from labelyard.core.urls import url_problem
from labelyard.errors import InvalidInput

SHAPES = ("rectangle", "polygon", "line", "landmark", "cuboid")
# Shapes in lidar space: a 3D box, and a set of labelled points (point segmentation).
SHAPES_3D = ("cuboid3d", "points")
SHAPES_BY_BASE = {
    Base.SENSOR_FUSION: (*SHAPES, "cuboid3d"),
    Base.POINT_CLOUD_SEGMENTATION: SHAPES_3D,
}
ATTRIBUTE_TYPES = ("select", "multiselect", "text", "number", "boolean")
TRACKING_BASES = (Base.VIDEO, Base.SENSOR_FUSION, Base.POINT_CLOUD_SEGMENTATION)


@dataclass(frozen=True, slots=True)
class Attribute:
    """One attribute a class's objects carry."""

    name: str
    type: str
    options: tuple[str, ...] = ()
    required: bool = False


@dataclass(frozen=True, slots=True)
class Skeleton:
    """A landmark class's named points (in the order they are placed) and the edges between
    them (e.g. a human pose)."""

    points: tuple[str, ...]
    edges: tuple[tuple[str, str], ...] = ()

    def to_json(self) -> dict[str, Any]:
        """As the schema document has it."""
        return {"points": list(self.points), "edges": [list(e) for e in self.edges]}


@dataclass(frozen=True, slots=True)
class LabelClass:
    """One class: the shapes it may be drawn with and its attributes."""

    name: str
    shapes: tuple[str, ...]
    tracked: bool
    attributes: Mapping[str, Attribute] = field(default_factory=dict)
    skeleton: Skeleton | None = None


@dataclass(frozen=True, slots=True)
class Classification:
    """A question about the whole image (or video), or, ``per_frame``, about each video frame:
    its answers are attributes."""

    name: str
    per_frame: bool
    attributes: Mapping[str, Attribute] = field(default_factory=dict)


DEFAULT_ASSIST_TIMEOUT_SECONDS = 10.0
MAX_ASSIST_TIMEOUT_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class Assist:
    """The project's assist service (the editor's smart tool): where labelyard POSTs prompts."""

    url: str
    timeout_seconds: float = DEFAULT_ASSIST_TIMEOUT_SECONDS


@dataclass(frozen=True, slots=True)
class LabelSchema:
    """A project's classes by name; an empty schema accepts any label and attributes."""

    classes: Mapping[str, LabelClass] = field(default_factory=dict)
    assist: Assist | None = None
    classifications: Mapping[str, Classification] = field(default_factory=dict)

    @property
    def open(self) -> bool:
        """True when no classes are declared (labels are free)."""
        return not self.classes

    def to_json(self, *, for_workers: bool = False) -> dict[str, Any]:
        """The schema as clients send and read it; workers' editors learn only whether an assist
        service is set (``"assist": true``), never its address."""
        document: dict[str, Any] = {"classes": self._classes_json()}
        if self.classifications:
            document["classifications"] = [
                {
                    "name": c.name,
                    "per_frame": c.per_frame,
                    "attributes": [_attribute_json(a) for a in c.attributes.values()],
                }
                for c in self.classifications.values()
            ]
        if self.assist is not None:
            document["assist"] = (
                True
                if for_workers
                else {"url": self.assist.url, "timeout_seconds": self.assist.timeout_seconds}
            )
        return document

    def _classes_json(self) -> list[dict[str, Any]]:
        classes = []
        for c in self.classes.values():
            item: dict[str, Any] = {
                "name": c.name,
                "shapes": list(c.shapes),
                "tracked": c.tracked,
                "attributes": [_attribute_json(a) for a in c.attributes.values()],
            }
            if c.skeleton is not None:
                item["skeleton"] = c.skeleton.to_json()
            classes.append(item)
        return classes


def _attribute_json(a: Attribute) -> dict[str, Any]:
    return {"name": a.name, "type": a.type, "options": list(a.options), "required": a.required}


def _fail(where: str, message: str) -> InvalidInput:
    return InvalidInput(f"{where}: {message}")


def _name(value: object, where: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 255:
        raise _fail(where, "must be a string of 1 to 255 characters")
    return value


def parse_schema(value: object, base: Base) -> LabelSchema:
    """Validate a schema document ``{"classes": [...]}`` for a project of ``base``."""
    if value is None:
        return LabelSchema()
    if not isinstance(value, dict) or not isinstance(value.get("classes"), list):
        raise _fail("schema", 'must be an object with a "classes" list')
    classes: dict[str, LabelClass] = {}
    for i, item in enumerate(value["classes"]):
        where = f"schema.classes[{i}]"
        if not isinstance(item, dict):
            raise _fail(where, "must be an object")
        name = _name(item.get("name"), f"{where}.name")
        if name in classes:
            raise _fail(f"{where}.name", f"{name!r} appears twice")
        allowed = SHAPES_BY_BASE.get(base, SHAPES)
        shapes = item.get("shapes", list(allowed))
        if (
            not isinstance(shapes, list)
            or not shapes
            or any(shape not in allowed for shape in shapes)
        ):
            raise _fail(f"{where}.shapes", f"must be a non-empty list of {', '.join(allowed)}")
        tracked = item.get("tracked", base in TRACKING_BASES)
        if not isinstance(tracked, bool):
            raise _fail(f"{where}.tracked", "must be a boolean")
        if tracked and base not in TRACKING_BASES:
            raise _fail(f"{where}.tracked", f"objects are not tracked in {base.value} projects")
        attributes = _attributes(item.get("attributes", []), where)
        skeleton = _skeleton(item.get("skeleton"), f"{where}.skeleton")
        if skeleton is not None and "landmark" not in shapes:
            raise _fail(f"{where}.skeleton", "a skeleton needs the landmark shape")
        classes[name] = LabelClass(
            name=name,
            shapes=tuple(dict.fromkeys(shapes)),
            tracked=tracked,
            attributes=attributes,
            skeleton=skeleton,
        )
    return LabelSchema(
        classes=classes,
        assist=_assist(value.get("assist")),
        classifications=_classifications(value.get("classifications", []), base),
    )


MAX_SKELETON_POINTS = 200


def _skeleton(raw: object, where: str) -> Skeleton | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("points"), list):
        raise _fail(where, 'must be {"points": [names], "edges": [[name, name], ...]}')
    points = raw["points"]
    if not points or len(points) > MAX_SKELETON_POINTS:
        raise _fail(f"{where}.points", f"must list 1 to {MAX_SKELETON_POINTS} point names")
    for i, point in enumerate(points):
        _name(point, f"{where}.points[{i}]")
    if len(set(points)) != len(points):
        raise _fail(f"{where}.points", "must not repeat a name")
    edges: list[tuple[str, str]] = []
    raw_edges = raw.get("edges", [])
    if not isinstance(raw_edges, list):
        raise _fail(f"{where}.edges", "must be a list of [name, name]")
    for i, edge in enumerate(raw_edges):
        joined = isinstance(edge, list) and len(edge) == 2 and edge[0] != edge[1]
        if not joined or not all(p in points for p in edge):
            raise _fail(f"{where}.edges[{i}]", "must join two different points of the skeleton")
        pair = (str(edge[0]), str(edge[1]))
        if pair in edges or pair[::-1] in edges:
            raise _fail(f"{where}.edges[{i}]", "appears twice")
        edges.append(pair)
    return Skeleton(points=tuple(points), edges=tuple(edges))


def _attributes(raw_attributes: object, where: str) -> dict[str, Attribute]:
    attributes: dict[str, Attribute] = {}
    if not isinstance(raw_attributes, list):
        raise _fail(f"{where}.attributes", "must be a list")
    for j, raw in enumerate(raw_attributes):
        attribute = _attribute(raw, f"{where}.attributes[{j}]")
        if attribute.name in attributes:
            raise _fail(f"{where}.attributes[{j}].name", f"{attribute.name!r} appears twice")
        attributes[attribute.name] = attribute
    return attributes


def _classifications(raw: object, base: Base) -> dict[str, Classification]:
    if not isinstance(raw, list):
        raise _fail("schema.classifications", "must be a list")
    found: dict[str, Classification] = {}
    for i, item in enumerate(raw):
        where = f"schema.classifications[{i}]"
        if not isinstance(item, dict):
            raise _fail(where, "must be an object")
        name = _name(item.get("name"), f"{where}.name")
        if name in found:
            raise _fail(f"{where}.name", f"{name!r} appears twice")
        per_frame = item.get("per_frame", False)
        if not isinstance(per_frame, bool):
            raise _fail(f"{where}.per_frame", "must be a boolean")
        if per_frame and base is not Base.VIDEO:
            raise _fail(f"{where}.per_frame", "only VIDEO projects have frames to classify")
        attributes = _attributes(item.get("attributes", []), where)
        if not attributes:
            raise _fail(f"{where}.attributes", "a classification needs at least one attribute")
        found[name] = Classification(name=name, per_frame=per_frame, attributes=attributes)
    return found


def _assist(raw: object) -> Assist | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise _fail("schema.assist", 'must be an object {"url": ..., "timeout_seconds": ...}')
    problem = url_problem(raw.get("url"))
    if problem is not None:
        raise _fail("schema.assist.url", problem)
    timeout = raw.get("timeout_seconds", DEFAULT_ASSIST_TIMEOUT_SECONDS)
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, int | float)
        or not 0 < timeout <= MAX_ASSIST_TIMEOUT_SECONDS
    ):
        raise _fail(
            "schema.assist.timeout_seconds",
            f"must be a number of seconds over 0, at most {MAX_ASSIST_TIMEOUT_SECONDS:g}",
        )
    return Assist(url=str(raw["url"]), timeout_seconds=float(timeout))


def _attribute(raw: object, where: str) -> Attribute:
    if not isinstance(raw, dict):
        raise _fail(where, "must be an object")
    name = _name(raw.get("name"), f"{where}.name")
    kind = raw.get("type")
    if kind not in ATTRIBUTE_TYPES:
        raise _fail(f"{where}.type", f"must be one of {', '.join(ATTRIBUTE_TYPES)}")
    options = raw.get("options", [])
    if not isinstance(options, list) or any(not isinstance(o, str) for o in options):
        raise _fail(f"{where}.options", "must be a list of strings")
    if kind in ("select", "multiselect") and not options:
        raise _fail(f"{where}.options", f"a {kind} attribute needs options")
    if len(set(options)) != len(options):
        raise _fail(f"{where}.options", "must not repeat")
    required = raw.get("required", False)
    if not isinstance(required, bool):
        raise _fail(f"{where}.required", "must be a boolean")
    return Attribute(name=name, type=str(kind), options=tuple(options), required=required)
