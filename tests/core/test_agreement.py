"""Gold scoring and consensus on hand-built annotations (exact figures)."""

from __future__ import annotations

from typing import Any

import pytest

from labelyard.core.agreement import agreement, consensus, geometry_overlap, score_gold


def rect(label: str, x0: float, y0: float, x1: float, y1: float, **attrs: Any) -> dict[str, Any]:
    return {
        "_id": f"{label}-{x0}-{y0}",
        "label": label,
        "attributes": {k: {"value": v} for k, v in attrs.items()},
        "coordinates": [
            {"x": x0, "y": y0},
            {"x": x1, "y": y0},
            {"x": x1, "y": y1},
            {"x": x0, "y": y1},
        ],
    }


def image(*rects: dict[str, Any], landmarks: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "rectangles": list(rects),
        "polygons": [],
        "lines": [],
        "landmarks": landmarks or [],
        "cuboids": [],
    }


ANSWER = image(rect("car", 0, 0, 0.5, 0.5, color="red"), rect("car", 0.5, 0.5, 1, 1, color="blue"))


def test_a_perfect_submission_scores_one() -> None:
    score = score_gold(ANSWER, ANSWER)
    assert score.score == 1.0
    assert score.parts()["matched"] == 2


def test_a_wrong_class_is_no_match_and_a_smaller_box_counts_its_iou() -> None:
    submitted = image(rect("car", 0, 0, 0.5, 0.4, color="red"), rect("person", 0.5, 0.5, 1, 1))
    score = score_gold(ANSWER, submitted)
    assert (score.precision, score.recall) == (0.5, 0.5)
    assert score.mean_iou == pytest.approx(0.8)
    assert score.attributes == 1.0
    assert score.score == pytest.approx(0.5 * (0.8 + 1.0) / 2)


def test_a_wrong_attribute_halves_a_perfect_box() -> None:
    answer = image(rect("car", 0, 0, 0.5, 0.5, color="red"))
    score = score_gold(answer, image(rect("car", 0, 0, 0.5, 0.5, color="blue")))
    assert score.mean_iou == 1.0 and score.attributes == 0.0
    assert score.score == 0.5


def test_boxes_overlapping_under_half_do_not_match() -> None:
    answer = image(rect("car", 0, 0, 0.4, 0.4))
    score = score_gold(answer, image(rect("car", 0, 0, 0.4, 0.19)))
    assert score.matched == 0 and score.score == 0.0


def test_empty_answer_and_empty_submission_agree() -> None:
    assert score_gold(image(), image()).score == 1.0
    assert score_gold(image(), image(rect("car", 0, 0, 1, 1))).score == 0.0


def test_landmarks_match_by_distance() -> None:
    def mark(x: float) -> dict[str, Any]:
        return {"_id": "m", "label": "p", "attributes": {}, "points": {"p1": {"x": x, "y": 0.5}}}

    near = score_gold(image(landmarks=[mark(0.5)]), image(landmarks=[mark(0.51)]))
    assert near.mean_iou == pytest.approx(0.8)
    far = score_gold(image(landmarks=[mark(0.5)]), image(landmarks=[mark(0.6)]))
    assert far.matched == 0


V1 = image(rect("car", 0, 0, 0.4, 0.4, color="red"), rect("car", 0.6, 0.6, 1, 1, color="red"))
V2 = image(rect("car", 0, 0, 0.4, 0.4, color="red"), rect("car", 0.6, 0.6, 1, 1, color="blue"))
V3 = image(rect("car", 0, 0, 0.4, 0.32, color="red"))


def test_consensus_of_three_gives_the_expected_agreement() -> None:
    # V1-V2: one full match of two each (the second pair differs in colour): 2*1/4 = 0.5;
    # V1-V3 and V2-V3: one match of 2+1 objects: 2/3.
    expected = (0.5 + 2 / 3 + 2 / 3) / 3
    assert agreement([V1, V2, V3]) == pytest.approx(expected)
    assert consensus([V1, V2, V3]).agreement == pytest.approx(expected)


def test_consensus_merges_majority_objects() -> None:
    merged = consensus([V1, V2, V3])
    assert (merged.kept, merged.dropped) == (2, 0)
    first, second = merged.merged["rectangles"]
    ys = [c["y"] for c in first["coordinates"]]
    assert ys == pytest.approx([0, 0, (0.4 + 0.4 + 0.32) / 3, (0.4 + 0.4 + 0.32) / 3])
    assert first["attributes"] == {"color": {"value": "red"}}
    # A red/blue tie: the value of the member closest to the others (the first version's).
    assert second["attributes"] == {"color": {"value": "red"}}


def test_an_object_of_one_version_in_three_is_dropped() -> None:
    lone = image(rect("car", 0, 0, 0.4, 0.4), rect("person", 0.7, 0.7, 0.9, 0.9))
    merged = consensus(
        [lone, image(rect("car", 0, 0, 0.4, 0.4)), image(rect("car", 0, 0, 0.4, 0.4))]
    )
    assert (merged.kept, merged.dropped) == (1, 1)
    assert [r["label"] for r in merged.merged["rectangles"]] == ["car"]


def test_identical_versions_agree_fully() -> None:
    assert agreement([V1, V1, V1]) == 1.0
    assert agreement([image(), image()]) == 1.0


def test_trackers_compare_frame_by_frame() -> None:
    def track(frames: dict[str, Any]) -> list[dict[str, Any]]:
        return [
            {"_id": "t", "type": "rectangle", "label": "car", "attributes": {}, "frames": frames}
        ]

    box = rect("car", 0, 0, 0.5, 0.5)
    a = track({"f0": box, "f1": box})
    b = track({"f0": box})
    # Frame f1 only in one: mean overlap 1/2, exactly the matching threshold.
    assert agreement([a, b]) == 1.0
    assert agreement([a, track({"f2": box})]) == 0.0


def _line(*points: tuple[float, float], label: str = "lane") -> dict[str, Any]:
    named = {f"p{i + 1}": {"x": x, "y": y} for i, (x, y) in enumerate(points)}
    return {"_id": "l", "label": label, "attributes": {}, "points": named}


def test_lines_are_compared_by_their_distance_along_their_length() -> None:
    flat = _line((0.1, 0.5), (0.9, 0.5))
    # The same line drawn with a middle point scores 1; its box has no area.
    assert geometry_overlap(
        flat, _line((0.1, 0.5), (0.5, 0.5), (0.9, 0.5)), "lines"
    ) == pytest.approx(1.0)
    # Drawn the other way round: the same line.
    assert geometry_overlap(flat, _line((0.9, 0.5), (0.1, 0.5)), "lines") == pytest.approx(1.0)
    # 0.01 below all along: 1 - 0.01 / 0.05.
    assert geometry_overlap(flat, _line((0.1, 0.51), (0.9, 0.51)), "lines") == pytest.approx(0.8)
    # A line half as long shares its half but the other half is far from it: no match.
    assert geometry_overlap(flat, _line((0.1, 0.5), (0.5, 0.5)), "lines") < 0.5
    # Two lanes crossing the image in parallel, a lane apart, do not match.
    assert geometry_overlap(flat, _line((0.1, 0.6), (0.9, 0.6)), "lines") == 0.0


def test_lines_of_three_annotators_agree_and_merge() -> None:
    one = {"lines": [_line((0.1, 0.5), (0.9, 0.5))]}
    two = {"lines": [_line((0.1, 0.505), (0.9, 0.505))]}
    other = {"lines": [_line((0.1, 0.8), (0.9, 0.2))]}
    assert consensus([one, two, one]).agreement == pytest.approx(1.0)
    outcome = consensus([one, two, other])
    assert outcome.agreement == pytest.approx(1 / 3)
    assert len(outcome.merged["lines"]) == 1
