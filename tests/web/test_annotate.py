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
from tests.web.conftest import Team, create_jobs, make_team, screenshot, sign_in, start

WIDTH, HEIGHT = 640, 480


def result_of(server: Server, team: Team, job_id: str) -> dict[str, Any]:
    with httpx.Client(base_url=server.base_url, headers={"x-api-key": team.api_key}) as api:
        job = api.get(f"/v1/projects/{team.project_id}/jobs/{job_id}").json()["data"]
        assert job["status"] == "completed", job
        answer = api.get(f"/v1/projects/{team.project_id}/jobs/{job_id}/result")
        assert answer.status_code == 200, answer.text
        result: dict[str, Any] = answer.json()
        return result


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
        server, team, [{"reference_id": "img-1", "data": {"image_url": f"{images}/{WIDTH}x{HEIGHT}/a.png"}}]
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
    [rectangle] = annotations["rectangles"]
    assert rectangle["label"] == "car"
    assert rectangle["attributes"] == {"color": {"value": "blue"}}
    tl, tr, br, bl = rectangle["coordinates"]
    assert tl["x"] * WIDTH == pytest.approx(100, abs=1)
    assert tl["y"] * HEIGHT == pytest.approx(80, abs=1)
    assert br["x"] * WIDTH == pytest.approx(300, abs=1)
    assert br["y"] * HEIGHT == pytest.approx(240, abs=1)
    assert (tr["x"], tr["y"], bl["x"], bl["y"]) == (br["x"], tl["y"], tl["x"], br["y"])
