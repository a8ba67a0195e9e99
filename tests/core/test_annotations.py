"""Annotation validation and result documents, without a database."""

from __future__ import annotations

from typing import Any

import pytest

from labelyard.core import annotations as notes
from labelyard.core.model import Base
from labelyard.core.schema import LabelSchema, parse_schema
from labelyard.errors import InvalidInput

OPEN = LabelSchema()
IMAGE = {"image_url": "https://img.example/a.jpg"}
VIDEO = {
    "video_data": {
        "frames": [{"frame_id": "a", "src": "https://v/a"}, {"frame_id": "b", "src": "https://v/b"}]
    }
}


def square(x: float = 0.1, y: float = 0.1, size: float = 0.2) -> list[dict[str, float]]:
    return [
        {"x": x, "y": y},
        {"x": x + size, "y": y},
        {"x": x + size, "y": y + size},
        {"x": x, "y": y + size},
    ]


def test_open_schema_accepts_any_label_but_checks_geometry() -> None:
    good = {"rectangles": [{"_id": "1", "label": "anything", "coordinates": square()}]}
    assert notes.validate(good, base=Base.IMAGE, schema=OPEN, data=IMAGE) == 1
    flipped = {"rectangles": [{"_id": "1", "label": "x", "coordinates": list(reversed(square()))}]}
    with pytest.raises(InvalidInput, match=r"^annotations\.rectangles\[0\]\.coordinates:"):
        notes.validate(flipped, base=Base.IMAGE, schema=OPEN, data=IMAGE)


@pytest.mark.parametrize(
    ("value", "path"),
    [
        (
            {
                "polygons": [
                    {
                        "_id": "p",
                        "label": "x",
                        "points": {
                            "a": {"x": 0, "y": 0},
                            "b": {"x": 1, "y": 0},
                            "c": {"x": 1, "y": 1},
                        },
                        "edges": {"e1": ["a", "z"]},
                    }
                ]
            },
            "annotations.polygons[0].edges.e1",
        ),
        (
            {"lines": [{"_id": "l", "label": "x", "points": {"p1": {"x": 0, "y": 0}}}]},
            "annotations.lines[0].points",
        ),
        (
            {
                "cuboids": [
                    {
                        "_id": "c",
                        "label": "x",
                        "points": {f"p{i}": {"x": 0, "y": 0} for i in range(7)},
                    }
                ]
            },
            "annotations.cuboids[0].points",
        ),
        (
            {"landmarks": [{"_id": "", "label": "x", "points": {"p1": {"x": 0, "y": 0}}}]},
            "annotations.landmarks[0]._id",
        ),
        (
            {"landmarks": [{"_id": "k", "label": "x", "points": {"p1": {"x": 0, "y": -0.1}}}]},
            "annotations.landmarks[0].points.p1.y",
        ),
        (
            {
                "landmarks": [
                    {
                        "_id": "k",
                        "label": "x",
                        "attributes": {"a": 1},
                        "points": {"p1": {"x": 0, "y": 0}},
                    }
                ]
            },
            "annotations.landmarks[0].attributes.a",
        ),
        ([], "annotations"),
    ],
)
def test_image_violations_name_their_path(value: Any, path: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        notes.validate(value, base=Base.IMAGE, schema=OPEN, data=IMAGE)
    assert raised.value.message.startswith(path + ":")


def test_untracked_class_may_not_span_frames() -> None:
    schema = parse_schema({"classes": [{"name": "sign", "tracked": False}]}, Base.VIDEO)
    one = [
        {
            "_id": "t",
            "type": "rectangle",
            "label": "sign",
            "frames": {"a": {"coordinates": square()}},
        }
    ]
    assert notes.validate(one, base=Base.VIDEO, schema=schema, data=VIDEO) == 1
    two = [{**one[0], "frames": {"a": {"coordinates": square()}, "b": {"coordinates": square()}}}]
    with pytest.raises(InvalidInput, match=r"^annotations\[0\]\.frames:"):
        notes.validate(two, base=Base.VIDEO, schema=schema, data=VIDEO)


def test_prelabels_and_result_documents() -> None:
    pre = {"rectangles": [{"_id": "1", "label": "x", "coordinates": square()}]}
    draft = notes.prelabels(Base.IMAGE, {**IMAGE, "maker_response": pre})
    assert draft["rectangles"] == pre["rectangles"] and draft["polygons"] == []
    assert notes.prelabels(Base.IMAGE, {**IMAGE, "maker_response": {"boxes": 1}}) == notes.empty(
        Base.IMAGE
    )
    assert notes.prelabels(Base.VIDEO, VIDEO) == []
    result = notes.result_document(Base.IMAGE, IMAGE, draft)
    assert result == {"data": {"annotations": draft, "image_url": IMAGE["image_url"]}}
    tracks = notes.result_document(Base.VIDEO, VIDEO, [])
    assert tracks == {
        "data": {"annotation_data": {"annotations": []}, "video_data": VIDEO["video_data"]}
    }
    assert notes.count(Base.IMAGE, draft) == 1
