"""The annotate and review pages in a real browser (Chromium through Playwright).

Each test signs workers in on the sign-in page, works jobs with the mouse and keyboard as a
person would, and checks what the public API then answers: the result's geometry must match the
pixels drawn, within one pixel.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import Server
from tests.web.conftest import (
    Team,
    create_jobs,
    make_team,
    screenshot,
    sign_in,
    sign_in_owner,
    start,
)

WIDTH, HEIGHT = 640, 480


def result_of(server: Server, team: Team, job_id: str) -> dict[str, Any]:
    with httpx.Client(base_url=server.base_url, headers={"x-api-key": team.api_key}) as api:
        job = api.get(f"/v1/projects/{team.project_id}/jobs/{job_id}").json()["data"]
        assert job["status"] == "completed", job
        answer = api.get(f"/v1/projects/{team.project_id}/jobs/{job_id}/result")
        assert answer.status_code == 200, answer.text
        result: dict[str, Any] = answer.json()
        return result


def accepted_result(server: Server, team: Team, job_id: str) -> dict[str, Any]:
    """Accept the job through the worker API, as a program reviewer would; its result."""
    base = f"/work/v1/projects/{team.project_id}"
    with httpx.Client(
        base_url=server.base_url, headers={"authorization": f"Bearer {team.reviewer['token']}"}
    ) as reviewer:
        claimed = reviewer.post(f"{base}/claim", json={"step": "review"})
        assert claimed.status_code == 200 and claimed.json()["data"]["job_id"] == job_id
        accepted = reviewer.post(f"{base}/jobs/{job_id}/review", json={"decision": "accept"})
        assert accepted.status_code == 200, accepted.text
    return result_of(server, team, job_id)


def drag(page: Any, start: tuple[float, float], end: tuple[float, float]) -> None:
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move((start[0] + end[0]) / 2, (start[1] + end[1]) / 2, steps=4)
    page.mouse.move(*end, steps=4)
    page.mouse.up()


def image_box(page: Any) -> dict[str, float]:
    box: dict[str, float] = page.locator(".view img.frame-image").first.bounding_box()
    return box


def at(box: dict[str, float], x: float, y: float) -> tuple[float, float]:
    """The screen position of image pixel (x, y)."""
    return box["x"] + x * box["width"] / WIDTH, box["y"] + y * box["height"] / HEIGHT


def test_annotate_then_accept_gives_the_drawn_rectangle(
    server: Server, new_page: Any, images: str
) -> None:
    team = make_team(server)
    [job_id] = create_jobs(
        server,
        team,
        [{"reference_id": "img-1", "data": {"image_url": f"{images}/{WIDTH}x{HEIGHT}/a.png"}}],
    )
    page = new_page()
    sign_in(page, server, team.annotator)
    screenshot(page, "queue")
    start(page, team.project_id, "annotate")

    page.keyboard.press("r")
    box = image_box(page)
    drag(page, at(box, 100, 80), at(box, 300, 240))
    page.locator("#object-panel select[name=label]").select_option("car")
    page.locator("#object-panel [data-attribute=color]").select_option("blue")
    page.locator("#status", has_text="Draft saved").wait_for()
    screenshot(page, "annotate")
    page.locator("#submit").click()
    page.wait_for_url("**/ui/queue?empty=annotate")

    reviewer = new_page()
    sign_in(reviewer, server, team.reviewer)
    start(reviewer, team.project_id, "review")
    assert reviewer.locator(".overlay rect.shape").count() == 1
    screenshot(reviewer, "review")
    reviewer.locator("#accept").click()
    reviewer.wait_for_url("**/ui/queue?empty=review")

    annotations = result_of(server, team, job_id)["data"]["annotations"]
    owner = new_page()
    sign_in_owner(owner, server, team.api_key)
    screenshot(owner, "projects")
    owner.locator(f"a[href='/ui/projects/{team.project_id}']").first.click()
    owner.locator("svg rect").first.wait_for()
    screenshot(owner, "project")
    with httpx.Client(base_url=server.base_url, headers={"x-api-key": team.api_key}) as api:
        page_of_jobs = api.get(f"/v1/projects/{team.project_id}/batch/{team.batch_id}").json()
    owner.goto(page_of_jobs["data"]["jobs"][0]["viewer_url"])
    owner.locator(".view.loaded").wait_for()
    assert owner.locator(".overlay rect.shape").count() == 1  # the result, drawn
    screenshot(owner, "job-viewer")

    [rectangle] = annotations["rectangles"]
    assert rectangle["label"] == "car"
    assert rectangle["attributes"] == {"color": {"value": "blue"}}
    tl, tr, br, bl = rectangle["coordinates"]
    assert tl["x"] * WIDTH == pytest.approx(100, abs=1)
    assert tl["y"] * HEIGHT == pytest.approx(80, abs=1)
    assert br["x"] * WIDTH == pytest.approx(300, abs=1)
    assert br["y"] * HEIGHT == pytest.approx(240, abs=1)
    assert (tr["x"], tr["y"], bl["x"], bl["y"]) == (br["x"], tl["y"], tl["x"], br["y"])


def test_a_rejection_comment_reaches_the_annotator_on_the_next_claim(
    server: Server, new_page: Any, images: str
) -> None:
    team = make_team(server)
    create_jobs(
        server,
        team,
        [{"reference_id": "img-r", "data": {"image_url": f"{images}/{WIDTH}x{HEIGHT}/r.png"}}],
    )
    annotator = new_page()
    sign_in(annotator, server, team.annotator)
    start(annotator, team.project_id, "annotate")
    annotator.keyboard.press("k")
    box = image_box(annotator)
    annotator.mouse.click(*at(box, 320, 200))
    annotator.locator("#object-panel select[name=label]").select_option("person")
    annotator.keyboard.press("Control+Enter")
    annotator.wait_for_url("**/ui/queue?empty=annotate")

    reviewer = new_page()
    sign_in(reviewer, server, team.reviewer)
    start(reviewer, team.project_id, "review")
    reviewer.locator("#reject").click()
    reviewer.locator("#status.error").wait_for()  # a rejection needs a comment: nothing was sent
    reviewer.locator("#reject-comment").fill("The landmark is on the wrong person.")
    reviewer.locator("#reject").click()
    reviewer.wait_for_url("**/ui/queue?empty=review")

    annotator.goto(f"{server.base_url}/ui/queue")
    start(annotator, team.project_id, "annotate")
    comment = annotator.locator("#comment")
    assert comment.is_visible()
    assert "The landmark is on the wrong person." in comment.inner_text()
    assert annotator.locator(".overlay [data-shape=landmark]").count() == 1  # the earlier work


def test_a_video_box_copied_to_the_next_frame_is_one_tracker(
    server: Server, new_page: Any, images: str
) -> None:
    team = make_team(server, "VIDEO")
    frames = [
        {"frame_id": str(i), "src": f"{images}/{WIDTH}x{HEIGHT}/v{i}.png"} for i in range(1, 4)
    ]
    [job_id] = create_jobs(
        server, team, [{"reference_id": "vid-1", "data": {"video_data": {"frames": frames}}}]
    )
    page = new_page()
    sign_in(page, server, team.annotator)
    start(page, team.project_id, "annotate")
    page.locator("[data-tool=rectangle]").click()
    box = image_box(page)
    drag(page, at(box, 50, 60), at(box, 150, 160))
    page.locator("#object-panel [data-attribute=color]").select_option("red")
    page.locator("#copy-next").click()
    assert page.locator("#frame-strip [aria-current=true]").inner_text() == "2"
    page.locator(".view.loaded").wait_for()
    box = image_box(page)
    page.keyboard.press("v")
    drag(page, at(box, 100, 110), at(box, 140, 130))  # grab the box's middle, move it by (40, 20)
    page.locator("#status", has_text="Draft saved").wait_for()
    screenshot(page, "video")
    page.locator("#submit").click()
    page.wait_for_url("**/ui/queue?empty=annotate")

    result = accepted_result(server, team, job_id)
    [tracker] = result["data"]["annotation_data"]["annotations"]
    assert tracker["type"] == "rectangle" and tracker["label"] == "car"
    assert set(tracker["frames"]) == {"1", "2"}
    first, second = tracker["frames"]["1"]["coordinates"], tracker["frames"]["2"]["coordinates"]
    assert first[0]["x"] * WIDTH == pytest.approx(50, abs=1)
    assert first[0]["y"] * HEIGHT == pytest.approx(60, abs=1)
    assert second[0]["x"] * WIDTH == pytest.approx(90, abs=1)
    assert second[0]["y"] * HEIGHT == pytest.approx(80, abs=1)
    assert second[2]["x"] * WIDTH == pytest.approx(190, abs=1)


def test_forms_without_the_csrf_token_are_refused(server: Server, new_page: Any) -> None:
    team = make_team(server)
    with httpx.Client(base_url=server.base_url) as browser:
        page = browser.get("/ui/login")
        assert page.status_code == 200
        form = {"method": "password", "username": team.annotator["username"]}
        form["secret"] = team.annotator["password"]
        refused = browser.post("/ui/login", data=form)
        assert refused.status_code == 403
        assert "CSRF" in refused.text
        assert "labelyard_session" not in refused.headers.get("set-cookie", "")

    page = new_page()
    sign_in(page, server, team.annotator)
    # A form posted from elsewhere carries the session cookie but not the token.
    answer = page.request.post(
        f"{server.base_url}/ui/queue/start",
        form={"project_id": team.project_id, "step": "annotate"},
        max_redirects=0,
    )
    assert answer.status == 403
    answer = page.request.post(
        f"{server.base_url}/ui/api/work/{team.project_id}/claim", data={"step": "annotate"}
    )
    assert answer.status == 403
    assert answer.json()["error"]["code"] == "unauthorized"


def test_a_worker_cannot_open_a_job_of_another_account(
    server: Server, new_page: Any, images: str
) -> None:
    ours, theirs = make_team(server), make_team(server)
    [their_job] = create_jobs(
        server,
        theirs,
        [{"reference_id": "x", "data": {"image_url": f"{images}/{WIDTH}x{HEIGHT}/x.png"}}],
    )
    page = new_page()
    sign_in(page, server, theirs.annotator)
    start(page, theirs.project_id, "annotate")  # their annotator holds the job

    intruder = new_page()
    sign_in(intruder, server, ours.annotator)
    assert theirs.project_id not in intruder.content()  # not on our queue
    answer = intruder.goto(f"{server.base_url}/ui/work/{theirs.project_id}/{their_job}")
    assert answer.status == 403
    assert intruder.locator("#editor").count() == 0
    answer = intruder.request.post(
        f"{server.base_url}/ui/api/work/{theirs.project_id}/jobs/{their_job}/draft",
        headers={
            "x-csrf-token": intruder.locator("meta[name=csrf-token]").get_attribute("content")
        },
        data={"annotations": {"rectangles": []}},
    )
    assert answer.status == 403

    # A job of our own account that another worker holds: refused too (409, not ours).
    [our_job] = create_jobs(
        server,
        ours,
        [{"reference_id": "y", "data": {"image_url": f"{images}/{WIDTH}x{HEIGHT}/y.png"}}],
    )
    other = new_page()
    sign_in(other, server, ours.reviewer)
    assert other.goto(f"{server.base_url}/ui/work/{ours.project_id}/{our_job}").status == 409


def test_the_next_job_opens_in_place_with_its_prelabels(
    server: Server, new_page: Any, images: str
) -> None:
    team = make_team(server)
    prelabel = {
        "_id": "pre-1",
        "label": "person",
        "attributes": {},
        "coordinates": [
            {"x": 0.1, "y": 0.1},
            {"x": 0.3, "y": 0.1},
            {"x": 0.3, "y": 0.4},
            {"x": 0.1, "y": 0.4},
        ],
    }
    first, second = create_jobs(
        server,
        team,
        [
            {"reference_id": "n-1", "data": {"image_url": f"{images}/{WIDTH}x{HEIGHT}/n1.png"}},
            {
                "reference_id": "n-2",
                "data": {
                    "image_url": f"{images}/{WIDTH}x{HEIGHT}/n2.png",
                    "maker_response": {"rectangles": [prelabel]},
                },
            },
        ],
    )
    page = new_page()
    sign_in(page, server, team.annotator)
    start(page, team.project_id, "annotate")
    assert page.url.endswith(first)
    page.keyboard.press("l")
    box = image_box(page)
    for x, y in ((100, 100), (200, 150)):
        page.mouse.click(*at(box, x, y))
    page.keyboard.press("Enter")
    page.locator("#object-panel select[name=label]").select_option("person")
    page.locator("#submit").click()
    page.wait_for_url(f"**/ui/work/{team.project_id}/{second}")
    page.locator(".view.loaded").wait_for()
    # The pre-label is the starting draft; undo history starts empty for the new job.
    assert page.locator(".overlay rect.shape").count() == 1
    assert page.locator("#undo").is_disabled()
    assert page.locator("#reference").inner_text() == "n-2"
    page.locator("#submit").click()
    page.wait_for_url("**/ui/queue?empty=annotate")

    with httpx.Client(base_url=server.base_url, headers={"x-api-key": team.api_key}) as api:
        history = api.get(f"/v1/projects/{team.project_id}/jobs/{second}/history").json()["data"]
    assert [t["action"] for t in history["transitions"]][-2:] == ["claim", "submit"]


def test_sensor_fusion_cameras_side_by_side_annotated_in_2d(
    server: Server, new_page: Any, images: str
) -> None:
    team = make_team(server, "SENSOR_FUSION")
    cameras = ["front", "rear"]
    meta = [{"id": "lidar", "name": "Lidar", "modality": "lidar"}] + [
        {"id": c, "name": f"{c} camera", "modality": "camera"} for c in cameras
    ]
    frames = [
        {
            "frame_id": f"f{i}",
            "sensors": [{"sensor_id": "lidar", "data_url": f"{images}/1x1/l{i}.png"}]
            + [
                {"sensor_id": c, "data_url": f"{images}/{WIDTH}x{HEIGHT}/{c}{i}.png"}
                for c in cameras
            ],
        }
        for i in range(2)
    ]
    [job_id] = create_jobs(
        server,
        team,
        [
            {
                "reference_id": "sf-1",
                "data": {"sensor_data": {"frames": frames, "sensor_meta": meta}},
            }
        ],
    )
    page = new_page()
    sign_in(page, server, team.annotator)
    # A job with a lidar opens in the 3D editor; its cameras can be annotated in 2D instead.
    page.locator(f"tr[data-project='{team.project_id}'][data-step='annotate'] button").click()
    page.wait_for_url("**/ui/work/**")
    page.locator("#workspace3d").wait_for()
    page.locator(".canvas .notice a", has_text="Cameras in 2D").click()
    page.wait_for_url("**?view=2d")
    page.locator(".view.loaded").first.wait_for()
    assert page.locator(".view").count() == 2
    assert "3D editor" in page.locator(".canvas .notice").first.inner_text()
    rear = page.locator(".view[data-sensor=rear]")
    rear.locator(".frame-image").wait_for()
    page.locator(".view[data-sensor=rear].loaded").wait_for()
    page.keyboard.press("r")
    box = rear.locator("img.frame-image").bounding_box()
    drag(page, at(box, 200, 100), at(box, 400, 300))
    page.locator("#object-panel [data-attribute=color]").select_option("red")
    page.locator("#status", has_text="Draft saved").wait_for()
    screenshot(page, "sensor-fusion")
    page.locator("#submit").click()
    page.wait_for_url("**/ui/queue?empty=annotate")

    result = accepted_result(server, team, job_id)
    [tracker] = result["data"]["annotation_data"]["annotations"]
    assert set(tracker["frames"]) == {"f0"}
    geometry = tracker["frames"]["f0"]
    assert geometry["sensor_id"] == "rear"
    assert geometry["coordinates"][0]["x"] * WIDTH == pytest.approx(200, abs=1)
    assert geometry["coordinates"][2]["y"] * HEIGHT == pytest.approx(300, abs=1)


def test_a_reviewer_corrects_then_accepts(server: Server, new_page: Any, images: str) -> None:
    team = make_team(server)
    [job_id] = create_jobs(
        server,
        team,
        [{"reference_id": "c-1", "data": {"image_url": f"{images}/{WIDTH}x{HEIGHT}/c.png"}}],
    )
    box_drawn = {
        "_id": "r1",
        "label": "car",
        "attributes": {"color": {"value": "red"}},
        "coordinates": [
            {"x": 0.25, "y": 0.25},
            {"x": 0.5, "y": 0.25},
            {"x": 0.5, "y": 0.5},
            {"x": 0.25, "y": 0.5},
        ],
    }
    with httpx.Client(
        base_url=server.base_url,
        headers={"authorization": f"Bearer {team.annotator['token']}"},
    ) as annotator:
        annotator.post(f"/work/v1/projects/{team.project_id}/claim", json={}).raise_for_status()
        annotator.post(
            f"/work/v1/projects/{team.project_id}/jobs/{job_id}/submit",
            json={"annotations": {"rectangles": [box_drawn]}},
        ).raise_for_status()

    page = new_page()
    sign_in(page, server, team.reviewer)
    start(page, team.project_id, "review")
    box = image_box(page)
    page.mouse.click(*at(box, 200, 150))  # select the rectangle
    assert page.locator(".overlay rect.shape.selected").count() == 1
    corner = at(box, 320, 240)  # its bottom-right handle
    drag(page, corner, at(box, 400, 300))
    page.keyboard.press("Control+z")
    assert page.locator("#redo").is_enabled()
    page.keyboard.press("Control+Shift+z")
    page.locator("#object-panel [data-attribute=color]").select_option("blue")
    page.locator("#accept").click()
    page.wait_for_url("**/ui/queue?empty=review")

    [rectangle] = result_of(server, team, job_id)["data"]["annotations"]["rectangles"]
    assert rectangle["attributes"]["color"] == {"value": "blue"}
    tl, _, br, _ = rectangle["coordinates"]
    assert (tl["x"], tl["y"]) == (0.25, 0.25)
    assert br["x"] * WIDTH == pytest.approx(400, abs=1)
    assert br["y"] * HEIGHT == pytest.approx(300, abs=1)


def test_pre_labels_come_back_as_they_were_sent(server: Server, new_page: Any, images: str) -> None:
    """Point names, polygon edges and frame-level fields of pre-labels survive the editor."""
    team = make_team(server, "VIDEO")
    frames = [{"frame_id": str(i), "src": f"{images}/{WIDTH}x{HEIGHT}/p{i}.png"} for i in (1, 2)]
    polygon = {
        "points": {
            "p0": {"x": 0.1, "y": 0.1},
            "p1": {"x": 0.3, "y": 0.1},
            "p2": {"x": 0.2, "y": 0.3},
        },
        "edges": {"e1": ["p0", "p1"], "e2": ["p1", "p2"]},
        "occluded": True,
    }
    tracker = {
        "_id": "t1",
        "type": "polygon",
        "label": "car",
        "attributes": {"color": {"value": "red"}},
        "frames": {"1": polygon},
    }
    [job_id] = create_jobs(
        server,
        team,
        [
            {
                "reference_id": "pre-1",
                "data": {"video_data": {"frames": frames}, "maker_response": [tracker]},
            }
        ],
    )
    page = new_page()
    sign_in(page, server, team.annotator)
    start(page, team.project_id, "annotate")
    assert page.locator(".overlay polygon.shape").count() == 1
    page.locator("#submit").click()
    page.wait_for_url("**/ui/queue?empty=annotate")
    result = accepted_result(server, team, job_id)
    assert result["data"]["annotation_data"]["annotations"] == [tracker]
