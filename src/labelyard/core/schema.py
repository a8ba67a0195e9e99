"""A project's label schema: its classes, the shapes each may use, and their attributes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from labelyard.core.model import Base
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
class LabelClass:
    """One class: the shapes it may be drawn with and its attributes."""

    name: str
    shapes: tuple[str, ...]
    tracked: bool
    attributes: Mapping[str, Attribute] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class LabelSchema:
    """A project's classes by name; an empty schema accepts any label and attributes."""

    classes: Mapping[str, LabelClass] = field(default_factory=dict)

    @property
    def open(self) -> bool:
        """True when no classes are declared (labels are free)."""
        return not self.classes

    def to_json(self) -> dict[str, Any]:
        """The schema as clients send and read it."""
        return {
            "classes": [
                {
                    "name": c.name,
                    "shapes": list(c.shapes),
                    "tracked": c.tracked,
                    "attributes": [
                        {
                            "name": a.name,
                            "type": a.type,
                            "options": list(a.options),
                            "required": a.required,
                        }
                        for a in c.attributes.values()
                    ],
                }
                for c in self.classes.values()
            ]
        }


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
        attributes: dict[str, Attribute] = {}
        raw_attributes = item.get("attributes", [])
        if not isinstance(raw_attributes, list):
            raise _fail(f"{where}.attributes", "must be a list")
        for j, raw in enumerate(raw_attributes):
            attribute = _attribute(raw, f"{where}.attributes[{j}]")
            if attribute.name in attributes:
                raise _fail(f"{where}.attributes[{j}].name", f"{attribute.name!r} appears twice")
            attributes[attribute.name] = attribute
        classes[name] = LabelClass(
            name=name, shapes=tuple(dict.fromkeys(shapes)), tracked=tracked, attributes=attributes
        )
    return LabelSchema(classes=classes)


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
