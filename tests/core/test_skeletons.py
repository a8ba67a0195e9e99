"""Landmark skeletons: named points and edges from the schema (a human pose), validated."""

from __future__ import annotations

from typing import Any

import pytest

from labelyard.core import annotations as notes
from labelyard.core.model import Base
from labelyard.core.schema import parse_schema
from labelyard.errors import InvalidInput

POSE = {
    "points": ["head", "neck", "left_hand", "right_hand", "hip"],
    "edges": [["head", "neck"], ["neck", "left_hand"], ["neck", "right_hand"], ["neck", "hip"]],
}
SCHEMA = {"classes": [{"name": "person", "shapes": ["landmark"], "skeleton": POSE}]}


def pose(**overrides: Any) -> dict[str, Any]:
    points = {name: {"x": 0.1 * (i + 1), "y": 0.5} for i, name in enumerate(POSE["points"])}
    edges = {f"e{i + 1}": edge for i, edge in enumerate(POSE["edges"])}
    return {
        "_id": "p1",
        "label": "person",
        "attributes": {},
        "points": points,
        "edges": edges,
        **overrides,
    }


def image(item: dict[str, Any]) -> dict[str, Any]:
    return {**notes.empty(Base.IMAGE), "landmarks": [item]}


def test_the_schema_keeps_a_skeleton() -> None:
    schema = parse_schema(SCHEMA, Base.IMAGE)
    assert schema.to_json()["classes"][0]["skeleton"] == POSE
    assert parse_schema(schema.to_json(), Base.IMAGE).to_json() == schema.to_json()
    bad_skeletons = [
        {"points": []},
        {"points": ["a", "a"]},
        {"points": ["a", "b"], "edges": [["a", "c"]]},
        {"points": ["a", "b"], "edges": [["a", "a"]]},
        {"points": ["a", "b"], "edges": [["a", "b"], ["b", "a"]]},
        ["a", "b"],
    ]
    for skeleton in bad_skeletons:
        with pytest.raises(InvalidInput, match="skeleton"):
            parse_schema(
                {"classes": [{"name": "p", "shapes": ["landmark"], "skeleton": skeleton}]},
                Base.IMAGE,
            )
    with pytest.raises(InvalidInput, match="landmark shape"):
        parse_schema(
            {"classes": [{"name": "p", "shapes": ["polygon"], "skeleton": POSE}]}, Base.IMAGE
        )


def test_a_pose_validates_and_round_trips() -> None:
    schema = parse_schema(SCHEMA, Base.IMAGE)
    data = {"image_url": "https://x/a.png"}
    annotations = image(pose())
    assert notes.validate(annotations, base=Base.IMAGE, schema=schema, data=data) == 1
    assert notes.result_document(Base.IMAGE, data, annotations)["data"]["annotations"][
        "landmarks"
    ] == [pose()]
    without_edges = pose()
    del without_edges["edges"]
    assert notes.validate(image(without_edges), base=Base.IMAGE, schema=schema, data=data) == 1


def test_a_wrong_pose_names_what_is_wrong() -> None:
    schema = parse_schema(SCHEMA, Base.IMAGE)
    data = {"image_url": "https://x/a.png"}
    missing = pose()
    missing["points"] = {k: v for k, v in missing["points"].items() if k != "hip"}
    with pytest.raises(InvalidInput, match="missing: hip"):
        notes.validate(image(missing), base=Base.IMAGE, schema=schema, data=data)
    renamed = pose()
    renamed["points"] = {("tail" if k == "hip" else k): v for k, v in renamed["points"].items()}
    with pytest.raises(InvalidInput, match="unknown: tail"):
        notes.validate(image(renamed), base=Base.IMAGE, schema=schema, data=data)
    with pytest.raises(InvalidInput, match=r"edges\.e9"):
        notes.validate(
            image(pose(edges={"e9": ["head", "hip"]})), base=Base.IMAGE, schema=schema, data=data
        )


def test_a_video_pose_is_checked_on_every_frame() -> None:
    schema = parse_schema(SCHEMA, Base.VIDEO)
    data = {
        "video_data": {"frames": [{"frame_id": "1", "src": "a"}, {"frame_id": "2", "src": "b"}]}
    }
    good = {k: v for k, v in pose().items() if k in ("points", "edges")}
    short = {"points": {"head": {"x": 0.1, "y": 0.1}}}
    tracker = {
        "_id": "t",
        "type": "landmark",
        "label": "person",
        "attributes": {},
        "frames": {"1": good},
    }
    assert notes.validate([tracker], base=Base.VIDEO, schema=schema, data=data) == 1
    with pytest.raises(InvalidInput, match=r"frames\.2\.points"):
        notes.validate(
            [{**tracker, "frames": {"1": good, "2": short}}],
            base=Base.VIDEO,
            schema=schema,
            data=data,
        )
