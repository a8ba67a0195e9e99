"""The reference assist service (``labelyard assist serve``, OpenCV GrabCut) and the contract's
parsers: a box around a synthetic object comes back as a polygon that covers it."""

from __future__ import annotations

import base64
import io

import httpx
import numpy as np
import pytest
from PIL import Image

from labelyard.assist import decode, segment
from labelyard.core.assist import BadAnswer, Prompt, parse_prompt
from labelyard.core.model import Base
from labelyard.core.schema import parse_schema
from labelyard.errors import InvalidInput
from labelyard.services.assist import read_answer
from tests.assist_scene import assist_service, iou, scene, serving


def test_grabcut_finds_the_object_in_its_box() -> None:
    picture = scene()
    polygon = segment(decode(picture.png), Prompt(src="x", box=picture.box, points=(), label=None))
    assert len(polygon) >= 3
    assert iou(polygon, picture.truth) >= 0.8


def test_clicks_on_the_object_without_a_box_find_it_too() -> None:
    picture = scene(seed=3)
    ys, xs = np.nonzero(picture.truth)
    middle = (float(np.median(xs)), float(np.median(ys)))
    clicks = ((middle[0], middle[1], True),)
    polygon = segment(
        decode(picture.png), Prompt(src="x", box=picture.box, points=clicks, label=None)
    )
    assert iou(polygon, picture.truth) >= 0.8


def test_a_full_hd_picture_is_segmented_in_image_pixels() -> None:
    picture = scene(1920, 1080)
    polygon = segment(decode(picture.png), Prompt(src="x", box=picture.box, points=(), label=None))
    assert iou(polygon, picture.truth) >= 0.8
    assert max(x for x, _ in polygon) > 1000  # scaled back from the working size


def test_the_service_answers_the_contract_over_http() -> None:
    picture = scene()
    with serving({"/object.png": picture.png}) as files, assist_service() as url:
        body = {"image_url": f"{files}/object.png", "box": list(picture.box), "points": []}
        answer = httpx.post(url, json=body, timeout=30)
        assert answer.status_code == 200, answer.text
        assert iou(answer.json()["polygon"], picture.truth) >= 0.8
        # Outside the contract: 400; an image it cannot read: 422 with the reason.
        assert httpx.post(url, json={"box": [0, 0, 1, 1]}).status_code == 400
        assert httpx.post(url, content=b"not json").status_code == 400
        missing = httpx.post(url, json={**body, "image_url": f"{files}/gone.png"})
        assert missing.status_code == 422 and "404" in missing.json()["error"]


def test_the_service_fetches_only_what_its_policy_allows() -> None:
    picture = scene()
    with serving({"/object.png": picture.png}) as files, assist_service(allow="") as url:
        body = {"image_url": f"{files}/object.png", "box": list(picture.box)}
        refused = httpx.post(url, json=body, timeout=30)
        assert refused.status_code == 422 and "loopback" in refused.json()["error"]
        metadata = {**body, "image_url": "http://169.254.169.254/latest/meta-data"}
        assert httpx.post(url, json=metadata, timeout=30).status_code == 422


@pytest.mark.parametrize(
    "body",
    [
        None,
        [],
        {"box": [0, 0, 10, 10]},  # no src
        {"src": "http://x/a.png"},  # neither box nor positive point
        {"src": "http://x/a.png", "box": [10, 10, 5, 20]},  # x2 < x1
        {"src": "http://x/a.png", "box": [0, 0, 10]},
        {"src": "http://x/a.png", "box": [0, 0, "1", 10]},
        {"src": "http://x/a.png", "box": [0, 0, float("inf"), 10]},
        {"src": "http://x/a.png", "points": [{"x": 1, "y": 2, "positive": False}]},
        {"src": "http://x/a.png", "points": [{"x": 1, "y": 2, "positive": "yes"}]},
        {"src": "http://x/a.png", "points": [{"x": 1, "y": 2}] * 65},
        {"src": "http://x/a.png", "box": [0, 0, 5, 5], "label": 3},
    ],
)
def test_a_prompt_outside_the_contract_is_refused(body: object) -> None:
    with pytest.raises(InvalidInput):
        parse_prompt(body)


def test_answers_polygon_or_mask() -> None:
    assert read_answer(b'{"polygon": [[0, 0], [4, 0], [4, 3]]}') == [[0, 0], [4, 0], [4, 3]]
    assert read_answer(b'{"polygon": [{"x": 0, "y": 0}, {"x": 4, "y": 0}, {"x": 4, "y": 3}]}')
    mask = np.zeros((40, 60), np.uint8)
    mask[10:30, 20:50] = 255
    mask[0:3, 0:3] = 255  # a smaller region: not the answer
    out = io.BytesIO()
    Image.fromarray(mask).save(out, "PNG")
    png = base64.b64encode(out.getvalue()).decode()
    outline = read_answer(f'{{"mask": {{"width": 60, "height": 40, "png": "{png}"}}}}'.encode())
    xs, ys = [x for x, _ in outline], [y for _, y in outline]
    assert (min(xs), max(xs), min(ys), max(ys)) == (20, 49, 10, 29)
    for bad in (
        b"[]",
        b"nope",
        b'{"polygon": [[0, 0], [1, 1]]}',
        b'{"mask": {"png": "!!"}}',
        b"{}",
    ):
        with pytest.raises(BadAnswer):
            read_answer(bad)


def test_the_schema_holds_an_assist_service() -> None:
    document = {
        "classes": [],
        "assist": {"url": "http://assist.example/assist", "timeout_seconds": 5},
    }
    schema = parse_schema(document, Base.IMAGE)
    assert schema.to_json() == document
    assert schema.to_json(for_workers=True) == {"classes": [], "assist": True}
    assert parse_schema({"classes": []}, Base.IMAGE).to_json() == {"classes": []}
    for bad in (
        "http://x",
        {"url": "ftp://x/"},
        {"url": "http://x/", "timeout_seconds": 0},
        {"url": "http://x/", "timeout_seconds": 61},
        {"url": "http://x/", "timeout_seconds": True},
    ):
        with pytest.raises(InvalidInput):
            parse_schema({"classes": [], "assist": bad}, Base.IMAGE)
