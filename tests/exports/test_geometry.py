"""Boxes and polygons from normalised annotation geometry."""

from __future__ import annotations

import pytest

from labelyard.exports.geometry import (
    attribute_values,
    points_box,
    polygon_area,
    polygon_points,
    rectangle_box,
)


def test_rectangle_box_from_its_corners() -> None:
    corners = [
        {"x": 0.1, "y": 0.2},
        {"x": 0.4, "y": 0.2},
        {"x": 0.4, "y": 0.5},
        {"x": 0.1, "y": 0.5},
    ]
    assert rectangle_box({"coordinates": corners}) == (0.1, 0.2, 0.4, 0.5)
    assert rectangle_box({"coordinates": []}) is None
    assert rectangle_box({"coordinates": [{"x": "a", "y": 0}]}) is None


def test_polygon_points_follow_natural_order_whatever_the_key_order() -> None:
    # PostgreSQL's JSONB hands keys back by length, then bytes: p10 after p9.
    raw = {f"p{i}": {"x": i / 20, "y": (i % 2) / 2} for i in (1, 10, 11, 2, 3, 4, 5, 6, 7, 8, 9)}
    points = polygon_points({"points": raw})
    assert points is not None
    assert [x for x, _ in points] == [i / 20 for i in range(1, 12)]


def test_polygon_points_follow_the_edges_when_they_form_a_ring() -> None:
    raw = {
        "a": {"x": 0, "y": 0},
        "b": {"x": 1, "y": 1},
        "c": {"x": 1, "y": 0},
        "d": {"x": 0, "y": 1},
    }
    edges = {"e1": ["a", "c"], "e2": ["c", "b"], "e3": ["b", "d"], "e4": ["d", "a"]}
    points = polygon_points({"points": raw, "edges": edges})
    assert points == [(0, 0), (1, 0), (1, 1), (0, 1)]
    assert polygon_area(points) == pytest.approx(1.0)
    broken = {"e1": ["a", "b"], "e2": ["b", "a"], "e3": ["c", "d"], "e4": ["d", "c"]}
    assert polygon_points({"points": raw, "edges": broken}) == [(0, 0), (1, 1), (1, 0), (0, 1)]


def test_polygon_area_and_box() -> None:
    triangle = [(0.0, 0.0), (4.0, 0.0), (0.0, 3.0)]
    assert polygon_area(triangle) == pytest.approx(6.0)
    assert points_box(triangle) == (0.0, 0.0, 4.0, 3.0)
    assert polygon_points({"points": {"p1": {"x": 0, "y": 0}, "p2": {"x": 1, "y": 1}}}) is None


def test_attribute_values_are_unwrapped() -> None:
    item = {"attributes": {"color": {"value": "red"}, "tags": {"value": ["a"]}, "bad": 3}}
    assert attribute_values(item) == {"color": "red", "tags": ["a"]}
    assert attribute_values({}) == {}
