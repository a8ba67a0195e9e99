"""Validation of 3D cuboid trackers and point segmentation (API.md 3.7), with the path of the
offending value in the error."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest

from labelyard.core import annotations as notes
from labelyard.core.annotations3d import label_array, label_color
from labelyard.core.model import Base
from labelyard.core.schema import parse_schema
from labelyard.errors import InvalidInput

SENSOR_DATA = {
    "sensor_meta": [
        {"id": "lidar", "name": "lidar", "modality": "lidar"},
        {"id": "cam", "name": "front", "modality": "camera"},
    ],
    "frames": [
        {
            "frame_id": f"f{i}",
            "sensors": [
                {"sensor_id": "lidar", "data_url": f"https://pc.example/{i}.pcd"},
                {"sensor_id": "cam", "data_url": f"https://img.example/{i}.jpg"},
            ],
        }
        for i in range(3)
    ],
}
PCS_DATA = {
    "sensor_meta": [{"id": "lidar", "name": "lidar", "modality": "lidar"}],
    "sensors": [{"sensor_id": "lidar", "data_url": "https://pc.example/0.pcd"}],
}
SCHEMA = {
    "classes": [
        {"name": "car", "attributes": [{"name": "parked", "type": "boolean"}]},
        {"name": "sign", "shapes": ["rectangle"]},
    ]
}


def box(x: float = 1.0, **extra: Any) -> dict[str, Any]:
    return {
        "position": {"x": x, "y": 2.0, "z": 0.5},
        "dimensions": {"x": 4.2, "y": 1.8, "z": 1.5},
        "rotation": {"roll": 0, "pitch": 0, "yaw": 0.3},
        "points_inside": 120,
        "keyframe": True,
        **extra,
    }


def cuboid(_id: str = "c1", **frames: dict[str, Any]) -> dict[str, Any]:
    return {
        "_id": _id,
        "type": "cuboid3d",
        "label": "car",
        "attributes": {"parked": {"value": True}},
        "_isStationary": False,
        "frames": frames or {"f0": box()},
    }


def check(annotations: Any, base: Base = Base.SENSOR_FUSION, **kwargs: Any) -> int:
    data = {"sensor_data": SENSOR_DATA if base is Base.SENSOR_FUSION else PCS_DATA}
    schema = parse_schema(
        SCHEMA if base is Base.SENSOR_FUSION else {"classes": [SCHEMA["classes"][0]]}, base
    )
    return notes.validate(annotations, base=base, schema=schema, data=data, **kwargs)


def test_a_cuboid_track_over_frames_is_valid() -> None:
    assert check([cuboid(f0=box(1.0), f2=box(3.0, keyframe=False))]) == 1


@pytest.mark.parametrize(
    ("change", "path", "message"),
    [
        (
            lambda t: t["frames"]["f0"]["position"].update(x=float("nan")),
            "frames.f0.position.x",
            "finite",
        ),
        (lambda t: t["frames"]["f0"]["position"].pop("z"), "frames.f0.position.z", "finite"),
        (
            lambda t: t["frames"]["f0"]["dimensions"].update(y=0),
            "frames.f0.dimensions.y",
            "greater than 0",
        ),
        (
            lambda t: t["frames"]["f0"]["dimensions"].update(z=-1.5),
            "frames.f0.dimensions.z",
            "greater than 0",
        ),
        (
            lambda t: t["frames"]["f0"]["rotation"].update(yaw="0.3"),
            "frames.f0.rotation.yaw",
            "finite",
        ),
        (
            lambda t: t["frames"]["f0"].update(rotation=None),
            "frames.f0.rotation",
            "roll, pitch, yaw",
        ),
        (lambda t: t["frames"]["f0"].update(points_inside=-1), "frames.f0.points_inside", ">= 0"),
        (lambda t: t["frames"]["f0"].update(keyframe="yes"), "frames.f0.keyframe", "true or false"),
        (lambda t: t["frames"].update(f9=box()), "frames.f9", "not a frame of this job"),
        (lambda t: t.update(label="bus"), "label", "'bus' is not a class"),
        (lambda t: t.update(label="sign"), "", "may not be drawn as a cuboid3d"),
        (lambda t: t.update(_isStationary=1), "_isStationary", "true or false"),
        (
            lambda t: t["attributes"].update(parked={"value": "no"}),
            "attributes.parked",
            "true or false",
        ),
    ],
)
def test_bad_cuboids_name_the_offending_value(change: Any, path: str, message: str) -> None:
    tracker = cuboid()
    change(tracker)
    with pytest.raises(InvalidInput) as caught:
        check([cuboid("ok"), tracker])
    where = f"annotations[1].{path}" if path else "annotations[1]"
    assert caught.value.message.startswith(f"{where}: "), caught.value.message
    assert message in caught.value.message


def test_cuboids_are_not_shapes_of_image_projects() -> None:
    with pytest.raises(InvalidInput, match="shapes: must be a non-empty list of rectangle"):
        parse_schema({"classes": [{"name": "car", "shapes": ["cuboid3d"]}]}, Base.IMAGE)
    with pytest.raises(InvalidInput, match=r"annotations\[0\]\.type: must be one of rectangle"):
        notes.validate(
            [cuboid(f0=box())],
            base=Base.VIDEO,
            schema=parse_schema(None, Base.VIDEO),
            data={"video_data": {"frames": [{"frame_id": "f0", "src": "https://x/0.jpg"}]}},
        )


def points(_id: str, indices: list[Any], label: str = "car", **extra: Any) -> dict[str, Any]:
    return {
        "_id": _id,
        "type": "points",
        "label": label,
        "attributes": {},
        "frames": {"0": {"indices": indices, **extra}},
    }


def test_point_segmentation_labels_each_point_once() -> None:
    annotations = [points("a", [0, 1, 2]), points("b", [5, 3]), cuboid(**{"0": box()})]
    assert check(annotations, Base.POINT_CLOUD_SEGMENTATION, point_counts={("0", "lidar"): 6}) == 3
    labels, legend = label_array(annotations, frame_id="0", sensor_id="lidar", count=6)
    assert labels.tolist() == [1, 1, 1, 2, 0, 2]
    assert legend == [
        {"id": "a", "text": "car", "color": label_color("car"), "label_key": 1, "value": 1},
        {"id": "b", "text": "car", "color": label_color("car"), "label_key": 2, "value": 2},
    ]
    assert labels.dtype == np.uint32


@pytest.mark.parametrize(
    ("annotations", "path", "message"),
    [
        (
            [points("a", [0, 1]), points("b", [2, 1])],
            "annotations[1].frames.0.indices[1]",
            "already labelled",
        ),
        ([points("a", [0, 0])], "annotations[0].frames.0.indices", "twice"),
        (
            [points("a", [0, 6])],
            "annotations[0].frames.0.indices[1]",
            "not a point of the file (6 points)",
        ),
        ([points("a", [-1])], "annotations[0].frames.0.indices[0]", "not a point"),
        ([points("a", [0, 1.5])], "annotations[0].frames.0.indices[1]", "whole number"),
        ([points("a", [True])], "annotations[0].frames.0.indices[0]", "whole number"),
        ([points("a", [])], "annotations[0].frames.0.indices", "non-empty"),
        ([points("a", [0], sensor_id="cam")], "annotations[0].frames.0.sensor_id", "lidar sensor"),
    ],
)
def test_bad_point_labels_name_the_offending_value(
    annotations: list[Any], path: str, message: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        check(
            copy.deepcopy(annotations),
            Base.POINT_CLOUD_SEGMENTATION,
            point_counts={("0", "lidar"): 6},
        )
    assert caught.value.message.startswith(f"{path}: "), caught.value.message
    assert message in caught.value.message


def test_without_point_counts_indices_are_checked_for_shape_and_overlap() -> None:
    assert check([points("a", [10_000])], Base.POINT_CLOUD_SEGMENTATION) == 1
    with pytest.raises(InvalidInput, match="already labelled"):
        check([points("a", [7]), points("b", [7])], Base.POINT_CLOUD_SEGMENTATION)
