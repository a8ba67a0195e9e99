"""Comparing annotations: gold scoring and consensus (agreement and merge) of N versions.

Objects are compared within one class and one shape type. Overlap is an IoU: rectangles by
their boxes (exact), polygons by their areas (exact, ``core.polygons``: concave shapes too),
a SEGMENTATION mask's regions (one per legend entry: class and instance) by their pixels
within one frame, 3D cuboids (``cuboid3d``) by their volumes (``core.polygons.box3d_iou``:
turned about the vertical axis), lines by closeness: ``1 - distance / LANDMARK_RADIUS`` where
the distance is the larger of the two mean distances from points spread along one line to the
other line, image cuboids by the box around their points; landmarks, whose box has
no area, by closeness: ``1 - distance / LANDMARK_RADIUS`` (0 beyond it). A tracker (VIDEO,
SENSOR_FUSION, POINT_CLOUD_SEGMENTATION) is compared frame by frame: the mean overlap over the
frames either of the two has (polygon trackers by their areas).

Two objects *match* when their overlap is at least ``MIN_IOU``; the matching is greedy, highest
overlap first, each object matched at most once (for the small object counts of one job it
equals the optimal assignment except in rare ties).

Gold score of a submission against the answer: ``f1 * (mean_iou + attributes) / 2`` where
``f1`` counts matched objects (precision over the submission, recall over the answer),
``mean_iou`` is the mean overlap of the matches and ``attributes`` the share of the answer's
attribute values the matches repeat. An empty answer matched by an empty submission scores 1.

Consensus of N versions: the agreement is the mean, over every pair of versions, of
``2 * matches / (objects_i + objects_j)`` where a match counts its share of equal attributes
(1 when all are equal); two empty versions agree fully. The merge clusters objects across
versions (greedy, highest overlap first, one object per version in a cluster), keeps the
clusters found in a strict majority of versions, and makes each one object: a rectangle's
corners are the members' mean, any other shape is the member closest to the others; each
attribute takes the value most members gave (ties: the closest member's). Masks are not
merged region by region: the merge keeps the masks of the version that agrees most with the
others. Each version's own agreement (the mean of its pairs) is kept for its annotator.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from labelyard.core import masks as mask_codec
from labelyard.core.polygons import Box3d, box3d_iou, polygon_iou, region_iou
from labelyard.errors import InvalidInput

_TRAILING_NUMBER = re.compile(r"[0-9]+$")
MIN_IOU = 0.5
LANDMARK_RADIUS = 0.05
IMAGE_KEYS = ("rectangles", "polygons", "lines", "landmarks", "cuboids")


@dataclass(frozen=True, slots=True)
class Item:
    """One object of a version: where it came from and what it is."""

    key: str  # "rectangles"... or "trackers"
    label: str
    shape: str
    attributes: dict[str, Any]
    raw: dict[str, Any]
    # A mask region's pixels (a boolean array), decoded once per comparison.
    region: Any = field(default=None, compare=False)


def _values(attributes: object) -> dict[str, Any]:
    if not isinstance(attributes, dict):
        return {}
    out: dict[str, Any] = {}
    for name, value in attributes.items():
        out[name] = value.get("value") if isinstance(value, dict) else value
    return out


def items_of(annotations: Any) -> list[Item]:
    """The objects of an annotations document (either layout)."""
    if isinstance(annotations, list):
        return [
            Item(
                "trackers",
                str(t.get("label")),
                str(t.get("type")),
                _values(t.get("attributes")),
                t,
            )
            for t in annotations
            if isinstance(t, dict)
        ]
    if not isinstance(annotations, dict):
        return []
    found = []
    for key in IMAGE_KEYS:
        for obj in annotations.get(key) or []:
            if isinstance(obj, dict):
                found.append(
                    Item(key, str(obj.get("label")), key, _values(obj.get("attributes")), obj)
                )
    for mask in annotations.get("masks") or []:
        if isinstance(mask, dict):
            found += _mask_regions(mask)
    return found


def _mask_regions(mask: dict[str, Any]) -> list[Item]:
    """A mask's regions: one item per legend entry, its pixels of that colour."""
    try:
        image = mask_codec.mask_pixels(mask_codec.decode_png(mask.get("png"), "png"), "png")
    except InvalidInput:  # a mask without its PNG (a result's url) has no regions to compare
        return []
    pixels = np.asarray(image.convert("RGBA"))
    opaque = pixels[:, :, 3] > 0
    found = []
    legend = mask.get("legend") or {}
    for colour, entry in sorted(legend.items()) if isinstance(legend, dict) else []:
        rgb = [int(colour[i : i + 2], 16) for i in (1, 3, 5)]
        region = opaque & np.all(pixels[:, :, :3] == rgb, axis=2)
        label, instance = mask_codec.legend_label(str(entry))
        raw = {"frame_id": str(mask.get("frame_id", "0")), "instance": instance}
        found.append(Item("masks", label, "masks", _values(mask.get("attributes")), raw, region))
    return found


def _points(geometry: dict[str, Any]) -> list[tuple[float, float]]:
    if "coordinates" in geometry:
        corners = geometry["coordinates"]
        return [(float(p["x"]), float(p["y"])) for p in corners]
    points = geometry.get("points") or {}
    values = points.values() if isinstance(points, dict) else points
    return [(float(p["x"]), float(p["y"])) for p in values if isinstance(p, dict)]


def _box(points: Sequence[tuple[float, float]]) -> tuple[float, float, float, float]:
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return min(xs), min(ys), max(xs), max(ys)


def _ring(geometry: dict[str, Any]) -> list[tuple[float, float]]:
    """A polygon's points in ring order: along its ``edges`` when they make one cycle, else
    by the number each name ends in (``p1, p2, ..., p10``, as the editor draws them; JSONB
    does not keep key order), else as sent."""
    points = geometry.get("points") or {}
    if not isinstance(points, dict):
        return _points(geometry)
    names = list(points)
    numbers = [_TRAILING_NUMBER.search(n) for n in names]
    if all(numbers):
        names = sorted(names, key=lambda n: int(_TRAILING_NUMBER.search(n)[0]))  # type: ignore[index]
    edges = geometry.get("edges")
    if isinstance(edges, dict) and len(edges) == len(points):
        following: dict[str, str] = {}
        for pair in edges.values():
            if isinstance(pair, list) and len(pair) == 2:
                following.setdefault(str(pair[0]), str(pair[1]))
        walk = [names[0]] if names else []
        while len(walk) < len(names) and following.get(walk[-1]) in points:
            walk.append(following[walk[-1]])
        if len(set(walk)) == len(names) and following.get(walk[-1]) == walk[0]:
            names = walk
    return [(float(points[n]["x"]), float(points[n]["y"])) for n in names]


def _box3d(geometry: dict[str, Any]) -> Box3d | None:
    """A ``cuboid3d`` frame's box (API.md 3.7), or None when it is not one."""
    try:
        p, d = geometry["position"], geometry["dimensions"]
        yaw = (geometry.get("rotation") or {}).get("yaw", 0.0)
        box = (p["x"], p["y"], p["z"], d["x"], d["y"], d["z"], yaw)
        return tuple(float(v) for v in box)  # type: ignore[return-value]
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


LINE_SAMPLES = 16


def _along(line: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """The line's points and ``LINE_SAMPLES`` more spread evenly along its length."""
    lengths = [math.dist(p, q) for p, q in itertools.pairwise(line)]
    total = sum(lengths)
    if total <= 0:
        return list(line)
    spread, walked, segment = [], 0.0, 0
    for i in range(LINE_SAMPLES + 1):
        at = total * i / LINE_SAMPLES
        while segment < len(lengths) - 1 and walked + lengths[segment] < at:
            walked += lengths[segment]
            segment += 1
        (x0, y0), (x1, y1) = line[segment], line[segment + 1]
        t = 0.0 if lengths[segment] == 0 else min(1.0, (at - walked) / lengths[segment])
        spread.append((x0 + (x1 - x0) * t, y0 + (y1 - y0) * t))
    return [*line, *spread]


def _to_line(point: tuple[float, float], line: Sequence[tuple[float, float]]) -> float:
    """The distance from ``point`` to the nearest point of the polyline ``line``."""
    if len(line) == 1:
        return math.dist(point, line[0])
    best = math.inf
    px, py = point
    for (x0, y0), (x1, y1) in itertools.pairwise(line):
        dx, dy = x1 - x0, y1 - y0
        span = dx * dx + dy * dy
        t = 0.0 if span == 0 else max(0.0, min(1.0, ((px - x0) * dx + (py - y0) * dy) / span))
        best = min(best, math.hypot(px - x0 - t * dx, py - y0 - t * dy))
    return best


def line_closeness(a: Sequence[tuple[float, float]], b: Sequence[tuple[float, float]]) -> float:
    """How close two polylines are: 1 when one lies on the other, 0 at ``LANDMARK_RADIUS``."""
    if not a or not b:
        return 0.0
    from_a, from_b = _along(a), _along(b)
    there = sum(_to_line(p, b) for p in from_a) / len(from_a)
    back = sum(_to_line(p, a) for p in from_b) / len(from_b)
    return max(0.0, 1.0 - max(there, back) / LANDMARK_RADIUS)


def geometry_overlap(a: dict[str, Any], b: dict[str, Any], shape: str = "") -> float:
    """The overlap of two geometries of one shape type (see the module docstring)."""
    if shape in ("lines", "line"):
        return line_closeness(_ring(a), _ring(b))
    if shape == "cuboid3d":
        ba, bb = _box3d(a), _box3d(b)
        return 0.0 if ba is None or bb is None else box3d_iou(ba, bb)
    if shape in ("polygons", "polygon"):
        ra, rb = _ring(a), _ring(b)
        if len(ra) >= 3 and len(rb) >= 3:
            return polygon_iou(ra, rb)
    pa, pb = _points(a), _points(b)
    if not pa or not pb:
        return 0.0
    ax0, ay0, ax1, ay1 = _box(pa)
    bx0, by0, bx1, by1 = _box(pb)
    area_a, area_b = (ax1 - ax0) * (ay1 - ay0), (bx1 - bx0) * (by1 - by0)
    if area_a <= 0 or area_b <= 0:
        ca = ((ax0 + ax1) / 2, (ay0 + ay1) / 2)
        cb = ((bx0 + bx1) / 2, (by0 + by1) / 2)
        return max(0.0, 1.0 - math.dist(ca, cb) / LANDMARK_RADIUS)
    width = min(ax1, bx1) - max(ax0, bx0)
    height = min(ay1, by1) - max(ay0, by0)
    inter = max(0.0, width) * max(0.0, height)
    return inter / (area_a + area_b - inter)


def overlap(a: Item, b: Item) -> float:
    """The overlap of two objects; 0 across classes or shape types."""
    if a.label != b.label or a.shape != b.shape or a.key != b.key:
        return 0.0
    if a.key == "masks":
        if a.raw["frame_id"] != b.raw["frame_id"]:
            return 0.0
        return region_iou(a.region, b.region)
    if a.key != "trackers":
        return geometry_overlap(a.raw, b.raw, a.key)
    fa, fb = a.raw.get("frames") or {}, b.raw.get("frames") or {}
    frames = set(fa) | set(fb)
    if not frames:
        return 0.0
    total = sum(geometry_overlap(fa[f], fb[f], a.shape) for f in frames if f in fa and f in fb)
    return total / len(frames)


def attribute_share(answer: Item, given: Item) -> float:
    """The share of ``answer``'s attribute values that ``given`` repeats (1 without any)."""
    names = set(answer.attributes) | set(given.attributes)
    if not names:
        return 1.0
    same = sum(1 for n in names if answer.attributes.get(n) == given.attributes.get(n))
    return same / len(names)


def match(a: Sequence[Item], b: Sequence[Item]) -> list[tuple[int, int, float]]:
    """Greedy one-to-one matching of ``a`` and ``b``: (index in a, index in b, overlap)."""
    pairs = [
        (overlap(x, y), i, j)
        for i, x in enumerate(a)
        for j, y in enumerate(b)
        if x.label == y.label and x.shape == y.shape
    ]
    pairs.sort(key=lambda p: (-p[0], p[1], p[2]))
    used_a: set[int] = set()
    used_b: set[int] = set()
    found = []
    for iou, i, j in pairs:
        if iou < MIN_IOU or i in used_a or j in used_b:
            continue
        used_a.add(i)
        used_b.add(j)
        found.append((i, j, iou))
    return sorted(found)


# --- Gold ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GoldScore:
    """A submission scored against a gold answer, with its parts."""

    score: float
    precision: float
    recall: float
    mean_iou: float
    attributes: float
    matched: int
    submitted: int
    expected: int

    def parts(self) -> dict[str, Any]:
        """The parts, as stored and shown."""
        return {
            "precision": self.precision,
            "recall": self.recall,
            "mean_iou": self.mean_iou,
            "attributes": self.attributes,
            "matched": self.matched,
            "submitted": self.submitted,
            "expected": self.expected,
        }


def score_gold(answer: Any, submitted: Any) -> GoldScore:
    """Score ``submitted`` against the gold ``answer`` (see the module docstring)."""
    gold, given = items_of(answer), items_of(submitted)
    if not gold and not given:
        return GoldScore(1.0, 1.0, 1.0, 1.0, 1.0, 0, 0, 0)
    matches = match(gold, given)
    n = len(matches)
    precision = n / len(given) if given else 0.0
    recall = n / len(gold) if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    mean_iou = sum(m[2] for m in matches) / n if n else 0.0
    attrs = sum(attribute_share(gold[i], given[j]) for i, j, _ in matches) / n if n else 0.0
    score = f1 * (mean_iou + attrs) / 2
    return GoldScore(score, precision, recall, mean_iou, attrs, n, len(given), len(gold))


# --- Consensus -----------------------------------------------------------------------------------


def pair_agreement(a: Any, b: Any) -> float:
    """How much two versions agree: ``2 * matches / (objects_a + objects_b)``."""
    return _pair(items_of(a), items_of(b))


def _pair(xs: Sequence[Item], ys: Sequence[Item]) -> float:
    if not xs and not ys:
        return 1.0
    matched = sum(attribute_share(xs[i], ys[j]) for i, j, _ in match(xs, ys))
    return 2 * matched / (len(xs) + len(ys))


def agreement(versions: Sequence[Any]) -> float:
    """The mean agreement over every pair of versions (1 for fewer than two)."""
    return _agreements([items_of(v) for v in versions])[0]


def _agreements(parsed: Sequence[Sequence[Item]]) -> tuple[float, list[float]]:
    """The mean agreement over every pair, and each version's mean over its own pairs."""
    if len(parsed) < 2:
        return 1.0, [1.0] * len(parsed)
    mine: list[list[float]] = [[] for _ in parsed]
    every = []
    for i, j in itertools.combinations(range(len(parsed)), 2):
        value = _pair(parsed[i], parsed[j])
        every.append(value)
        mine[i].append(value)
        mine[j].append(value)
    return sum(every) / len(every), [sum(m) / len(m) for m in mine]


def _clusters(versions: Sequence[list[Item]]) -> list[dict[int, int]]:
    """Objects grouped across versions: each cluster maps version index → object index."""
    edges = []
    for (va, xs), (vb, ys) in itertools.combinations(enumerate(versions), 2):
        for i, x in enumerate(xs):
            for j, y in enumerate(ys):
                iou = overlap(x, y)
                if iou >= MIN_IOU:
                    edges.append((-iou, va, i, vb, j))
    edges.sort()
    owner: dict[tuple[int, int], int] = {}
    clusters: list[dict[int, int]] = []
    for _, va, i, vb, j in edges:
        ca, cb = owner.get((va, i)), owner.get((vb, j))
        if ca is None and cb is None:
            owner[(va, i)] = owner[(vb, j)] = len(clusters)
            clusters.append({va: i, vb: j})
        elif ca is not None and cb is None:
            if vb not in clusters[ca]:
                clusters[ca][vb] = j
                owner[(vb, j)] = ca
        elif cb is not None and ca is None:
            if va not in clusters[cb]:
                clusters[cb][va] = i
                owner[(va, i)] = cb
        elif (
            ca is not None
            and cb is not None
            and ca != cb
            and not set(clusters[ca]) & set(clusters[cb])
        ):
            for v, k in clusters[cb].items():
                clusters[ca][v] = k
                owner[(v, k)] = ca
            clusters[cb] = {}
    for v, xs in enumerate(versions):
        for i in range(len(xs)):
            if (v, i) not in owner:
                clusters.append({v: i})
    return [c for c in clusters if c]


def _merged(members: list[Item]) -> Item:
    def closeness(item: Item) -> float:
        return sum(overlap(item, other) for other in members if other is not item)

    best = max(members, key=closeness)  # first of the closest on ties: stable by version order
    raw = dict(best.raw)
    if best.key == "rectangles":
        corners = [m.raw["coordinates"] for m in members]
        raw["coordinates"] = [
            {
                "x": sum(c[k]["x"] for c in corners) / len(corners),
                "y": sum(c[k]["y"] for c in corners) / len(corners),
            }
            for k in range(len(corners[0]))
        ]
    names = sorted({n for m in members for n in m.attributes})
    if names:
        values: dict[str, Any] = {}
        for name in names:
            votes = Counter(repr(m.attributes.get(name)) for m in members if name in m.attributes)
            top = max(votes.values())
            winners = {k for k, c in votes.items() if c == top}
            chosen = repr(best.attributes.get(name))
            if chosen not in winners:
                chosen = next(k for k in votes if k in winners)
            values[name] = next(
                m.attributes[name]
                for m in members
                if name in m.attributes and repr(m.attributes[name]) == chosen
            )
        raw["attributes"] = {n: {"value": v} for n, v in values.items()}
    return Item(best.key, best.label, best.shape, {}, raw)


@dataclass(frozen=True, slots=True)
class Consensus:
    """N versions compared: their agreement and the merged annotations."""

    agreement: float
    merged: Any
    kept: int  # merged objects (clusters found in a majority of versions)
    dropped: int  # clusters found in too few versions
    # Each version's agreement with the others (the mean of its pairs), in version order.
    per_version: tuple[float, ...] = ()


def consensus(versions: Sequence[Any]) -> Consensus:
    """The agreement of ``versions`` (each an annotations document of one layout) and their
    merge (see the module docstring)."""
    parsed = [items_of(v) for v in versions]
    mean, mine = _agreements(parsed)
    shapes = [[item for item in items if item.key != "masks"] for items in parsed]
    clusters = _clusters(shapes)
    need = len(versions) // 2 + 1
    kept = [c for c in clusters if len(c) >= need]
    merged_items = [_merged([shapes[v][i] for v, i in sorted(c.items())]) for c in kept]
    tracks = any(isinstance(v, list) for v in versions)
    if tracks:
        merged: Any = [item.raw for item in merged_items]
    else:
        merged = {key: [] for key in IMAGE_KEYS}
        for item in merged_items:
            merged[item.key].append(item.raw)
        with_masks = [i for i, v in enumerate(versions) if isinstance(v, dict) and v.get("masks")]
        if with_masks:
            best = max(with_masks, key=lambda i: (mine[i], -i))
            merged["masks"] = versions[best]["masks"]
    return Consensus(mean, merged, len(kept), len(clusters) - len(kept), tuple(mine))
