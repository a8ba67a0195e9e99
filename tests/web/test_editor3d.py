"""The 3D editor in Chromium (WebGL through SwiftShader): a cuboid drawn on a car of the
generated street scene, fitted, turned, copied to the last frame and interpolated between,
submitted; a reviewer's correction; point segmentation by box selection; a media error."""

from __future__ import annotations

import asyncio
import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from labelyard import demo_scene
from labelyard.core.pointcloud import parse_pcd_header
from tests.conftest import Server
from tests.core.pcd import pcd_bytes
from tests.lidar import HOST, convert
from tests.web.conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    Team,
    create_jobs,
    make_team,
    screenshot,
    sign_in,
)
from tests.web.test_annotate import accepted_result, drag

FRAMES = 6
SCHEMA = {
    "classes": [
        {"name": "car", "attributes": [{"name": "parked", "type": "boolean"}]},
        {"name": "ground"},
    ]
}
# WebGL in headless Chromium without a GPU: ANGLE on SwiftShader.
WEBGL_ARGS = [
    *(a for a in CHROMIUM_ARGS if a != "--disable-gpu"),
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium with WebGL (SwiftShader), one per module."""
    if not Path(CHROMIUM).exists():
        reason = f"no Chromium at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=WEBGL_ARGS)
        yield chromium
        chromium.close()


# A lasso around the car parked at (-9, 3.5) (4.4 by 1.8, turned by pi).
LASSO = [(-12.0, 1.5), (-6.0, 1.5), (-5.5, 3.5), (-6.0, 5.5), (-12.0, 5.5)]


def in_polygon(x: Any, y: Any, polygon: list[tuple[float, float]]) -> Any:
    """Even-odd rule, as the editor's lasso."""
    inside = np.zeros(len(x), dtype=bool)
    for (ax, ay), (bx, by) in zip(polygon, polygon[-1:] + polygon[:-1], strict=True):
        with np.errstate(divide="ignore", invalid="ignore"):
            crosses = ((ay > y) != (by > y)) & (x < (bx - ax) * (y - ay) / (by - ay) + ax)
        inside ^= crosses
    return inside


def near_polygon(x: Any, y: Any, polygon: list[tuple[float, float]], distance: float) -> Any:
    """Points within ``distance`` of the polygon's edges."""
    near = np.zeros(len(x), dtype=bool)
    for (ax, ay), (bx, by) in zip(polygon, polygon[1:] + polygon[:1], strict=True):
        dx, dy = bx - ax, by - ay
        t = np.clip(((x - ax) * dx + (y - ay) * dy) / (dx * dx + dy * dy), 0, 1)
        near |= np.hypot(x - (ax + t * dx), y - (ay + t * dy)) < distance
    return near


def street_files() -> dict[str, tuple[int, bytes]]:
    files = {}
    for i in range(FRAMES):
        points = demo_scene.lidar_points(i, points=20_000)
        columns = {
            "x": points[:, 0],
            "y": points[:, 1],
            "z": points[:, 2],
            "intensity": points[:, 3],
        }
        files[f"/street-{i}.pcd"] = (200, pcd_bytes(columns, "binary"))
    return files


def street_job(server: Server, team: Team, images: str, reference: str) -> str:
    def url(kind: str, i: int) -> str:
        return f"{HOST}/street-{i}.pcd" if kind == "lidar" else f"{images}/640x360/{kind}{i}.png"

    data = {"sensor_data": demo_scene.sensor_data(FRAMES, url)}
    [job_id] = create_jobs(server, team, [{"reference_id": reference, "data": data}])
    return job_id


def set_schema(server: Server, team: Team) -> None:
    with server.admin() as admin:
        answer = admin.put(f"/admin/v1/projects/{team.project_id}/schema", json=SCHEMA)
        assert answer.status_code == 200, answer.text


def open_job(page: Any, server: Server, team: Team) -> None:
    sign_in(page, server, team.annotator)
    page.locator(f"tr[data-project='{team.project_id}'][data-step='annotate'] button").click()
    page.wait_for_url("**/ui/work/**")
    page.locator("#view3d.loaded").wait_for()


def screen(page: Any, x: float, y: float, z: float) -> tuple[float, float]:
    point = page.evaluate(f"window.labelyard3d.view.screenOf([{x}, {y}, {z}])")
    return point[0], point[1]


def near(actual: dict[str, float], expected: dict[str, float], tolerance: float) -> None:
    for key, value in expected.items():
        assert actual[key] == pytest.approx(value, abs=tolerance), (key, actual, expected)


def test_draw_fit_turn_copy_and_interpolate_a_cuboid_track(
    server: Server, new_page: Any, images: str
) -> None:
    team = make_team(server, "SENSOR_FUSION")
    set_schema(server, team)
    job_id = street_job(server, team, images, "street-1")
    convert(server, street_files())

    page = new_page()
    open_job(page, server, team)
    assert int(page.locator("#view3d").get_attribute("data-rendered") or 0) > 0
    assert page.locator("#points-info").inner_text().endswith("points")
    assert page.locator(".camera").count() == 2

    # Top view, cuboid tool, drag the moving car's footprint at frame 1 (x 5.8..10.2, y -2.9..-1.1).
    page.keyboard.press("2")
    page.keyboard.press("n")
    ground = demo_scene.GROUND_Z
    drag(page, screen(page, 5.8, -2.9, ground), screen(page, 10.2, -1.1, ground))
    page.locator("#points-inside").wait_for()
    page.keyboard.press("f")  # fit the height to the points inside
    page.keyboard.press("q")  # turn left 5 degrees
    assert int(page.locator("#points-inside").inner_text().split()[0]) > 100
    page.locator("#object-panel select[name=label]").select_option("car")

    # To the last frame: a keyframe there (a copy), moved 5 m forward.
    page.locator("#frame-strip button[data-frame='005']").click()
    page.keyboard.press("k")
    x = page.locator("input[data-number='position.x']")
    x.fill("13")
    x.press("Enter")
    page.locator("#frame-strip button[data-frame='002'].spanned").wait_for()
    page.locator("#status", has_text="Draft saved").wait_for()
    screenshot(page, "editor-3d")

    # The projected box on the front camera selects the cuboid.
    page.keyboard.press("Escape")
    front = page.locator(".camera[data-sensor=front] canvas")
    canvas_box = front.bounding_box()
    cam_pixels = demo_scene.project(
        demo_scene.FRONT, demo_scene.INTRINSICS, "pinhole", np.array([[13.0, -2.0, -1.05]])
    )[0]
    scale = min(canvas_box["width"] / 640, canvas_box["height"] / 360)
    left = canvas_box["x"] + (canvas_box["width"] - 640 * scale) / 2
    top = canvas_box["y"] + (canvas_box["height"] - 360 * scale) / 2
    front.click(
        position={
            "x": left - canvas_box["x"] + cam_pixels[0] * scale,
            "y": top - canvas_box["y"] + cam_pixels[1] * scale,
        }
    )
    page.locator("#object-list li.selected").wait_for()

    page.locator("#submit").click()
    page.wait_for_url("**/ui/queue?empty=annotate")

    # The reviewer moves the first keyframe 0.1 m to the left (+y) and accepts.
    reviewer = new_page()
    sign_in(reviewer, server, team.reviewer)
    reviewer.locator(f"tr[data-project='{team.project_id}'][data-step='review'] button").click()
    reviewer.wait_for_url("**/ui/work/**")
    reviewer.locator("#view3d.loaded").wait_for()
    reviewer.locator("#object-list li").first.click()
    reviewer.keyboard.press("ArrowUp")
    moved = float(reviewer.locator("input[data-number='position.y']").input_value())
    assert moved == pytest.approx(-1.9, abs=0.15)
    reviewer.locator("#accept").click()
    reviewer.wait_for_url("**/ui/queue?empty=review")

    with httpx.Client(base_url=server.base_url, headers={"x-api-key": team.api_key}) as api:
        result = api.get(f"/v1/projects/{team.project_id}/jobs/{job_id}/result").json()
    [tracker] = result["data"]["annotation_data"]["annotations"]
    assert tracker["type"] == "cuboid3d" and tracker["label"] == "car"
    assert tracker["_isStationary"] is False
    frames = tracker["frames"]
    assert sorted(frames) == [f"{i:03d}" for i in range(FRAMES)]
    yaw = 5 * math.pi / 180
    tolerance = 0.2  # metres: a pixel of the top view is about 0.05 m
    for i, geometry in enumerate(frames[f"{i:03d}"] for i in range(FRAMES)):
        assert geometry["keyframe"] is (i in (0, 5))
        y = -2.0 + 0.1 * (5 - i) / 5  # the correction at frame 1, interpolated to frame 6
        near(geometry["position"], {"x": 8 + i, "y": y, "z": ground + 0.75}, tolerance)
        drawn = frames[f"{i:03d}"]["position"]["y"] - frames["005"]["position"]["y"]
        assert drawn == pytest.approx(0.1 * (5 - i) / 5, abs=1e-6)
        near(geometry["dimensions"], {"x": 4.4, "y": 1.8, "z": 1.5}, tolerance)
        near(geometry["rotation"], {"roll": 0, "pitch": 0, "yaw": yaw}, 1e-6)
    assert frames["000"]["points_inside"] > 100


def test_point_segmentation_by_box_selection_labels_exactly_those_points(
    server: Server, new_page: Any
) -> None:
    team = make_team(server, "POINT_CLOUD_SEGMENTATION")
    set_schema(server, team)
    points = demo_scene.lidar_points(0, points=20_000)
    points[7, 0] = np.nan  # a missing return: not shown, unlabelled in the result
    columns = {"x": points[:, 0], "y": points[:, 1], "z": points[:, 2]}
    data = {
        "sensor_data": {
            "sensor_meta": [{"id": "lidar", "name": "lidar", "modality": "lidar"}],
            "sensors": [{"sensor_id": "lidar", "data_url": f"{HOST}/seg.pcd"}],
        }
    }
    [job_id] = create_jobs(server, team, [{"reference_id": "seg-1", "data": data}])
    convert(server, {"/seg.pcd": (200, pcd_bytes(columns, "binary"))})

    page = new_page()
    open_job(page, server, team)
    page.keyboard.press("2")
    page.keyboard.press("b")
    page.locator("#label-select").select_option("car")
    # The parked car at (14, 4), 4.4 by 1.8 turned 0.2 rad: a box around it, clear of others.
    ground = demo_scene.GROUND_Z
    drag(page, screen(page, 11.4, 2.2, ground), screen(page, 16.6, 5.8, ground))
    page.locator("#object-list li", has_text="car").wait_for()
    # The other parked car, at (-9, 3.5), by lasso.
    page.keyboard.press("l")
    path = [screen(page, x, y, ground) for x, y in LASSO]
    page.mouse.move(*path[0])
    page.mouse.down()
    for point in [*path[1:], path[0]]:
        page.mouse.move(*point, steps=3)
    page.mouse.up()
    page.locator("#object-panel", has_text="points").wait_for()
    # Some ground, by brush (0.5 m, widened to 1.5 m), at (0, -10).
    page.locator("#label-select").select_option("ground")
    page.keyboard.press("p")
    for _ in range(10):
        page.keyboard.press(".")
    page.locator("#status", has_text="Brush 1.5 m").wait_for()
    page.mouse.click(*screen(page, 0.0, -10.0, ground))
    page.locator("#object-list li", has_text="ground").wait_for()
    page.locator("#hide-labelled").check()
    page.locator("#status", has_text="Draft saved").wait_for()
    page.locator("#submit").click()
    page.wait_for_url("**/ui/queue?empty=annotate")

    result = accepted_result(server, team, job_id)
    annotation_data = result["data"]["annotation_data"]
    assert [(e["text"], e["label_key"]) for e in annotation_data["legend"]] == [
        ("car", 1),
        ("ground", 2),
    ]
    with httpx.Client(base_url=server.base_url, headers={"x-api-key": team.api_key}) as api:
        link = api.get("/v1/attachments", params={"url": annotation_data["url"]})
        pcd = httpx.get(link.headers["location"]).content
    header = parse_pcd_header(pcd)
    labels = np.frombuffer(
        pcd[header.offset :], dtype=[("x", "<f4"), ("y", "<f4"), ("z", "<f4"), ("l", "<u4")]
    )["l"]
    x, y = points[:, 0], points[:, 1]
    boxed = (x >= 11.4) & (x <= 16.6) & (y >= 2.2) & (y <= 5.8)
    lassoed = in_polygon(x, y, LASSO)
    inside = boxed | lassoed
    # The drag's corners land within a pixel (about 0.05 m) of the asked ones.
    edge = (
        (np.abs(x - 11.4) < 0.1)
        | (np.abs(x - 16.6) < 0.1)
        | (np.abs(y - 2.2) < 0.1)
        | (np.abs(y - 5.8) < 0.1)
        | near_polygon(x, y, LASSO, 0.1)
    )
    assert lassoed.sum() > 100
    brushed = np.hypot(x - 0.0, y + 10.0) <= 1.5
    edge |= np.abs(np.hypot(x - 0.0, y + 10.0) - 1.5) < 0.1
    assert brushed.sum() > 3
    assert (labels[brushed & ~edge] == 2).all()
    assert len(labels) == len(points)
    assert labels[7] == 0
    assert np.array_equal(labels[inside & ~edge] == 1, np.ones((inside & ~edge).sum(), bool))
    assert not labels[~inside & ~brushed & ~edge].any()
    assert inside.sum() > 100


def test_a_cloud_that_cannot_be_read_shows_its_error(
    server: Server, new_page: Any, images: str
) -> None:
    team = make_team(server, "SENSOR_FUSION")
    set_schema(server, team)
    street_job(server, team, images, "broken")
    files = street_files()
    files["/street-0.pcd"] = (200, b"VERSION 0.7\nFIELDS x y\nDATA ascii\n")
    convert(server, files)
    page = new_page()
    sign_in(page, server, team.annotator)
    page.locator(f"tr[data-project='{team.project_id}'][data-step='annotate'] button").click()
    page.wait_for_url("**/ui/work/**")
    error = page.locator("#media-error")
    error.wait_for()
    assert error.inner_text().startswith("FS_0007: data.sensor_data.frames[0].sensors[0].data_url")
    assert "cannot be shown" in page.locator("#view3d .loading").inner_text()


def test_the_street_demo_opens_in_the_3d_editor_without_a_worker(
    server: Server, new_page: Any
) -> None:
    from concurrent.futures import ThreadPoolExecutor
    from secrets import token_hex

    from labelyard.blobs.local import LocalBlobStore
    from labelyard.bootstrap import create_street_demo
    from labelyard.store.engine import Database

    with server.admin() as admin:
        account = admin.post("/admin/v1/accounts", json={"name": "street"}).json()["data"]
        worker = admin.post(
            f"/admin/v1/accounts/{account['account_id']}/workers",
            json={"name": "street annotator", "role": "both"},
        ).json()["data"]
        person = {"username": f"street-{token_hex(4)}", "password": token_hex(8)}
        answer = admin.put(f"/admin/v1/workers/{worker['worker_id']}/login", json=person)
        assert answer.status_code == 200, answer.text

    async def demo() -> str:
        db = Database(server.settings.resolved_database_url(), pool_size=1)
        try:
            return await create_street_demo(
                db,
                LocalBlobStore(server.settings.resolved_blob_dir()),
                server.base_url,
                account_id=account["account_id"],
            )
        finally:
            await db.dispose()

    with ThreadPoolExecutor(1) as pool:
        project_id = pool.submit(asyncio.run, demo()).result()

    page = new_page()
    sign_in(page, server, person)
    page.locator(f"tr[data-project='{project_id}'][data-step='annotate'] button").click()
    page.wait_for_url("**/ui/work/**")
    page.locator("#view3d.loaded").wait_for()
    page.locator(".camera[data-sensor=rear] img").evaluate(
        "image => image.complete || new Promise(done => image.onload = done)"
    )
    assert page.locator("#media-error").is_hidden()
    assert page.locator("#points-info").inner_text() != ""
    screenshot(page, "editor-3d-demo")
