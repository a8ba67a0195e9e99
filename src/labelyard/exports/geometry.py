"""Boxes and polygons of image annotations, from normalised coordinates to what formats need.

Annotations are normalised to [0, 1] with the origin top-left (docs/workflow.md): a rectangle
has ``coordinates``, its 4 corners; a polygon has ``points`` ``{"p1": {"x", "y"}, ...}`` and
optional ``edges``.
"""

from __future__ import annotations

import re
from typing import Any

Box = tuple[float, float, float, float]
"""x0, y0, x1, y1 (left, top, right, bottom)."""

_DIGITS = re.compile(r"(\d+)")


def _xy(point: Any) -> tuple[float, float] | None:
    if not isinstance(point, dict):
        return None
    x, y = point.get("x"), point.get("y")
    if not isinstance(x, int | float) or not isinstance(y, int | float):
        return None
    return float(x), float(y)


def rectangle_box(item: Any) -> Box | None:
    """The normalised box of a rectangle object; None if it has no usable corners."""
    corners = item.get("coordinates") if isinstance(item, dict) else None
    if not isinstance(corners, list) or not corners:
        return None
    try:  # the hot path of box formats: corners were validated when the job was submitted
        # min() and max() by hand (the same comparisons): one pass, no lists
        first = corners[0]
        x0 = x1 = first["x"]
        y0 = y1 = first["y"]
        for corner in corners:
            x = corner["x"]
            y = corner["y"]
            if x < x0:
                x0 = x
            if x > x1:
                x1 = x
            if y < y0:
                y0 = y
            if y > y1:
                y1 = y
        return float(x0), float(y0), float(x1), float(y1)
    except (TypeError, KeyError, ValueError):
        return None


def _natural(name: str) -> list[Any]:
    return [int(part) if part.isdigit() else part for part in _DIGITS.split(name)]


def polygon_points(item: Any) -> list[tuple[float, float]] | None:
    """A polygon's vertices in drawing order; None if it has fewer than 3 usable points.

    The order follows the ``edges`` when they form one ring, else the point names in natural
    order (``p1, p2, ..., p10``): PostgreSQL's JSONB does not keep the order of object keys.
    """
    raw = item.get("points") if isinstance(item, dict) else None
    if not isinstance(raw, dict):
        return None
    named: dict[str, tuple[float, float]] = {}
    for name, point in raw.items():
        xy = _xy(point)
        if xy is None:
            return None
        named[str(name)] = xy
    if len(named) < 3:
        return None
    order = _ring(item.get("edges"), set(named)) or sorted(named, key=_natural)
    return [named[name] for name in order]


def _ring(edges: Any, names: set[str]) -> list[str] | None:
    """The points in the order the edges visit them, if the edges form one ring over them."""
    if not isinstance(edges, dict) or len(edges) != len(names):
        return None
    neighbours: dict[str, list[str]] = {name: [] for name in names}
    for edge in edges.values():
        if not (isinstance(edge, list) and len(edge) == 2 and all(p in names for p in edge)):
            return None
        a, b = edge
        neighbours[a].append(b)
        neighbours[b].append(a)
    if any(len(linked) != 2 for linked in neighbours.values()):
        return None
    start = min(names, key=_natural)
    order, previous, current = [start], start, min(neighbours[start], key=_natural)
    while current != start and len(order) < len(names):
        order.append(current)
        a, b = neighbours[current]
        previous, current = current, (b if a == previous else a)
    return order if current == start and len(order) == len(names) else None


def points_box(points: list[tuple[float, float]]) -> Box:
    """The bounding box of points."""
    xs = [x for x, _ in points]
    ys = [y for _, y in points]
    return min(xs), min(ys), max(xs), max(ys)


def polygon_area(points: list[tuple[float, float]]) -> float:
    """The area enclosed by a polygon (shoelace formula), in the units of its points."""
    total = 0.0
    for (x0, y0), (x1, y1) in zip(points, points[1:] + points[:1], strict=True):
        total += x0 * y1 - x1 * y0
    return abs(total) / 2


def attribute_values(item: Any) -> dict[str, Any]:
    """An object's attributes as ``{name: value}`` (unwrapped from ``{"value": ...}``)."""
    attributes = item.get("attributes") if isinstance(item, dict) else None
    if not attributes or not isinstance(attributes, dict):
        return {}
    return {
        name: wrapped.get("value")
        for name, wrapped in attributes.items()
        if isinstance(wrapped, dict)
    }
