"""COCO's box figures: ``_box_pixels`` gives exactly ``round(v, 2)``'s floats, bit for bit."""

from __future__ import annotations

import random
import struct

from labelyard.exports.coco import _box_pixels


def _rounded(x0: float, y0: float, x1: float, y1: float, width: int, height: int) -> list[float]:
    """What COCO exports wrote before, with ``round``."""
    w, h = round((x1 - x0) * width, 2), round((y1 - y0) * height, 2)
    return [round(x0 * width, 2), round(y0 * height, 2), w, h, round(w * h, 2)]


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
        (-0.0, 0.0, -0.001, 0.001, 1920, 1080),
        (-0.25, -0.5, 0.1, 0.2, 1920, 1080),
        (0.1, 0.2, 0.3, 0.4, 10**9, 10**10),  # beyond the arithmetic's range: round's own
        (1e-9, 1e-7, 2.675, 1.005, 1, 1),
        (float("inf"), 0.0, float("inf"), 1.0, 1, 1),
    ]
    for case in cases:
        got, want = _box_pixels(*case), _rounded(*case)
        assert [repr(v) for v in got] == [repr(v) for v in want], case
        assert _bits([v for v in got if v == v]) == _bits([v for v in want if v == v]), case
