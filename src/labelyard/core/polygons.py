"""Exact areas of overlap between simple or self-touching polygons, and of masks' regions.

``polygon_iou`` sweeps vertical slabs: the slab boundaries are every vertex's x and every
x where two edges cross, so inside a slab no edge starts, ends or crosses another. There the
cross-section of each polygon (even-odd rule) is a set of intervals whose ends lie on fixed
edges, so the lengths of A, B and A ∩ B are linear in x and the midline's lengths times the
slab's width are the slab's exact areas. This handles any polygon (concave, L-shaped, with
holes drawn as one ring), not only convex clip polygons as Sutherland-Hodgman does.
Cost: O(E²) for the crossings plus O(slabs * E log E); a box test first skips disjoint pairs.

``box3d_iou`` is the IoU of two 3D boxes turned about the vertical axis (yaw only, as lidar
boxes are compared in KITTI and nuScenes): their footprints' exact overlap (two turned
rectangles, by the slabs above) times their overlap in height.

``region_iou`` is the pixel IoU of two boolean masks of one image size.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

Point = tuple[float, float]
Edge = tuple[Point, Point]


def ring_edges(ring: Sequence[Point]) -> list[Edge]:
    """The closed ring's edges, vertical ones left out (they add no length to a slab)."""
    edges = []
    for i, start in enumerate(ring):
        end = ring[(i + 1) % len(ring)]
        if start[0] != end[0]:
            edges.append((start, end) if start[0] < end[0] else (end, start))
    return edges


def area(ring: Sequence[Point]) -> float:
    """The shoelace area of a simple ring (either orientation)."""
    total = 0.0
    for i, (x0, y0) in enumerate(ring):
        x1, y1 = ring[(i + 1) % len(ring)]
        total += x0 * y1 - x1 * y0
    return abs(total) / 2


def _crossing_x(a: Edge, b: Edge) -> float | None:
    """The x where two edges cross strictly inside both x-ranges, if they do."""
    (ax0, ay0), (ax1, ay1) = a
    (bx0, by0), (bx1, by1) = b
    lo, hi = max(ax0, bx0), min(ax1, bx1)
    if lo >= hi:
        return None
    sa = (ay1 - ay0) / (ax1 - ax0)
    sb = (by1 - by0) / (bx1 - bx0)
    if sa == sb:
        return None
    # y_a(x) - y_b(x) = 0
    x = (by0 - sb * bx0 - ay0 + sa * ax0) / (sa - sb)
    return x if lo < x < hi else None


def _y_at(edge: Edge, x: float) -> float:
    (x0, y0), (x1, y1) = edge
    return y0 + (y1 - y0) * (x - x0) / (x1 - x0)


def _intervals(edges: Sequence[Edge], x: float) -> list[tuple[float, float]]:
    """The cross-section of a ring at ``x`` (inside a slab), even-odd rule."""
    ys = sorted(_y_at(e, x) for e in edges if e[0][0] < x < e[1][0])
    return [(ys[i], ys[i + 1]) for i in range(0, len(ys) - 1, 2)]


def _length(intervals: Sequence[tuple[float, float]]) -> float:
    return sum(hi - lo for lo, hi in intervals)


def _common(a: Sequence[tuple[float, float]], b: Sequence[tuple[float, float]]) -> float:
    total, i, j = 0.0, 0, 0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if hi > lo:
            total += hi - lo
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return total


def overlap_areas(a: Sequence[Point], b: Sequence[Point]) -> tuple[float, float, float]:
    """The areas of ``a``, ``b`` and their intersection (exact, by slabs)."""
    ea, eb = ring_edges(a), ring_edges(b)
    xs = {p[0] for p in a} | {p[0] for p in b}
    every = ea + eb
    for i, first in enumerate(every):
        for second in every[i + 1 :]:
            x = _crossing_x(first, second)
            if x is not None:
                xs.add(x)
    cuts = sorted(xs)
    area_a = area_b = inter = 0.0
    for left, right in itertools.pairwise(cuts):
        width = right - left
        if width <= 0:
            continue
        mid = (left + right) / 2
        ia, ib = _intervals(ea, mid), _intervals(eb, mid)
        area_a += _length(ia) * width
        area_b += _length(ib) * width
        inter += _common(ia, ib) * width
    return area_a, area_b, inter


def polygon_iou(a: Sequence[Point], b: Sequence[Point]) -> float:
    """The IoU of two polygons (rings of at least 3 points); 0 when either has no area."""
    if len(a) < 3 or len(b) < 3:
        return 0.0
    if (
        max(p[0] for p in a) <= min(p[0] for p in b)
        or max(p[0] for p in b) <= min(p[0] for p in a)
        or max(p[1] for p in a) <= min(p[1] for p in b)
        or max(p[1] for p in b) <= min(p[1] for p in a)
    ):
        return 0.0
    area_a, area_b, inter = overlap_areas(a, b)
    union = area_a + area_b - inter
    return inter / union if union > 0 else 0.0


def region_iou(a: Any, b: Any) -> float:
    """The IoU of two boolean numpy masks; 0 when their sizes differ or both are empty."""
    if a is None or b is None or a.shape != b.shape:
        return 0.0
    union = int((a | b).sum())
    return int((a & b).sum()) / union if union else 0.0


Box3d = tuple[float, float, float, float, float, float, float]
"""A 3D box: centre x, y, z, length (along its heading), width, height, yaw (radians)."""


def footprint(box: Box3d) -> list[Point]:
    """The four corners of a 3D box seen from above, in ring order."""
    x, y, _, length, width, _, yaw = box
    c, s = math.cos(yaw), math.sin(yaw)
    half = ((length / 2, width / 2), (-length / 2, width / 2), (-length / 2, -width / 2))
    corners = [*half, (length / 2, -width / 2)]
    return [(x + dx * c - dy * s, y + dx * s + dy * c) for dx, dy in corners]


def box3d_iou(a: Box3d, b: Box3d) -> float:
    """The IoU of two 3D boxes (yaw only; roll and pitch are not considered); 0 when either
    has no volume."""
    if min(a[3], a[4], a[5], b[3], b[4], b[5]) <= 0:
        return 0.0
    rise = min(a[2] + a[5] / 2, b[2] + b[5] / 2) - max(a[2] - a[5] / 2, b[2] - b[5] / 2)
    reach = math.hypot(a[3], a[4]) / 2 + math.hypot(b[3], b[4]) / 2
    if rise <= 0 or math.dist(a[:2], b[:2]) >= reach:
        return 0.0
    _, _, common = overlap_areas(footprint(a), footprint(b))
    inter = common * rise
    union = a[3] * a[4] * a[5] + b[3] * b[4] * b[5] - inter
    return inter / union if union > 0 else 0.0
