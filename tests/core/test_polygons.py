"""Exact polygon and mask IoU on hand-built shapes with known areas, and against a fine
raster of random concave polygons."""

from __future__ import annotations

import base64
import io
import math
import random
from typing import Any

import numpy as np
import pytest
from PIL import Image

from labelyard.core.agreement import consensus, score_gold
from labelyard.core.polygons import area, box3d_iou, overlap_areas, polygon_iou

SQUARE = [(0.0, 0.0), (2.0, 0.0), (2.0, 2.0), (0.0, 2.0)]
# An L: the 2x2 square without its top-right unit square (area 3).
L_SHAPE = [(0.0, 0.0), (2.0, 0.0), (2.0, 1.0), (1.0, 1.0), (1.0, 2.0), (0.0, 2.0)]
# Its mirror: without the top-left unit square.
L_MIRROR = [(0.0, 0.0), (2.0, 0.0), (2.0, 2.0), (1.0, 2.0), (1.0, 1.0), (0.0, 1.0)]


def test_an_l_inside_its_square_overlaps_three_quarters_where_the_boxes_agree_fully() -> None:
    assert area(L_SHAPE) == 3.0
    assert polygon_iou(L_SHAPE, SQUARE) == pytest.approx(0.75)


def test_two_mirrored_ls_share_the_bottom_row() -> None:
    assert overlap_areas(L_SHAPE, L_MIRROR) == pytest.approx((3.0, 3.0, 2.0))
    assert polygon_iou(L_SHAPE, L_MIRROR) == pytest.approx(0.5)


def test_two_right_triangles_on_one_side_share_a_quarter() -> None:
    below = [(0.0, 0.0), (1.0, 0.0), (0.0, 1.0)]
    right = [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0)]
    # The common part is the triangle (0,0) (1,0) (0.5,0.5): 0.25 of 0.5 + 0.5 - 0.25.
    assert polygon_iou(below, right) == pytest.approx(1 / 3)


def test_a_u_and_a_bar_across_its_gap() -> None:
    u_shape = [(0, 0), (3, 0), (3, 3), (2, 3), (2, 1), (1, 1), (1, 3), (0, 3)]
    bar = [(0, 2), (3, 2), (3, 2.5), (0, 2.5)]
    u = [(float(x), float(y)) for x, y in u_shape]
    # The bar (area 1.5) lies in both arms (0.5 each) and over the gap (0.5): U area 7.
    assert overlap_areas(u, bar) == pytest.approx((7.0, 1.5, 1.0))
    assert polygon_iou(u, bar) == pytest.approx(1.0 / 7.5)


def test_disjoint_touching_and_identical_polygons() -> None:
    moved = [(x + 2.0, y) for x, y in SQUARE]
    assert polygon_iou(SQUARE, moved) == 0.0
    assert polygon_iou(L_SHAPE, list(reversed(L_SHAPE))) == pytest.approx(1.0)
    assert polygon_iou(SQUARE, [(0.0, 0.0), (1.0, 1.0), (2.0, 2.0)]) == 0.0


def _star(rng: random.Random) -> list[tuple[float, float]]:
    """A random concave (star-shaped) polygon around the middle of the unit square."""
    count = rng.randint(5, 12)
    angles = sorted(rng.uniform(0, 2 * math.pi) for _ in range(count))
    return [
        (0.5 + r * math.cos(t), 0.5 + r * math.sin(t))
        for t, r in ((t, rng.uniform(0.1, 0.45)) for t in angles)
    ]


def _raster(ring: list[tuple[float, float]], size: int) -> Any:
    image = Image.new("1", (size, size))
    from PIL import ImageDraw

    ImageDraw.Draw(image).polygon([(x * size, y * size) for x, y in ring], fill=1)
    return np.asarray(image, dtype=bool)


def test_random_concave_polygons_agree_with_a_fine_raster() -> None:
    rng = random.Random(11)
    for _ in range(25):
        a, b = _star(rng), _star(rng)
        ra, rb = _raster(a, 800), _raster(b, 800)
        rastered = (ra & rb).sum() / (ra | rb).sum()
        assert polygon_iou(a, b) == pytest.approx(rastered, abs=0.01)


def _polygon(ring: list[tuple[float, float]], label: str = "roof") -> dict[str, Any]:
    points = {f"p{i + 1}": {"x": x / 4, "y": y / 4} for i, (x, y) in enumerate(ring)}
    return {"_id": label, "label": label, "attributes": {}, "points": points}


def _doc(polygons: list[dict[str, Any]] | None = None, masks: Any = None) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "rectangles": [],
        "polygons": polygons or [],
        "lines": [],
        "landmarks": [],
        "cuboids": [],
    }
    if masks is not None:
        doc["masks"] = masks
    return doc


def test_gold_scores_polygons_by_their_area_not_their_box() -> None:
    score = score_gold(_doc([_polygon(SQUARE)]), _doc([_polygon(L_SHAPE)]))
    assert score.matched == 1 and score.mean_iou == pytest.approx(0.75)
    # Mirrored Ls have the same box but overlap at exactly 0.5: a match, at 0.5.
    mirrored = score_gold(_doc([_polygon(L_SHAPE)]), _doc([_polygon(L_MIRROR)]))
    assert mirrored.mean_iou == pytest.approx(0.5)


def test_polygon_ring_order_follows_point_names_past_nine() -> None:
    ring = [(float(i), 0.0) for i in range(5)] + [(4.0, 2.0), (0.0, 2.0)]
    ring = [(x, y) for x, y in ring] + [(0.0, 1.5), (0.0, 1.0), (0.0, 0.5), (0.0, 0.25)]
    shape = _polygon(ring)
    # JSONB hands keys back shortest first: p1..p9 then p10, p11; rebuild in that order.
    shuffled = dict(sorted(shape["points"].items(), key=lambda kv: kv[0]))
    assert score_gold(_doc([shape]), _doc([{**shape, "points": shuffled}])).mean_iou == 1.0


def _mask(pixels: dict[str, tuple[slice, slice]], frame: str = "0") -> dict[str, Any]:
    """A 20x20 mask: each legend colour painted over its (rows, cols)."""
    canvas = np.zeros((20, 20, 4), dtype=np.uint8)
    legend = {}
    for colour, (rows, cols) in pixels.items():
        rgb = [int(colour[i : i + 2], 16) for i in (1, 3, 5)]
        canvas[rows, cols] = [*rgb, 255]
        legend[colour] = "car"
    out = io.BytesIO()
    Image.fromarray(canvas, "RGBA").save(out, format="PNG")
    return {
        "_id": f"m{frame}",
        "frame_id": frame,
        "legend": legend,
        "png": base64.b64encode(out.getvalue()).decode(),
    }


def test_masks_are_scored_by_their_pixels() -> None:
    answer = _doc(masks=[_mask({"#ff0000": (slice(0, 10), slice(0, 10))})])
    # 10x10 against 10x10 moved 2 columns: 80 common pixels of 120.
    shifted = _doc(masks=[_mask({"#ff0000": (slice(0, 10), slice(2, 12))})])
    score = score_gold(answer, shifted)
    assert score.matched == 1 and score.mean_iou == pytest.approx(80 / 120)
    # Another frame never matches.
    other = _doc(masks=[_mask({"#ff0000": (slice(0, 10), slice(0, 10))}, frame="1")])
    assert score_gold(answer, other).matched == 0


def test_consensus_keeps_each_versions_agreement_and_the_most_agreeing_masks() -> None:
    near = _mask({"#ff0000": (slice(0, 10), slice(0, 10))})
    also_near = _mask({"#00ff00": (slice(0, 10), slice(1, 10))})
    far = _mask({"#0000ff": (slice(10, 20), slice(10, 20))})
    result = consensus([_doc(masks=[near]), _doc(masks=[also_near]), _doc(masks=[far])])
    assert result.per_version[0] == pytest.approx(0.5)
    assert result.per_version[2] == 0.0
    assert result.agreement == pytest.approx(1 / 3)
    assert result.merged["masks"] == [near]


# --- 3D boxes (cuboid3d): turned about the vertical axis --------------------------------------


def _cuboid(x: float, y: float, z: float, yaw: float, size: tuple[float, float, float]) -> Any:
    """A one-frame ``cuboid3d`` tracker (API.md 3.7)."""
    length, width, height = size
    frame = {
        "position": {"x": x, "y": y, "z": z},
        "dimensions": {"x": length, "y": width, "z": height},
        "rotation": {"roll": 0.0, "pitch": 0.0, "yaw": yaw},
        "points_inside": 10,
        "keyframe": True,
    }
    return {
        "_id": "c",
        "type": "cuboid3d",
        "label": "car",
        "attributes": {},
        "frames": {"0": frame},
    }


def test_a_box_turned_a_half_turn_or_a_square_turned_a_quarter_is_the_same_box() -> None:
    car = (1.0, 2.0, 0.5, 4.0, 2.0, 1.5, 0.3)
    assert box3d_iou(car, car) == pytest.approx(1.0)
    assert box3d_iou(car, (*car[:6], 0.3 + math.pi)) == pytest.approx(1.0)
    cube = (0.0, 0.0, 0.0, 2.0, 2.0, 2.0, 0.0)
    assert box3d_iou(cube, (*cube[:6], math.pi / 2)) == pytest.approx(1.0)


def test_a_box_moved_half_its_length_along_its_heading_overlaps_a_third() -> None:
    for yaw in (0.0, 0.7, -2.0):
        a = (0.0, 0.0, 0.0, 4.0, 2.0, 1.0, yaw)
        b = (2.0 * math.cos(yaw), 2.0 * math.sin(yaw), 0.0, 4.0, 2.0, 1.0, yaw)
        assert box3d_iou(a, b) == pytest.approx(1 / 3)


def test_a_square_turned_an_eighth_overlaps_by_its_octagon() -> None:
    # The unit square and the same square turned 45 degrees share a regular octagon of area
    # 2 * (sqrt(2) - 1); both boxes are 1 high at the same height.
    a = (0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0)
    octagon = 2 * (math.sqrt(2) - 1)
    assert box3d_iou(a, (*a[:6], math.pi / 4)) == pytest.approx(octagon / (2 - octagon))


def test_boxes_apart_in_height_or_without_volume_do_not_overlap() -> None:
    a = (0.0, 0.0, 0.0, 4.0, 2.0, 1.0, 0.0)
    assert box3d_iou(a, (0.0, 0.0, 1.0, 4.0, 2.0, 1.0, 0.0)) == 0.0  # touching, one on top
    assert box3d_iou(a, (0.0, 0.0, 0.5, 4.0, 2.0, 1.0, 0.0)) == pytest.approx(1 / 3)
    assert box3d_iou(a, (10.0, 0.0, 0.0, 4.0, 2.0, 1.0, 0.0)) == 0.0
    assert box3d_iou(a, (0.0, 0.0, 0.0, 4.0, 0.0, 1.0, 0.0)) == 0.0


def test_3d_cuboids_are_scored_and_agreed_on_by_their_volumes() -> None:
    car = _cuboid(10.0, -3.0, 0.8, 0.4, (4.5, 1.9, 1.6))
    assert score_gold([car], [car]).score == pytest.approx(1.0)
    half = _cuboid(
        10.0 + 2.25 * math.cos(0.4), -3.0 + 2.25 * math.sin(0.4), 0.8, 0.4, (4.5, 1.9, 1.6)
    )
    scored = score_gold([car], [half])
    assert scored.matched == 0  # IoU 1/3 is under the match threshold
    near = _cuboid(10.2, -3.0, 0.8, 0.4, (4.5, 1.9, 1.6))
    outcome = consensus([[car], [near], [car]])
    assert outcome.agreement == pytest.approx(1.0)
    assert len(outcome.merged) == 1
    wrong = _cuboid(10.0, -3.0, 0.8, 0.4, (4.5, 1.9, 1.6)) | {"label": "truck"}
    assert consensus([[car], [wrong], [wrong]]).agreement == pytest.approx(1 / 3)
