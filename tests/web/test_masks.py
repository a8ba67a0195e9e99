"""Masks in a real browser (Chromium through Playwright): paint with the brush, erase, fill a
polygon, submit, accept in review; the result's mask PNG (read through /v1/attachments) has the
pixels painted. A raster pre-label (a PNG served with CORS) is loaded as the starting mask."""

from __future__ import annotations

import io
import math
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.conftest import Server
from tests.web.conftest import (
    create_jobs,
    make_team,
    screenshot,
    sign_in,
    sign_in_owner,
    start,
)
from tests.web.test_annotate import at, image_box, result_of

WIDTH, HEIGHT = 640, 480


def mask_of(server: Server, api_key: str, entry: dict[str, Any]) -> dict[tuple[int, int], str]:
    """The label of each labelled pixel of a result's mask, by its legend."""
    with httpx.Client(base_url=server.base_url, headers={"x-api-key": api_key}) as api:
        link = api.get("/v1/attachments", params={"url": entry["url"]})
        assert link.status_code == 302, link.text
    body = httpx.get(link.headers["location"])
    assert body.status_code == 200 and body.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(body.content)).convert("RGBA")
    assert image.size == (WIDTH, HEIGHT)
    labels = {}
    pixels = image.load()
    for y in range(HEIGHT):
        for x in range(WIDTH):
            r, g, b, a = pixels[x, y]
            if a:
                labels[(x, y)] = entry["legend"][f"#{r:02x}{g:02x}{b:02x}"]
    return labels


def segment_distance(
    p: tuple[float, float], a: tuple[float, float], b: tuple[float, float]
) -> float:
    dx, dy = b[0] - a[0], b[1] - a[1]
    t = max(0.0, min(1.0, ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / (dx * dx + dy * dy or 1)))
    return math.hypot(a[0] + t * dx - p[0], a[1] + t * dy - p[1])


def test_paint_erase_fill_submit_and_review_give_the_painted_mask(
    server: Server, new_page: Any, images: str
) -> None:
    team = make_team(server, "SEGMENTATION")
    [job_id] = create_jobs(
        server,
        team,
        [{"reference_id": "seg-1", "data": {"image_url": f"{images}/{WIDTH}x{HEIGHT}/s.png"}}],
    )
    page = new_page()
    sign_in(page, server, team.annotator)
    start(page, team.project_id, "annotate")
    box = image_box(page)

    page.keyboard.press("b")
    page.locator("#label-select").select_option("car")
    page.locator("#brush-size").fill("20")
    page.mouse.click(*at(box, 200, 200))  # a disc
    start_, end = at(box, 350, 150), at(box, 500, 150)
    page.mouse.move(*start_)
    page.mouse.down()
    page.mouse.move(*end, steps=12)  # a straight stroke
    page.mouse.up()

    page.keyboard.press("e")
    page.locator("#brush-size").fill("10")
    page.mouse.click(*at(box, 200, 200))  # a hole in the disc

    page.keyboard.press("f")
    page.locator("#label-select").select_option("person")
    for x, y in ((100, 350), (300, 350), (300, 450), (100, 450)):
        page.mouse.click(*at(box, x, y))
    page.keyboard.press("Enter")
    page.keyboard.press("Control+z")
    page.keyboard.press("Control+Shift+z")  # undone and redone: the fill stays
    page.locator("#mask-opacity").fill("70")
    page.locator("#status", has_text="Draft saved").wait_for()
    screenshot(page, "mask")
    page.locator("#submit").click()
    page.wait_for_url("**/ui/queue?empty=annotate")

    reviewer = new_page()
    sign_in(reviewer, server, team.reviewer)
    start(reviewer, team.project_id, "review")
    reviewer.wait_for_function(
        "() => { const c = document.querySelector('canvas.mask-layer');"
        " return c && !c.hidden && c.width === 640; }"
    )
    reviewer.locator("#accept").click()  # sends the mask as the reviewer's page loaded it
    reviewer.wait_for_url("**/ui/queue?empty=review")

    result = result_of(server, team, job_id)["data"]
    [entry] = result["annotation_data"]["annotations"]
    assert sorted(entry["legend"].values()) == ["car", "person"]
    labels = mask_of(server, team.api_key, entry)

    wrong = near_edge = 0
    for y in range(HEIGHT):
        for x in range(WIDTH):
            c = (x + 0.5, y + 0.5)
            disc = math.dist(c, (200, 200))
            capsule = segment_distance(c, (350, 150), (500, 150))
            in_fill = 100 <= c[0] <= 300 and 350 <= c[1] <= 450
            edge_fill = min(abs(c[0] - 100), abs(c[0] - 300), abs(c[1] - 350), abs(c[1] - 450))
            if in_fill:
                want = "person"
            elif (10 < disc <= 20) or capsule <= 20:
                want = "car"
            else:
                want = None
            if labels.get((x, y)) != want:
                # the pointer lands on screen pixels: edges may move by about a pixel
                edges = (abs(disc - 20), abs(disc - 10), abs(capsule - 20))
                if min(edges) <= 2 or (edge_fill <= 2 and c[0] <= 302 and c[1] >= 348):
                    near_edge += 1
                else:
                    wrong += 1
    assert wrong == 0, f"{wrong} pixels wrong away from the edges"
    print(f"pixels differing within 2 px of an edge: {near_edge}")
    assert near_edge < 400, near_edge


class _Raster(BaseHTTPRequestHandler):
    """One pre-label mask: red ("car") on the left half, blue ("person # 2") bottom right."""

    def do_GET(self) -> None:
        image = Image.new("RGBA", (WIDTH, HEIGHT), (0, 0, 0, 0))
        image.paste((255, 0, 0, 255), (0, 0, WIDTH // 2, HEIGHT))
        image.paste((0, 0, 255, 255), (WIDTH // 2, HEIGHT // 2, WIDTH, HEIGHT))
        out = io.BytesIO()
        image.save(out, "PNG")
        self.send_response(200)
        self.send_header("content-type", "image/png")
        self.send_header("access-control-allow-origin", "*")  # the editor reads its pixels
        self.end_headers()
        self.wfile.write(out.getvalue())

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def raster() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Raster)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/mask.png"
    httpd.shutdown()
    httpd.server_close()


def test_a_raster_pre_label_is_the_starting_mask(
    server: Server, new_page: Any, images: str, raster: str
) -> None:
    team = make_team(server, "SEGMENTATION")
    legend = {"#ff0000": "car", "#0000ff": "person # 2"}
    data = {
        "image_url": f"{images}/{WIDTH}x{HEIGHT}/p.png",
        "maker_response": {"raster": {"data": {"url": raster, "legend": legend}}},
    }
    [job_id] = create_jobs(server, team, [{"reference_id": "pre-1", "data": data}])
    page = new_page()
    sign_in(page, server, team.annotator)
    start(page, team.project_id, "annotate")
    shown = page.wait_for_function(
        """() => {
          const c = document.querySelector('canvas.mask-layer');
          if (!c || c.hidden || c.width !== 640) return null;
          const px = c.getContext('2d').getImageData(0, 0, 640, 480).data;
          const alpha = (x, y) => px[(y * 640 + x) * 4 + 3];
          return alpha(10, 10) && !alpha(630, 10) && alpha(630, 470) ? [alpha(10, 10)] : null;
        }"""
    )
    assert shown.json_value() == [255]
    screenshot(page, "mask-prelabel")
    page.locator("#submit").click()
    page.wait_for_url("**/ui/queue?empty=annotate")
    base = f"/work/v1/projects/{team.project_id}"
    with httpx.Client(
        base_url=server.base_url, headers={"authorization": f"Bearer {team.reviewer['token']}"}
    ) as reviewer:
        assert reviewer.post(f"{base}/claim", json={"step": "review"}).status_code == 200
        accepted = reviewer.post(f"{base}/jobs/{job_id}/review", json={"decision": "accept"})
        assert accepted.status_code == 200, accepted.text
    [entry] = result_of(server, team, job_id)["data"]["annotation_data"]["annotations"]
    labels = mask_of(server, team.api_key, entry)
    assert labels[(0, 0)] == "car" and labels[(WIDTH - 1, HEIGHT - 1)] == "person # 2"
    assert (WIDTH - 1, 0) not in labels
    assert len(labels) == WIDTH * HEIGHT // 2 + WIDTH * HEIGHT // 4


def test_a_video_is_painted_frame_by_frame(server: Server, new_page: Any, images: str) -> None:
    team = make_team(server, "SEGMENTATION")
    frames = [{"frame_id": f"f{i}", "src": f"{images}/{WIDTH}x{HEIGHT}/v{i}.png"} for i in range(3)]
    [job_id] = create_jobs(
        server, team, [{"reference_id": "vid-1", "data": {"video_data": {"frames": frames}}}]
    )
    page = new_page()
    sign_in(page, server, team.annotator)
    start(page, team.project_id, "annotate")
    assert page.locator(".tools [data-tool=rectangle]").is_hidden()  # masks only
    page.keyboard.press("b")
    box = image_box(page)
    page.mouse.click(*at(box, 100, 100))
    page.keyboard.press("d")
    page.keyboard.press("d")
    page.locator(".view.loaded").wait_for()
    page.wait_for_function("() => !document.querySelector('canvas.mask-layer').hidden")
    page.keyboard.press("]")  # 8 -> 10 px
    page.mouse.click(*at(box, 500, 400))
    assert page.locator("#frame-strip button.annotated").count() == 2
    page.locator("#status", has_text="Draft saved").wait_for()
    screenshot(page, "mask-video")
    page.locator("#submit").click()
    page.wait_for_url("**/ui/queue?empty=annotate")

    base = f"/work/v1/projects/{team.project_id}"
    with httpx.Client(
        base_url=server.base_url, headers={"authorization": f"Bearer {team.reviewer['token']}"}
    ) as reviewer:
        assert reviewer.post(f"{base}/claim", json={"step": "review"}).status_code == 200
        accepted = reviewer.post(f"{base}/jobs/{job_id}/review", json={"decision": "accept"})
        assert accepted.status_code == 200, accepted.text
    entries = result_of(server, team, job_id)["data"]["annotation_data"]["annotations"]
    assert [e["frame_id"] for e in entries] == ["f0", "f2"]

    owner = new_page()
    sign_in_owner(owner, server, team.api_key)
    with httpx.Client(base_url=server.base_url, headers={"x-api-key": team.api_key}) as api:
        listed = api.get(f"/v1/projects/{team.project_id}/batch/{team.batch_id}").json()
    owner.goto(listed["data"]["jobs"][0]["viewer_url"])
    owner.locator(".view.loaded").wait_for()
    owner.wait_for_function("() => !document.querySelector('canvas.mask-layer').hidden")
    for entry, centre, radius in ((entries[0], (100, 100), 8), (entries[1], (500, 400), 10)):
        labels = mask_of(server, team.api_key, entry)
        for y in range(HEIGHT):
            for x in range(WIDTH):
                distance = math.dist((x + 0.5, y + 0.5), centre)
                if abs(distance - radius) > 1.5:
                    assert ((x, y) in labels) == (distance < radius), (entry["frame_id"], x, y)
