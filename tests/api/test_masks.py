"""SEGMENTATION masks over HTTP: drafts and submits carry a mask PNG and its legend; bad masks
are refused with a message naming them and change nothing; the completed result links each mask
PNG (hosted format, API.md 3.7), readable through /v1/attachments."""

from __future__ import annotations

import base64
import io
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.api.test_lifecycle import (
    NewProject,
    NewWorker,
    act,
    claim,
    data_of,
    error_of,
    set_schema,
)
from tests.conftest import Server

SCHEMA = {"classes": [{"name": "car", "shapes": ["polygon"]}, {"name": "road"}]}
RED, BLUE = (255, 0, 0, 255), (0, 0, 255, 255)
LEGEND = {"#ff0000": "car # 1", "#0000ff": "road"}


def png(
    width: int = 40, height: int = 30, *, colour: tuple[int, ...] = RED, mode: str = "RGBA"
) -> str:
    """A mask: ``colour`` on the left half, blue on the bottom right quarter, else clear."""
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    for y in range(height):
        for x in range(width):
            if x < width // 2:
                image.putpixel((x, y), colour)
            elif y >= height // 2:
                image.putpixel((x, y), BLUE)
    out = io.BytesIO()
    image.convert(mode).save(out, "PNG") if mode != "RGBA" else image.save(out, "PNG")
    return base64.b64encode(out.getvalue()).decode()


def with_mask(**mask: Any) -> dict[str, Any]:
    entry = {"_id": "m1", "frame_id": "0", "legend": LEGEND, "png": png(), **mask}
    return {"rectangles": [], "masks": [entry]}


@pytest.fixture
def segmentation(server: Server, new_project: NewProject, new_worker: NewWorker) -> Any:
    p = new_project("SEGMENTATION")
    set_schema(server, p.project_id, SCHEMA)
    job_id = data_of(p.api.post(f"/v1/projects/{p.project_id}/jobs", json=p.job("s")))["job_id"]
    worker = new_worker(p.account_id)
    claim(worker, p.project_id)
    return p, worker, job_id


def test_a_mask_goes_through_review_into_the_result(segmentation: Any) -> None:
    p, worker, job_id = segmentation
    annotations = with_mask(png="data:image/png;base64," + png())
    data_of(act(worker, p.project_id, job_id, "draft", {"annotations": annotations}))
    data_of(act(worker, p.project_id, job_id, "submit", {"annotations": annotations}))
    claim(worker, p.project_id, "review")
    data_of(act(worker, p.project_id, job_id, "review", {"decision": "accept"}))
    result = data_of(p.api.get(f"/v1/projects/{p.project_id}/jobs/{job_id}/result"))
    [entry] = result["annotation_data"]["annotations"]
    assert set(entry) == {"_id", "attributes", "frame_id", "track_id", "url", "legend"}
    assert (entry["_id"], entry["frame_id"], entry["legend"]) == ("m1", "0", LEGEND)
    assert result["annotations"]["rectangles"] == []

    link = p.api.get("/v1/attachments", params={"url": entry["url"]})
    assert link.status_code == 302, link.text
    stored = httpx.get(link.headers["location"])
    assert stored.status_code == 200 and stored.headers["content-type"] == "image/png"
    got = Image.open(io.BytesIO(stored.content)).convert("RGBA")
    assert got.size == (40, 30)
    assert got.getpixel((0, 0)) == RED and got.getpixel((39, 29)) == BLUE
    assert got.getpixel((39, 0))[3] == 0
    assert httpx.get(entry["url"]).status_code == 403  # private without a signature


def test_another_projects_key_cannot_read_a_mask(
    segmentation: Any, new_project: NewProject
) -> None:
    p, worker, job_id = segmentation
    act(worker, p.project_id, job_id, "submit", {"annotations": with_mask()})
    claim(worker, p.project_id, "review")
    data_of(act(worker, p.project_id, job_id, "review", {"decision": "accept"}))
    result = data_of(p.api.get(f"/v1/projects/{p.project_id}/jobs/{job_id}/result"))
    url = result["annotation_data"]["annotations"][0]["url"]
    stranger = new_project(name="stranger")
    error_of(stranger.api.get("/v1/attachments", params={"url": url}), 403, "unauthorized")


def _not_png() -> str:
    return base64.b64encode(b"GIF89a not a png at all").decode()


def _broken_png() -> str:
    return base64.b64encode(base64.b64decode(png())[:40]).decode()


def _half_alpha() -> str:
    return png(colour=(255, 0, 0, 128))


@pytest.mark.parametrize(
    ("mask", "path", "words"),
    [
        ({"png": _not_png()}, "annotations.masks[0].png", "is not a PNG"),
        ({"png": "%%%"}, "annotations.masks[0].png", "is not valid base64"),
        ({"png": _broken_png()}, "annotations.masks[0].png", "is not a readable PNG"),
        ({"png": png(colour=(0, 255, 0, 255))}, "annotations.masks[0].png", "colour #00ff00"),
        ({"png": _half_alpha()}, "annotations.masks[0].png", "opaque"),
        (
            {"legend": {"#ff0000": "car", "#0000ff": "tree"}},
            "annotations.masks[0].legend.#0000ff",
            "'tree' is not a class",
        ),
        ({"legend": {"red": "car"}}, "annotations.masks[0].legend.red", "#rrggbb"),
        ({"frame_id": "7"}, "annotations.masks[0].frame_id", "not a frame"),
        ({"png": png(20_000, 1)}, "annotations.masks[0].png", "at most 10000 pixels"),
    ],
)
def test_bad_masks_are_refused_and_change_nothing(
    segmentation: Any, mask: dict[str, Any], path: str, words: str
) -> None:
    p, worker, job_id = segmentation
    good = with_mask()
    data_of(act(worker, p.project_id, job_id, "draft", {"annotations": good}))
    for action in ("draft", "submit"):
        message = error_of(
            act(worker, p.project_id, job_id, action, {"annotations": with_mask(**mask)}),
            400,
            "GE_0001",
        )
        assert message.startswith(path + ":") and words in message, message
    history = data_of(p.api.get(f"/v1/projects/{p.project_id}/jobs/{job_id}/history"))
    assert [h["action"] for h in history["transitions"]] == ["claim"]


def test_masks_belong_to_segmentation_projects(
    server: Server, new_project: NewProject, new_worker: NewWorker
) -> None:
    p = new_project("IMAGE")
    job_id = data_of(p.api.post(f"/v1/projects/{p.project_id}/jobs", json=p.job("i")))["job_id"]
    worker = new_worker(p.account_id)
    claim(worker, p.project_id)
    message = error_of(
        act(worker, p.project_id, job_id, "draft", {"annotations": with_mask()}), 400, "GE_0001"
    )
    assert message.startswith("annotations.masks:"), message


FRAMES = [{"frame_id": f"f{i}", "src": f"https://v.example/{i}.jpg"} for i in range(3)]


def test_a_video_is_segmented_frame_by_frame(
    server: Server, new_project: NewProject, new_worker: NewWorker
) -> None:
    p = new_project("SEGMENTATION")
    set_schema(server, p.project_id, SCHEMA)
    body = p.job("v", data={"video_data": {"frames": FRAMES}})
    created = data_of(p.api.post(f"/v1/projects/{p.project_id}/jobs", json=body))
    worker = new_worker(p.account_id)
    claim(worker, p.project_id)
    job_id = created["job_id"]
    one = {"_id": "m0", "frame_id": "f0", "legend": LEGEND, "png": png()}
    two = {"_id": "m2", "frame_id": "f2", "legend": LEGEND, "png": png(colour=BLUE)}
    shapes = {"polygons": [], "rectangles": [{"_id": "r"}]}
    for bad, path in (
        ({"masks": [{**one, "frame_id": "0"}]}, "annotations.masks[0].frame_id"),
        ({"masks": [one, {**two, "frame_id": "f0"}]}, "annotations.masks[1].frame_id"),
        ({**shapes, "masks": [one]}, "annotations.rectangles"),
    ):
        message = error_of(
            act(worker, p.project_id, job_id, "submit", {"annotations": bad}), 400, "GE_0001"
        )
        assert message.startswith(path + ":"), message
    good = {"masks": [one, two]}
    data_of(act(worker, p.project_id, job_id, "submit", {"annotations": good}))
    claim(worker, p.project_id, "review")
    data_of(act(worker, p.project_id, job_id, "review", {"decision": "accept"}))
    result = data_of(p.api.get(f"/v1/projects/{p.project_id}/jobs/{job_id}/result"))
    assert result["video_data"] == {"frames": FRAMES}
    entries = result["annotation_data"]["annotations"]
    assert [(e["_id"], e["frame_id"]) for e in entries] == [("m0", "f0"), ("m2", "f2")]
    second = httpx.get(
        p.api.get("/v1/attachments", params={"url": entries[1]["url"]}).headers["location"]
    )
    assert Image.open(io.BytesIO(second.content)).convert("RGBA").getpixel((0, 0)) == BLUE
