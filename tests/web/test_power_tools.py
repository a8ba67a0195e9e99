"""The editor's power tools in Chromium: classifications answered in the side panel, keyframe
interpolation in a video, a landmark skeleton placed point by point; each reaches the result."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Server
from tests.web.conftest import SCHEMA, create_jobs, make_team, screenshot, sign_in, start
from tests.web.test_annotate import HEIGHT, WIDTH, accepted_result, at, drag, image_box

QUESTIONS = [
    {
        "name": "weather",
        "attributes": [
            {"name": "sky", "type": "select", "options": ["sun", "rain"], "required": True},
            {"name": "night", "type": "boolean"},
        ],
    }
]


def test_an_image_classification_is_answered_and_kept(
    server: Server, new_page: Any, images: str
) -> None:
    team = make_team(server)
    with server.admin() as admin:
        answer = admin.put(
            f"/admin/v1/projects/{team.project_id}/schema",
            json={**SCHEMA, "classifications": QUESTIONS},
        )
        assert answer.status_code == 200, answer.text
    [job_id] = create_jobs(
        server, team, [{"reference_id": "cls", "data": {"image_url": f"{images}/640x480/c.png"}}]
    )
    page = new_page()
    sign_in(page, server, team.annotator)
    start(page, team.project_id, "annotate")
    panel = page.locator("#classifications fieldset[data-classification=weather]")
    panel.locator("[data-attribute=night]").check()
    page.locator("#status", has_text="sky is required").wait_for()
    panel.locator("[data-attribute=sky]").select_option("rain")
    page.locator("#status", has_text="Draft saved").wait_for()
    screenshot(page, "classifications")
    page.locator("#submit").click()
    page.wait_for_url("**/ui/queue?empty=annotate")
    result = accepted_result(server, team, job_id)
    [answer] = result["data"]["annotations"]["classifications"]
    assert answer["label"] == "weather"
    assert answer["attributes"] == {"sky": {"value": "rain"}, "night": {"value": True}}


def test_a_video_box_between_two_keyframes_is_interpolated(
    server: Server, new_page: Any, images: str
) -> None:
    team = make_team(server, "VIDEO")
    frames = [
        {"frame_id": str(i), "src": f"{images}/{WIDTH}x{HEIGHT}/k{i}.png"} for i in range(1, 6)
    ]
    [job_id] = create_jobs(
        server, team, [{"reference_id": "kf", "data": {"video_data": {"frames": frames}}}]
    )
    page = new_page()
    sign_in(page, server, team.annotator)
    start(page, team.project_id, "annotate")
    page.keyboard.press("r")
    box = image_box(page)
    drag(page, at(box, 100, 100), at(box, 200, 180))
    page.locator("#object-panel [data-attribute=color]").select_option("red")
    page.locator("#frame-strip [data-frame='5']").click()
    page.locator(".view.loaded").wait_for()
    page.keyboard.press("v")
    box = image_box(page)
    drag(page, at(box, 150, 140), at(box, 350, 240))  # the held box's middle, moved by (200, 100)
    page.locator("#object-panel [data-frame-kind=key]").wait_for()
    page.locator("#frame-strip [data-frame='1'].keyframe").wait_for()
    assert page.locator("#frame-strip button.interpolated").count() == 3
    page.locator("#frame-strip [data-frame='3']").click()
    page.locator("#object-panel [data-frame-kind=interpolated]").wait_for()
    page.locator("#object-panel [data-frame-flag=occluded]").check()  # a keyframe now
    page.locator("#status", has_text="Draft saved").wait_for()
    screenshot(page, "interpolation")
    page.locator("#submit").click()
    page.wait_for_url("**/ui/queue?empty=annotate")

    [tracker] = accepted_result(server, team, job_id)["data"]["annotation_data"]["annotations"]
    assert set(tracker["frames"]) == {"1", "2", "3", "4", "5"}
    assert tracker["frames"]["3"]["occluded"] is True
    for frame, t in (("2", 0.25), ("3", 0.5), ("4", 0.75)):
        tl = tracker["frames"][frame]["coordinates"][0]
        assert tl["x"] * WIDTH == pytest.approx(100 + 200 * t, abs=1.5)
        assert tl["y"] * HEIGHT == pytest.approx(100 + 100 * t, abs=1.5)
    assert tracker["frames"]["2"]["interpolated"] is True
    assert "interpolated" not in tracker["frames"]["5"]


POSE = {
    "points": ["head", "neck", "hip"],
    "edges": [["head", "neck"], ["neck", "hip"]],
}


def test_a_skeleton_is_placed_point_by_point(server: Server, new_page: Any, images: str) -> None:
    team = make_team(server)
    schema = {"classes": [{"name": "person", "shapes": ["landmark"], "skeleton": POSE}]}
    with server.admin() as admin:
        answer = admin.put(f"/admin/v1/projects/{team.project_id}/schema", json=schema)
        assert answer.status_code == 200, answer.text
    [job_id] = create_jobs(
        server, team, [{"reference_id": "pose", "data": {"image_url": f"{images}/640x480/p.png"}}]
    )
    page = new_page()
    sign_in(page, server, team.annotator)
    start(page, team.project_id, "annotate")
    page.keyboard.press("k")
    box = image_box(page)
    for x, y in ((320, 80), (320, 160), (320, 320)):
        page.mouse.click(*at(box, x, y))
    page.locator(".overlay line.bone").nth(1).wait_for(state="attached")  # 0 px wide: upright
    page.locator("#status", has_text="Draft saved").wait_for()
    screenshot(page, "skeleton")
    page.locator("#submit").click()
    page.wait_for_url("**/ui/queue?empty=annotate")
    [pose] = accepted_result(server, team, job_id)["data"]["annotations"]["landmarks"]
    assert set(pose["points"]) == {"head", "neck", "hip"}  # (PostgreSQL orders JSON keys)
    assert pose["points"]["neck"]["y"] * 480 == pytest.approx(160, abs=1)
    assert sorted(pose["edges"].values()) == [["head", "neck"], ["neck", "hip"]]


def test_a_per_frame_classification_is_answered_frame_by_frame(
    server: Server, new_page: Any, images: str
) -> None:
    team = make_team(server, "VIDEO")
    questions = [
        *QUESTIONS,
        {
            "name": "visibility",
            "per_frame": True,
            "attributes": [{"name": "level", "type": "select", "options": ["good", "poor"]}],
        },
    ]
    with server.admin() as admin:
        answer = admin.put(
            f"/admin/v1/projects/{team.project_id}/schema",
            json={**SCHEMA, "classifications": questions},
        )
        assert answer.status_code == 200, answer.text
    frames = [
        {"frame_id": str(i), "src": f"{images}/{WIDTH}x{HEIGHT}/q{i}.png"} for i in range(1, 4)
    ]
    [job_id] = create_jobs(
        server, team, [{"reference_id": "pf", "data": {"video_data": {"frames": frames}}}]
    )
    page = new_page()
    sign_in(page, server, team.annotator)
    start(page, team.project_id, "annotate")
    weather = page.locator("#classifications [data-classification=weather]")
    visibility = page.locator("#classifications [data-classification=visibility]")
    weather.locator("[data-attribute=sky]").select_option("sun")
    visibility.locator("[data-attribute=level]").select_option("good")
    page.locator("#frame-strip [data-frame='3']").click()
    assert visibility.locator("[data-attribute=level]").input_value() == ""  # another frame
    assert weather.locator("[data-attribute=sky]").input_value() == "sun"  # the whole video's
    visibility.locator("[data-attribute=level]").select_option("poor")
    page.locator("#status", has_text="Draft saved").wait_for()
    page.locator("#submit").click()
    page.wait_for_url("**/ui/queue?empty=annotate")
    trackers = accepted_result(server, team, job_id)["data"]["annotation_data"]["annotations"]
    by_label = {t["label"]: t for t in trackers}
    assert by_label["weather"]["type"] == "classification"
    assert by_label["weather"]["attributes"] == {"sky": {"value": "sun"}}
    assert by_label["visibility"]["frames"] == {
        "1": {"attributes": {"level": {"value": "good"}}},
        "3": {"attributes": {"level": {"value": "poor"}}},
    }
