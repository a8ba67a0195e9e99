"""Media URL rules: object URLs taken apart, the connection that serves one, media rewritten."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from labelyard.core.media import (
    MediaItem,
    ObjectUrl,
    Readable,
    TryLater,
    Unreadable,
    judge,
    looks_like_image,
    media_items,
    media_urls,
    normalise_bucket_prefix,
    parse_object_url,
    pick_connection,
    rewrite_media,
    sample_items,
)
from labelyard.errors import InvalidInput


@dataclass(frozen=True)
class Conn:
    scheme: str
    bucket_prefix: str


def test_object_urls_are_taken_apart_and_other_urls_are_not_objects() -> None:
    assert parse_object_url("s3://b/k/x%20y.png") == ObjectUrl("s3", "b", "k/x y.png")
    assert parse_object_url("gs://b/a.jpg") == ObjectUrl("gs", "b", "a.jpg")
    for url in ("https://b/a.png", "s3://b", "s3:///k", "data:image/png,xx", "b/k"):
        assert parse_object_url(url) is None


def test_the_longest_matching_prefix_of_the_same_scheme_wins() -> None:
    conns = [Conn("s3", "acme"), Conn("s3", "acme-raw/cam1/"), Conn("gs", "acme-raw")]
    assert pick_connection(conns, ObjectUrl("s3", "acme-raw", "cam1/a.png")) == conns[1]
    assert pick_connection(conns, ObjectUrl("s3", "acme-raw", "cam2/a.png")) == conns[0]
    assert pick_connection(conns, ObjectUrl("gs", "acme-raw", "x.png")) == conns[2]
    assert pick_connection(conns, ObjectUrl("s3", "other", "a.png")) is None


def test_bucket_prefixes_lose_their_scheme_and_must_name_a_bucket() -> None:
    assert normalise_bucket_prefix(" s3://acme/imgs/ ") == "acme/imgs/"
    for bad in ("", "  ", "/acme", "a b", 3, "s3://"):
        with pytest.raises(InvalidInput):
            normalise_bucket_prefix(bad)


DATA = {
    "image_url": "s3://b/main.png",
    "reference_data": {"raster": {"images": [{"image_url": "gs://b/ref.png", "label": "side"}]}},
    "maker_response": {"raster": {"data": {"url": "s3://b/mask.png", "legend": {}}}},
    "video_data": {"frames": [{"frame_id": "1", "src": "s3://b/f1.png"}]},
    "sensor_data": {"frames": [{"sensors": [{"sensor_id": "l", "data_url": "s3://b/1.pcd"}]}]},
    "metadata": {"image_url": "s3://not/media"},
}


def test_every_media_url_is_found_and_rewritten_in_a_copy() -> None:
    found = list(media_urls(DATA))
    assert found == [
        "s3://b/main.png",
        "gs://b/ref.png",
        "s3://b/mask.png",
        "s3://b/f1.png",
        "s3://b/1.pcd",
    ]
    copy = rewrite_media(DATA, lambda url: "signed:" + url)
    assert list(media_urls(copy)) == ["signed:" + url for url in found]
    assert copy["metadata"] == DATA["metadata"]  # client metadata is never touched
    assert DATA["image_url"] == "s3://b/main.png"  # the original is unchanged


def test_media_items_name_their_field_and_only_camera_files_must_be_images() -> None:
    data = {
        "sensor_data": {
            "sensor_meta": [
                {"id": "cam", "modality": "camera"},
                {"id": "lid", "modality": "lidar"},
            ],
            "frames": [
                {
                    "frame_id": "0",
                    "sensors": [
                        {"sensor_id": "cam", "data_url": "https://h/0.jpg"},
                        {"sensor_id": "lid", "data_url": "https://h/0.pcd"},
                    ],
                }
            ],
        }
    }
    assert media_items(data) == [
        MediaItem("sensor_data.frames[0].sensors[0].data_url", "https://h/0.jpg", True),
        MediaItem("sensor_data.frames[0].sensors[1].data_url", "https://h/0.pcd", False),
    ]
    assert media_items(DATA)[0] == MediaItem("image_url", "s3://b/main.png", True)


def test_samples_keep_first_and_last_of_distinct_urls() -> None:
    items = [MediaItem(f"f[{i}]", f"u{i}", True) for i in range(100)] + [
        MediaItem("dup", "u0", True)
    ]
    picked = sample_items(items, 5)
    assert [item.url for item in picked] == ["u0", "u25", "u50", "u74", "u99"]
    assert len(sample_items(items[:3], 5)) == 3


def test_verdicts_on_answers() -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(8)
    assert judge(status=206, head=png, image=True) == Readable()
    assert judge(status=200, head=b"RIFF\x00\x00\x00\x00WEBPVP8 ", image=True) == Readable()
    assert isinstance(judge(status=200, head=b"<!doctype html>", image=True), Unreadable)
    assert judge(status=200, head=b"# .PCD v0.7", image=False) == Readable()
    assert judge(status=404, head=b"", image=True) == Unreadable("HTTP 404")
    assert judge(status=503, head=b"", image=True) == TryLater("HTTP 503")
    assert judge(status=429, head=b"", image=True) == TryLater("HTTP 429")
    assert looks_like_image(b"\xff\xd8\xff\xe0") and not looks_like_image(b"GIF")
