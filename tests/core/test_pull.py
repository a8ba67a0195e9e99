"""Reading the hosted service's answers (core.pull) from recorded answers shaped like API.md's:
envelopes, page tokens (``""``, missing), missing optional keys, results back into data and
annotations; and the state machine's ``imported`` action."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from labelyard.core import lifecycle, pull
from labelyard.core.model import Base
from labelyard.core.pull import ListedJob, SourceError
from labelyard.errors import Conflict

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def answer(data: object) -> bytes:
    return orjson.dumps({"success": True, "data": data})


def test_the_envelope_gives_data_or_a_named_error() -> None:
    assert pull.envelope(200, answer({"a": 1}), "x") == {"a": 1}
    failure = {"success": False, "error": {"code": "auth-failure", "message": "bad key"}}
    with pytest.raises(SourceError, match="details: HTTP 401 auth-failure: bad key"):
        pull.envelope(401, orjson.dumps(failure), "details")
    with pytest.raises(SourceError, match="not a JSON envelope"):
        pull.envelope(502, b"<html>bad gateway</html>", "page")
    with pytest.raises(SourceError, match="success is not true"):
        pull.envelope(200, orjson.dumps({"data": {}}), "page")


def test_details_tolerate_missing_optional_keys() -> None:
    details = pull.parse_details(
        {
            "name": "Cars",
            "base": "IMAGE",
            "batches": [
                {"id": "b1", "name": "Default batch", "is_default": True, "total_jobs": 3},
                {"id": "b2", "name": "second"},
            ],
        }
    )
    assert details.base is Base.IMAGE and details.name == "Cars"
    first, second = details.batches
    assert first.is_default and first.total_jobs == 3 and first.description == ""
    assert not second.is_default and second.total_jobs == 0
    with pytest.raises(SourceError, match="base 'LIDAR'"):
        pull.parse_details({"name": "x", "base": "LIDAR", "batches": []})
    assert pull.parse_details({"base": "VIDEO"}).batches == ()


@pytest.mark.parametrize(
    ("page", "token"),
    [
        ({"jobs": [], "next_page_token": ""}, ""),
        ({"jobs": []}, ""),
        ({"jobs": [], "next_page_token": None}, ""),
        ({"jobs": [], "next_page_token": "abc_-9"}, "abc_-9"),
    ],
)
def test_the_last_page_is_an_empty_or_missing_token(page: dict[str, object], token: str) -> None:
    assert pull.parse_page(page).next_token == token


def test_a_listed_job_without_optional_keys_takes_the_defaults() -> None:
    page = pull.parse_page(
        {
            "id": "b",
            "jobs": [
                {"id": "j1", "reference_id": "r1", "status": "created"},
                {"id": "j2", "reference_id": "r2", "status": "completed", "priority_weight": 42},
                {
                    "id": "j3",
                    "reference_id": "r3",
                    "status": "aborted",
                    "tag": "t",
                    "priority_weight": 9,
                },
            ],
            "next_page_token": "",
        }
    )
    assert [(j.priority_weight, j.tag) for j in page.jobs] == [(5, ""), (5, ""), (9, "t")]
    with pytest.raises(SourceError, match=r"jobs\[0\].reference_id"):
        pull.parse_page({"jobs": [{"id": "j1", "status": "created"}]})


def test_retry_after_in_seconds_or_as_a_date_capped() -> None:
    assert pull.retry_after("2", NOW) == 2.0
    assert pull.retry_after(None, NOW) is None
    assert pull.retry_after("soon", NOW) is None
    assert pull.retry_after("Tue, 01 Dec 2026 00:00:30 GMT", NOW) == 30.0
    assert pull.retry_after("100000", NOW) == pull.MAX_RETRY_AFTER_SECONDS
    assert pull.retry_after("-5", NOW) == 0.0
    assert pull.retry_after("nan", NOW) is None


BOX = {"_id": "r1", "label": "car", "attributes": {}, "coordinates": [{"x": 0, "y": 0}] * 4}


def test_an_image_result_gives_the_image_url_and_the_shapes() -> None:
    document = {
        "data": {
            "annotations": {"rectangles": [BOX], "polygons": []},
            "image_url": "https://i/1.jpg",
        }
    }
    got = pull.from_result(Base.IMAGE, document)
    assert got.data == {"image_url": "https://i/1.jpg"}
    assert got.annotations["rectangles"] == [BOX] and got.annotations["lines"] == []
    assert got.result is document and got.mask_urls == ()


def test_a_video_result_gives_the_video_data_and_the_trackers() -> None:
    video = {"frames": [{"frame_id": "f0", "src": "https://v/0.jpg"}]}
    tracker = {"_id": "t", "type": "rectangle", "label": "car", "frames": {"f0": {}}}
    document = {"data": {"annotation_data": {"annotations": [tracker]}, "video_data": video}}
    got = pull.from_result(Base.VIDEO, document)
    assert got.data == {"video_data": video} and got.annotations == [tracker]
    sensor = {"sensor_meta": [], "frames": []}
    got = pull.from_result(Base.SENSOR_FUSION, {"data": {"sensor_data": sensor}})
    assert got.data == {"sensor_data": sensor} and got.annotations == []
    with pytest.raises(SourceError, match="result video_data"):
        pull.from_result(Base.VIDEO, {"data": {"annotation_data": {"annotations": []}}})


def test_masks_are_inlined_in_the_result_and_the_annotations_in_order() -> None:
    entry = {
        "_id": "m1",
        "attributes": {},
        "frame_id": "0",
        "track_id": "m1",
        "url": "https://src/files/results/p/j/mask-0.png",
        "legend": {"#ff0000": "car"},
    }
    document = {
        "data": {
            "annotations": {"rectangles": []},
            "image_url": "https://i/1.png",
            "annotation_data": {"annotations": [entry]},
        }
    }
    got = pull.from_result(Base.SEGMENTATION, document)
    assert got.mask_urls == ((0, entry["url"]),)
    inlined = pull.with_masks(Base.SEGMENTATION, got, {0: "UE5H"})
    [mask] = inlined.result["data"]["annotation_data"]["annotations"]
    # The destination swaps ``png`` for its own ``url`` at the end: the same key order.
    assert list(mask) == ["_id", "attributes", "frame_id", "track_id", "legend", "png"]
    assert inlined.annotations["masks"][0]["png"] == "UE5H"
    assert list(inlined.result["data"]) == ["annotations", "image_url", "annotation_data"]
    with pytest.raises(SourceError, match="mask 0 has no url"):
        pull.from_result(
            Base.SEGMENTATION,
            {"data": {"image_url": "https://i", "annotation_data": {"annotations": [{}]}}},
        )


def test_data_lines_name_the_bad_line() -> None:
    good = '{"reference_id": "a", "data": {"image_url": "https://i/a"}}\n\n'
    assert pull.data_lines(good) == {"a": {"image_url": "https://i/a"}}
    with pytest.raises(SourceError, match="line 2: not JSON"):
        pull.data_lines(good.strip() + "\n{oops\n")
    with pytest.raises(SourceError, match="line 1: no reference_id"):
        pull.data_lines('{"data": {"a": 1}}')
    with pytest.raises(SourceError, match="line 1: no data"):
        pull.data_lines('{"reference_id": "a", "data": {}}')


def test_data_lines_read_a_file_line_by_line_and_give_each_payload_when_asked() -> None:
    lines = io.StringIO(
        '{"reference_id": "a", "data": {"image_url": "https://i/a", "metadata": [1, {"k": null}]}}'
        "\n"
        '{"reference_id": "b", "data": {"image_url": "https://i/b"}}\n'
    )
    payloads = pull.data_lines(lines)
    assert len(payloads) == 2 and "a" in payloads and "c" not in payloads
    assert payloads.get("c") is None
    first = payloads["a"]
    assert first == {"image_url": "https://i/a", "metadata": [1, {"k": None}]}
    first["image_url"] = "changed"  # each read is a copy of its own
    assert payloads["a"]["image_url"] == "https://i/a"
    with pytest.raises(SourceError, match="line 3: not JSON"):
        pull.data_lines(io.StringIO('{"reference_id": "a", "data": {"x": 1}}\n\nnope\n'))


def test_the_create_body_keeps_reference_priority_and_tag() -> None:
    job = ListedJob(id="j", reference_id="r", status="created", priority_weight=7, tag="x")
    body = pull.create_body(job, {"image_url": "u"}, tag="quick", batch_id="b")
    assert body == {
        "reference_id": "r",
        "data": {"image_url": "u"},
        "tag": "quick",
        "batch_id": "b",
        "priority_weight": 7,
    }


def _state(status: str = "created", index: int = 0) -> lifecycle.JobState:
    return lifecycle.JobState(
        status=status,
        route=lifecycle.Route(("annotate", "review")),
        step_index=index,
        in_queue=True,
        frames=3,
        annotations=0,
    )


def test_imported_completes_a_new_job_with_its_result_and_counters() -> None:
    result = {"data": {"annotations": {"rectangles": [BOX]}}}
    change = lifecycle.import_completed(
        _state(), base=Base.IMAGE, annotations={"rectangles": [BOX]}, result=result, now=NOW
    )
    assert (change.action, change.to_status, change.to_index) == ("imported", "completed", None)
    assert change.counters == {"completed_jobs": 1, "completed_frames": 3, "annotations": 1}
    assert change.result is result and change.columns["completed_at"] == NOW
    assert change.job_columns(_state().route)["queue"] is None


@pytest.mark.parametrize(
    ("status", "index"), [("in_progress", 0), ("completed", 0), ("created", 1)]
)
def test_only_a_job_just_created_is_imported(status: str, index: int) -> None:
    with pytest.raises(Conflict):
        lifecycle.import_completed(
            _state(status, index), base=Base.IMAGE, annotations={}, result={}, now=NOW + timedelta()
        )


def test_a_pull_request_names_its_bad_field() -> None:
    from labelyard.errors import InvalidInput, MissingParameter

    good = {"source_url": "https://api.example/", "api_key": "k", "project": "p"}
    parsed = pull.parse_pull_request(good)
    assert (parsed.source_url, parsed.concurrency, parsed.into) == ("https://api.example", 8, None)
    for field in ("source_url", "api_key", "project"):
        with pytest.raises(MissingParameter, match=field):
            pull.parse_pull_request({k: v for k, v in good.items() if k != field})
    with pytest.raises(InvalidInput, match="source_url must be an http"):
        pull.parse_pull_request({**good, "source_url": "file:///etc/passwd"})
    with pytest.raises(InvalidInput, match="concurrency"):
        pull.parse_pull_request({**good, "concurrency": 0})
    with pytest.raises(InvalidInput, match="data_from: line 1: no reference_id"):
        pull.parse_pull_request({**good, "data_from": [{"data": {"image_url": "u"}}]})
    with pytest.raises(InvalidInput, match="body must be"):
        pull.parse_pull_request([])
