"""Job create validation (API.md 3.2), without a database or HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from labelyard.core.model import Base
from labelyard.core.validation import WorkflowRef, parse_job_create
from labelyard.errors import (
    InvalidInput,
    InvalidJobData,
    InvalidJobType,
    InvalidPriority,
    LabelyardError,
    MissingJobData,
    MissingReferenceId,
    UnknownWorkflow,
)

FLOW = WorkflowRef(id="6f1c1d5e-0000-4000-8000-000000000001", tag="default")
WORKFLOWS = {FLOW.id: FLOW, FLOW.tag: FLOW}
POSE = {"position": {"x": 0, "y": 1.5, "z": 2}, "heading": {"w": 1, "x": 0, "y": 0, "z": 0}}
SENSOR_META = [
    {"id": "lidar", "name": "lidar", "modality": "lidar", "primary_view": True},
    {"id": "cam", "name": "front", "modality": "camera", "intrinsics": None, "state": "editable"},
]


def body(data: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"reference_id": "r1", "tag": "default", "data": data, **extra}


def parse(payload: Any, base: Base = Base.IMAGE) -> Any:
    return parse_job_create(payload, base=base, workflows=WORKFLOWS)


def video(frames: list[Any]) -> dict[str, Any]:
    return {"video_data": {"frames": frames}}


def fusion(frames: list[Any], meta: list[Any] | None = None) -> dict[str, Any]:
    return {"sensor_data": {"frames": frames, "sensor_meta": SENSOR_META if meta is None else meta}}


def frame(frame_id: str, **extra: Any) -> dict[str, Any]:
    sensors = [
        {"sensor_id": "lidar", "data_url": f"https://pc.example/{frame_id}.pcd"},
        {
            "sensor_id": "cam",
            "data_url": f"https://img.example/{frame_id}.jpg",
            "sensor_pose": POSE,
        },
    ]
    return {"frame_id": frame_id, "sensors": sensors, **extra}


def test_image_job_defaults() -> None:
    spec = parse(body({"image_url": "https://img.example/1.jpg", "metadata": None}))
    assert (spec.priority_weight, spec.type, spec.frames, spec.batch_id) == (5, "NON_TEST", 1, None)
    assert spec.workflow == FLOW


@pytest.mark.parametrize("url", ["http://a.example/x.png", "s3://bucket/k.jpg", "gs://b/k.jpg"])
def test_image_url_schemes_accepted(url: str) -> None:
    assert parse(body({"image_url": url})).frames == 1


@pytest.mark.parametrize("url", ["ftp://a.example/x.png", "not a url", "", 7, None, "https://"])
def test_bad_image_url_is_fs_0003(url: Any) -> None:
    with pytest.raises(InvalidJobData, match=r"data\.image_url"):
        parse(body({"image_url": url}))


def test_video_frames_counted() -> None:
    spec = parse(
        body(
            video(
                [
                    {"frame_id": "a", "src": "https://v.example/a.jpg"},
                    {"frame_id": "b", "src": "https://v.example/b.jpg"},
                ]
            )
        ),
        Base.VIDEO,
    )
    assert spec.frames == 2


@pytest.mark.parametrize(
    ("data", "where"),
    [
        (video([]), "data.video_data.frames"),
        ({"video_data": {}}, "data.video_data.frames"),
        ({"image_url": "https://x.example/a.jpg"}, "data.video_data"),
        (video([{"frame_id": "a", "src": "https://v.example/a"}] * 2), r"frames\[1\]\.frame_id"),
        (video([{"frame_id": "a"}]), r"frames\[0\]\.src"),
        (video(["a"]), r"frames\[0\]"),
    ],
)
def test_bad_video_data(data: dict[str, Any], where: str) -> None:
    with pytest.raises(InvalidJobData, match=where):
        parse(body(data), Base.VIDEO)


def test_sensor_fusion_frames_counted() -> None:
    spec = parse(body(fusion([frame("0", ego_pose=POSE), frame("1")])), Base.SENSOR_FUSION)
    assert spec.frames == 2


@pytest.mark.parametrize(
    ("data", "where"),
    [
        (fusion([]), "data.sensor_data.frames"),
        (fusion([frame("0")], meta=[]), "sensor_meta"),
        (fusion([frame("0"), frame("0")]), r"frames\[1\]\.frame_id"),
        (
            fusion(
                [
                    {
                        "frame_id": "0",
                        "sensors": [{"sensor_id": "radar", "data_url": "https://x.e/r"}],
                    }
                ]
            ),
            "not in sensor_meta",
        ),
        (
            fusion([frame("0")], meta=[{"id": "lidar", "name": "l", "modality": "sonar"}]),
            "modality",
        ),
        (fusion([frame("0", ego_pose={"position": {"x": 0}})]), "ego_pose.position.y"),
        (
            fusion(
                [
                    {
                        "frame_id": "0",
                        "sensors": [
                            {
                                "sensor_id": "lidar",
                                "data_url": "https://x.e/1",
                                "sensor_pose": {"heading": {}},
                            }
                        ],
                    }
                ]
            ),
            "sensor_pose.position",
        ),
    ],
)
def test_bad_sensor_fusion_data(data: dict[str, Any], where: str) -> None:
    with pytest.raises(InvalidJobData, match=where):
        parse(body(data), Base.SENSOR_FUSION)


def test_point_cloud_segmentation_has_one_frame_and_no_frames_list() -> None:
    data = {"sensor_data": {"sensors": frame("0")["sensors"], "sensor_meta": SENSOR_META}}
    assert parse(body(data), Base.POINT_CLOUD_SEGMENTATION).frames == 1
    data["sensor_data"]["frames"] = [frame("0")]
    with pytest.raises(InvalidJobData, match="frames"):
        parse(body(data), Base.POINT_CLOUD_SEGMENTATION)


GOOD = {"image_url": "https://img.example/1.jpg"}


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        ([], InvalidInput),
        ({"tag": "default", "data": GOOD}, MissingReferenceId),
        ({"reference_id": "", "tag": "default", "data": GOOD}, MissingReferenceId),
        ({"reference_id": 12, "tag": "default", "data": GOOD}, InvalidInput),
        ({"reference_id": "r", "tag": "default"}, MissingJobData),
        ({"reference_id": "r", "tag": "default", "data": {}}, MissingJobData),
        ({"reference_id": "r", "tag": "default", "data": "x"}, InvalidInput),
        ({"reference_id": "r", "data": GOOD}, UnknownWorkflow),
        ({"reference_id": "r", "tag": "nope", "data": GOOD}, UnknownWorkflow),
        ({"reference_id": "r", "work_flow_id": FLOW.tag + "x", "data": GOOD}, UnknownWorkflow),
        (body(GOOD, batch_id="not-a-uuid"), InvalidInput),
        (body(GOOD, priority_weight=0), InvalidPriority),
        (body(GOOD, priority_weight=11), InvalidPriority),
        (body(GOOD, priority_weight="5"), InvalidPriority),
        (body(GOOD, priority_weight=True), InvalidPriority),
        (body(GOOD, priority_weight=5.5), InvalidPriority),
        (body(GOOD, type="GOLD"), InvalidJobType),
    ],
)
def test_create_errors(payload: Any, error: type[LabelyardError]) -> None:
    with pytest.raises(error) as raised:
        parse(payload)
    assert type(raised.value) is error


def test_workflow_found_by_id_or_tag_and_batch_id_canonicalised() -> None:
    by_id = parse({"reference_id": "r", "work_flow_id": FLOW.id, "data": GOOD})
    by_tag = parse({"reference_id": "r", "tag": FLOW.id, "data": GOOD, "batch_id": ""})
    assert by_id.workflow == by_tag.workflow == FLOW
    upper = parse(body(GOOD, batch_id="6F1C1D5E-0000-4000-8000-0000000000AA"))
    assert upper.batch_id == "6f1c1d5e-0000-4000-8000-0000000000aa"


def test_payload_hash_ignores_key_order_but_not_values() -> None:
    a = parse(body({"image_url": "https://x.example/1", "metadata": {"a": 1, "b": 2}}))
    b = parse(body({"metadata": {"b": 2, "a": 1}, "image_url": "https://x.example/1"}))
    c = parse(body({"image_url": "https://x.example/1", "metadata": {"a": 1, "b": 3}}))
    assert a.payload_hash("b1") == b.payload_hash("b1")
    assert a.payload_hash("b1") != c.payload_hash("b1")
    assert a.payload_hash("b1") != a.payload_hash("b2")


def _depth(value: object) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


def test_json_depth_from_the_bytes_agrees_with_the_parsed_value() -> None:
    import random

    import orjson

    from labelyard.core.validation import json_deeper_than, raw_json_deeper_than

    rng = random.Random(5)

    def make(level: int) -> object:
        if level == 0 or rng.random() < 0.2:
            return rng.choice([1, "s", '[{"', "\\", None, "]]}}"])
        if rng.random() < 0.5:
            return [make(level - 1) for _ in range(rng.randint(0, 3))]
        return {f"k{i}[": make(level - 1) for i in range(rng.randint(0, 3))}

    for _ in range(300):
        value = make(rng.randint(0, 12))
        raw = orjson.dumps(value)
        depth = _depth(value)
        for limit in (0, 1, 3, depth - 1, depth, depth + 1):
            if limit < 0:
                continue
            assert raw_json_deeper_than(raw, limit) == (depth > limit), (raw, limit)
            assert json_deeper_than(value, limit) == (depth > limit), (raw, limit)


def test_nul_check_and_depth_do_not_recurse() -> None:
    from labelyard.core.validation import has_nul, json_deeper_than

    value: object = "a\x00"
    for _ in range(100_000):
        value = [value]
    assert has_nul(value)
    assert json_deeper_than(value, 64)


def test_require_text_bounds_free_text() -> None:
    from labelyard.core.validation import MAX_TEXT_LENGTH, require_text

    assert require_text(None, "reason") == ""
    assert require_text("ok", "reason", 2) == "ok"
    with pytest.raises(InvalidInput, match="at most 2 characters"):
        require_text("long", "reason", 2)
    with pytest.raises(InvalidInput, match="must be a string"):
        require_text(5, "reason")
    with pytest.raises(InvalidInput, match="is required"):
        require_text("", "comment", required=True)
    assert len(require_text("x" * MAX_TEXT_LENGTH, "d")) == MAX_TEXT_LENGTH


def test_new_ids_are_canonical_version_4_uuids() -> None:
    import uuid

    from labelyard.core.ids import new_id, parse_uuid

    ids = [new_id() for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    for value in ids:
        parsed = uuid.UUID(value)
        assert parse_uuid(value) == value == str(parsed)
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122


def test_time_ordered_ids_are_canonical_version_7_uuids_after_earlier_ones() -> None:
    import uuid
    from datetime import UTC, datetime, timedelta

    from labelyard.core.ids import new_time_ids, parse_uuid

    at = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
    first = new_time_ids(5000, at)
    later = new_time_ids(5000, at + timedelta(milliseconds=1))
    assert len(set(first + later)) == 10_000
    for value in first + later:
        parsed = uuid.UUID(value)
        assert parse_uuid(value) == value == str(parsed)
        assert parsed.version == 7 and parsed.variant == uuid.RFC_4122
        # RFC 9562: the first 48 bits are the Unix time in milliseconds.
        stamp = parsed.int >> 80
        assert stamp in (int(at.timestamp() * 1000), int(at.timestamp() * 1000) + 1)
    assert max(first) < min(later)  # a later write sorts after every earlier one
    assert len({value[14:] for value in first}) == 5000  # the rest is random
