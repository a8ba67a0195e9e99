"""COCO's box figures: ``_rectangle_pixels`` gives exactly ``round(v, 2)``'s floats, bit for bit,
of ``rectangle_box``'s box."""

from __future__ import annotations

import random
import struct
from typing import Any

from labelyard.exports.coco import _rectangle_pixels
from labelyard.exports.geometry import rectangle_box


def _rounded(x0: float, y0: float, x1: float, y1: float, width: int, height: int) -> list[float]:
    """What COCO exports wrote before, with ``round``."""
    w, h = round((x1 - x0) * width, 2), round((y1 - y0) * height, 2)
    return [round(x0 * width, 2), round(y0 * height, 2), w, h, round(w * h, 2)]


def _corners(x0: float, y0: float, x1: float, y1: float) -> list[dict[str, float]]:
    return [{"x": x0, "y": y0}, {"x": x1, "y": y0}, {"x": x1, "y": y1}, {"x": x0, "y": y1}]


def _box_pixels(x0: float, y0: float, x1: float, y1: float, width: int, height: int) -> list[float]:
    got = _rectangle_pixels({"coordinates": _corners(x0, y0, x1, y1)}, width, height)
    assert got is not None
    return got


def _bits(values: list[float]) -> list[bytes]:
    return [struct.pack("<d", v) for v in values]  # tells 0.0 from -0.0, and any last bit


def test_boxes_round_as_round_does() -> None:
    rng = random.Random(7)
    sizes = [(1, 1), (7, 3), (640, 480), (1920, 1080), (4000, 3000), (99_999, 12_345)]
    for width, height in sizes:
        for _ in range(20_000):
            a, b, c, d = (rng.random() for _ in range(4))
            box = (min(a, b), min(c, d), max(a, b), max(c, d))
            assert _bits(_box_pixels(*box, width, height)) == _bits(_rounded(*box, width, height))


def test_halves_zeros_negatives_and_the_unusual_round_as_round_does() -> None:
    cases: list[tuple[float, float, float, float, int, int]] = []
    # Thousandths on a 1-pixel image: every value a tie in decimal, near one in binary.
    for k in range(0, 20_001):
        v = k / 1000
        cases.append((v, v / 2, v + 0.125, v + 1.005, 1, 1))
    # Exact binary halves of a hundredth (0.125 * 1 ...), zero, negative zero, negatives.
    cases += [
        (0.125, 0.375, 0.625, 0.875, 1, 1),
        (0.0, -0.0, 0.0, 0.0, 1920, 1080),
        (-0.001, 0.0, -0.0, 0.001, 1920, 1080),
        (-0.25, -0.5, 0.1, 0.2, 1920, 1080),
        (0.1, 0.2, 0.3, 0.4, 10**9, 10**10),  # beyond the arithmetic's range: round's own
        (1e-9, 1e-7, 2.675, 1.005, 1, 1),
        (float("inf"), 0.0, float("inf"), 1.0, 1, 1),
    ]
    for case in cases:
        got = _box_pixels(*case)
        corners = _corners(*case[:4])
        box = rectangle_box({"coordinates": corners})  # (min and max keep the first zero's sign)
        assert box is not None
        want = _rounded(*box, *case[4:])
        assert [repr(v) for v in got] == [repr(v) for v in want], case
        assert _bits([v for v in got if v == v]) == _bits([v for v in want if v == v]), case


def test_rectangles_without_a_box_have_none_and_the_others_that_box() -> None:
    items: list[Any] = [
        None,
        "box",
        {},
        {"coordinates": []},
        {"coordinates": {"x": 1}},
        {"coordinates": [{"x": 0.1}]},
        {"coordinates": [{"x": 0.1, "y": 0.2}, {"x": "a", "y": 0.3}]},
        {"coordinates": [{"x": "a", "y": "b"}]},
        {"coordinates": [{"x": "0.25", "y": "0.5"}, {"x": "0.75", "y": "0.5"}]},
        {"coordinates": [{"x": 1, "y": 0}, {"x": 0, "y": 1}]},
        {"coordinates": [{"x": 0.3, "y": 0.9}, {"x": 0.1, "y": 0.2}, {"x": 0.7, "y": 0.4}]},
        {"coordinates": [{"x": True, "y": 0.5}, {"x": 0.2, "y": None}]},
    ]
    for item in items:
        box = rectangle_box(item)
        got = _rectangle_pixels(item, 640, 480)
        if box is None:
            assert got is None, item
        else:
            assert got is not None and _bits(got) == _bits(_rounded(*box, 640, 480)), item
