"""Classifications: questions about the whole image or video, or each video frame, answered
with attributes; declared in the schema, validated, and kept in results."""

from __future__ import annotations

from typing import Any

import pytest

from labelyard.core import annotations as notes
from labelyard.core.model import Base
from labelyard.core.schema import parse_schema
from labelyard.errors import InvalidInput

QUESTIONS = [
    {
        "name": "weather",
        "attributes": [
            {"name": "sky", "type": "select", "options": ["sun", "rain"], "required": True},
            {"name": "night", "type": "boolean"},
        ],
    },
]
FRAME_QUESTION = {
    "name": "visibility",
    "per_frame": True,
    "attributes": [{"name": "level", "type": "select", "options": ["good", "poor"]}],
}
IMAGE = parse_schema({"classes": [{"name": "car"}], "classifications": QUESTIONS}, Base.IMAGE)
VIDEO = parse_schema(
    {"classes": [{"name": "car"}], "classifications": [*QUESTIONS, FRAME_QUESTION]}, Base.VIDEO
)
IMAGE_DATA = {"image_url": "https://x/a.png"}
VIDEO_DATA = {
    "video_data": {"frames": [{"frame_id": "f1", "src": "a"}, {"frame_id": "f2", "src": "b"}]}
}


def image(*answers: dict[str, Any]) -> dict[str, Any]:
    return {**notes.empty(Base.IMAGE), "classifications": list(answers)}


def test_the_schema_keeps_its_classifications() -> None:
    document = VIDEO.to_json()
    assert [c["name"] for c in document["classifications"]] == ["weather", "visibility"]
    assert document["classifications"][1]["per_frame"] is True
    assert parse_schema(document, Base.VIDEO).to_json() == document
    for bad in (
        {"classifications": {}},
        {"classifications": [{"name": "x"}]},  # no attributes
        {"classifications": [FRAME_QUESTION]},  # per frame in an IMAGE project
        {"classifications": [QUESTIONS[0], QUESTIONS[0]]},
        {"classifications": [{**QUESTIONS[0], "per_frame": "yes"}]},
    ):
        with pytest.raises(InvalidInput):
            parse_schema({"classes": [], **bad}, Base.IMAGE)


def test_an_image_classification_validates_and_round_trips() -> None:
    answer = {"_id": "c1", "label": "weather", "attributes": {"sky": {"value": "rain"}}}
    annotations = image(answer)
    assert notes.validate(annotations, base=Base.IMAGE, schema=IMAGE, data=IMAGE_DATA) == 1
    result = notes.result_document(Base.IMAGE, IMAGE_DATA, annotations)
    assert result["data"]["annotations"]["classifications"] == [answer]
    # pre-labels may answer them too
    assert notes.prelabels(Base.IMAGE, {**IMAGE_DATA, "maker_response": annotations}) == annotations


@pytest.mark.parametrize(
    ("answers", "path"),
    [
        ([{"_id": "c", "label": "mood", "attributes": {}}], "classifications[0].label"),
        ([{"_id": "c", "label": "weather", "attributes": {}}], "attributes.sky"),  # required
        (
            [{"_id": "c", "label": "weather", "attributes": {"sky": {"value": "snow"}}}],
            "attributes.sky",
        ),
        (
            [
                {"_id": "a", "label": "weather", "attributes": {"sky": {"value": "sun"}}},
                {"_id": "b", "label": "weather", "attributes": {"sky": {"value": "sun"}}},
            ],
            "classifications[1].label",
        ),
        ([{"label": "weather", "attributes": {"sky": {"value": "sun"}}}], "_id"),
        (["weather"], "classifications[0]"),
    ],
)
def test_wrong_image_answers_name_their_path(answers: list[Any], path: str) -> None:
    with pytest.raises(InvalidInput, match=path.replace("[", r"\[").replace("]", r"\]")):
        notes.validate(image(*answers), base=Base.IMAGE, schema=IMAGE, data=IMAGE_DATA)


def test_video_classifications_whole_and_per_frame() -> None:
    whole = {
        "_id": "w",
        "type": "classification",
        "label": "weather",
        "attributes": {"sky": {"value": "sun"}},
    }
    frames = {
        "_id": "v",
        "type": "classification",
        "label": "visibility",
        "frames": {
            "f1": {"attributes": {"level": {"value": "good"}}},
            "f2": {"attributes": {"level": {"value": "poor"}}},
        },
    }
    annotations = [whole, frames]
    assert notes.validate(annotations, base=Base.VIDEO, schema=VIDEO, data=VIDEO_DATA) == 2
    result = notes.result_document(Base.VIDEO, VIDEO_DATA, annotations)
    assert result["data"]["annotation_data"]["annotations"] == annotations
    wrong = [
        [{**whole, "frames": {"f1": {}}}],  # a whole-video question answered per frame
        [{**frames, "attributes": {"level": {"value": "good"}}}],
        [{**frames, "frames": {"f9": {"attributes": {}}}}],  # no such frame
        [{**frames, "frames": {"f1": {"attributes": {"level": {"value": "bad"}}}}}],
        [{**frames, "frames": ["f1"]}],
        [whole, {**whole, "_id": "w2"}],
    ]
    for annotations in wrong:
        with pytest.raises(InvalidInput):
            notes.validate(annotations, base=Base.VIDEO, schema=VIDEO, data=VIDEO_DATA)
