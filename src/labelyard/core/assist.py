"""The assist contract (the editor's smart tool): the prompt labelyard sends, the answer it takes.

labelyard POSTs to a project's assist service (``schema.assist.url``)::

    {"image_url": "https://...", "box": [x1, y1, x2, y2] | null,
     "points": [{"x": 10, "y": 20, "positive": true}, ...], "label": "car" | null}

and takes either answer::

    {"polygon": [[x, y], ...]}                                  # image pixels
    {"mask": {"width": W, "height": H, "png": "<base64 PNG>"}}  # non-zero = the object

A mask is turned into the polygon of its largest region. The editor gets ``{"polygon": [...]}``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from labelyard.errors import InvalidInput

MAX_POINTS = 64
MAX_POLYGON_POINTS = 10_000
MAX_COORDINATE = 1_000_000.0


@dataclass(frozen=True, slots=True)
class Prompt:
    """What the annotator drew: a box, and/or clicks on (positive) or off the object."""

    src: str
    box: tuple[float, float, float, float] | None
    points: tuple[tuple[float, float, bool], ...]
    label: str | None

    def to_service(self, image_url: str) -> dict[str, Any]:
        """The request body sent to the assist service."""
        return {
            "image_url": image_url,
            "box": list(self.box) if self.box is not None else None,
            "points": [{"x": x, "y": y, "positive": positive} for x, y, positive in self.points],
            "label": self.label,
        }


def _number(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput(f"{where} must be a number")
    number = float(value)
    if not math.isfinite(number) or abs(number) > MAX_COORDINATE:
        raise InvalidInput(f"{where} must be a finite number")
    return number


def parse_prompt(body: object) -> Prompt:
    """The editor's ``POST .../assist`` body: ``{"src", "box"?, "points"?, "label"?}``."""
    if not isinstance(body, dict):
        raise InvalidInput("the body must be a JSON object")
    src = body.get("src")
    if not isinstance(src, str) or not src:
        raise InvalidInput("src must be the media URL the prompt was drawn on")
    box: tuple[float, float, float, float] | None = None
    raw_box = body.get("box")
    if raw_box is not None:
        if not isinstance(raw_box, list) or len(raw_box) != 4:
            raise InvalidInput("box must be [x1, y1, x2, y2]")
        x1, y1, x2, y2 = (_number(v, f"box[{i}]") for i, v in enumerate(raw_box))
        if x2 <= x1 or y2 <= y1:
            raise InvalidInput("box must have x1 < x2 and y1 < y2")
        box = (x1, y1, x2, y2)
    raw_points = body.get("points", [])
    if not isinstance(raw_points, list) or len(raw_points) > MAX_POINTS:
        raise InvalidInput(f"points must be a list of at most {MAX_POINTS} points")
    points: list[tuple[float, float, bool]] = []
    for i, point in enumerate(raw_points):
        if not isinstance(point, dict):
            raise InvalidInput(f"points[{i}] must be an object {{x, y, positive}}")
        positive = point.get("positive", True)
        if not isinstance(positive, bool):
            raise InvalidInput(f"points[{i}].positive must be a boolean")
        points.append(
            (
                _number(point.get("x"), f"points[{i}].x"),
                _number(point.get("y"), f"points[{i}].y"),
                positive,
            )
        )
    if box is None and not any(positive for _, _, positive in points):
        raise InvalidInput("a prompt needs a box or at least one positive point")
    label = body.get("label")
    if label is not None and (not isinstance(label, str) or len(label) > 255):
        raise InvalidInput("label must be a string of at most 255 characters")
    return Prompt(src=src, box=box, points=tuple(points), label=label)


class BadAnswer(ValueError):
    """The assist service answered something outside the contract."""


def parse_polygon(raw: object) -> list[list[float]]:
    """A polygon from an answer: at least 3 ``[x, y]`` pairs (or ``{"x", "y"}`` objects)."""
    if not isinstance(raw, list) or not 3 <= len(raw) <= MAX_POLYGON_POINTS:
        raise BadAnswer(f"polygon must be a list of 3 to {MAX_POLYGON_POINTS} points")
    polygon: list[list[float]] = []
    for point in raw:
        if isinstance(point, dict):
            point = [point.get("x"), point.get("y")]
        if not isinstance(point, list) or len(point) != 2:
            raise BadAnswer("each polygon point must be [x, y]")
        try:
            polygon.append([_number(point[0], "x"), _number(point[1], "y")])
        except InvalidInput as exc:
            raise BadAnswer(str(exc)) from None
    return polygon
