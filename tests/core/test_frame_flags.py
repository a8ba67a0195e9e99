"""VIDEO trackers' per-frame flags (keyframe interpolation): hidden, occluded, interpolated."""

from __future__ import annotations

import pytest

from labelyard.core import annotations as notes
from labelyard.core.model import Base
from labelyard.core.schema import LabelSchema
from labelyard.errors import InvalidInput

DATA = {"video_data": {"frames": [{"frame_id": "1", "src": "a"}, {"frame_id": "2", "src": "b"}]}}
BOX = {
    "coordinates": [
        {"x": 0.1, "y": 0.1},
        {"x": 0.3, "y": 0.1},
        {"x": 0.3, "y": 0.4},
        {"x": 0.1, "y": 0.4},
    ]
}


def tracker(**flags: object) -> list[dict[str, object]]:
    frames = {"1": BOX, "2": {**BOX, **flags}}
    return [{"_id": "t", "type": "rectangle", "label": "car", "attributes": {}, "frames": frames}]


def test_frame_flags_are_kept_and_must_be_booleans() -> None:
    good = tracker(hidden=True, occluded=False, interpolated=True)
    assert notes.validate(good, base=Base.VIDEO, schema=LabelSchema(), data=DATA) == 1
    result = notes.result_document(Base.VIDEO, DATA, good)
    assert result["data"]["annotation_data"]["annotations"][0]["frames"]["2"]["hidden"] is True
    for flag in ("hidden", "occluded", "interpolated"):
        with pytest.raises(InvalidInput, match=rf"frames\.2\.{flag}"):
            notes.validate(
                tracker(**{flag: "yes"}), base=Base.VIDEO, schema=LabelSchema(), data=DATA
            )
