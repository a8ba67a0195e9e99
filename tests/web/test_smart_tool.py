"""The smart tool end to end: a box on a held job's image, sent by labelyard (through its
outbound client) to the project's assist service, answered as a polygon."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from tests.assist_scene import assist_service, iou, scene, serving
from tests.conftest import Server
from tests.web.conftest import SCHEMA, Team, create_jobs, make_team


@contextmanager
def holding(server: Server, team: Team) -> Iterator[tuple[httpx.Client, str, str]]:
    """The annotator signed in with the first job claimed: (cookies, CSRF token, job page)."""
    person = team.annotator
    with httpx.Client(base_url=server.base_url, timeout=60) as browser:
        csrf = re.search(r'name="csrf" value="([^"]+)"', browser.get("/ui/login").text)
        assert csrf is not None
        form = {"csrf": csrf[1], "method": "password", "username": person["username"]}
        assert (
            browser.post("/ui/login", data={**form, "secret": person["password"]}).status_code
            == 303
        )
        queue = browser.get("/ui/queue").text
        token = re.search(r'name="csrf-token" content="([^"]+)"', queue)
        assert token is not None
        started = browser.post(
            "/ui/queue/start",
            data={"csrf": token[1], "project_id": team.project_id, "step": "annotate"},
        )
        assert started.status_code == 303, started.text
        page = browser.get(started.headers["location"])
        assert page.status_code == 200
        yield browser, token[1], started.headers["location"].rsplit("/", 1)[1]


def set_assist(server: Server, team: Team, url: str | None) -> None:
    document = {**SCHEMA, "assist": {"url": url, "timeout_seconds": 20}} if url else SCHEMA
    with server.admin() as admin:
        answer = admin.put(f"/admin/v1/projects/{team.project_id}/schema", json=document)
        assert answer.status_code == 200, answer.text
        shown = admin.get(f"/admin/v1/projects/{team.project_id}/schema").json()["data"]
        assert shown["schema"].get("assist", {}).get("url") == url if url else True


def test_a_box_becomes_a_polygon_through_the_project_assist_service(server: Server) -> None:
    picture = scene(seed=11)
    team = make_team(server)
    with serving({"/object.png": picture.png}) as files, assist_service() as url:
        set_assist(server, team, url)
        image = f"{files}/object.png"
        create_jobs(server, team, [{"reference_id": "smart", "data": {"image_url": image}}])
        with holding(server, team) as (browser, csrf, job_id):
            route = f"/ui/api/work/{team.project_id}/jobs/{job_id}/assist"
            prompt = {"src": image, "box": list(picture.box)}
            answer = browser.post(route, json=prompt, headers={"x-csrf-token": csrf})
            assert answer.status_code == 200, answer.text
            assert iou(answer.json()["data"]["polygon"], picture.truth) >= 0.8
            # The editor learns that a service is set, never its address.
            page = browser.get(f"/ui/work/{team.project_id}/{job_id}").text
            assert url not in page and '"assist": true' in page.replace("&#34;", '"')
            # No CSRF token: refused; a URL that is not the job's: 404; a bad prompt: 400.
            assert browser.post(route, json=prompt).status_code == 403
            other = {**prompt, "src": "http://169.254.169.254/latest/meta-data"}
            assert (
                browser.post(route, json=other, headers={"x-csrf-token": csrf}).status_code == 404
            )
            bad = {**prompt, "box": [5, 5, 1, 1]}
            assert browser.post(route, json=bad, headers={"x-csrf-token": csrf}).status_code == 400
            # A job this worker does not hold.
            foreign = (
                f"/ui/api/work/{team.project_id}/jobs/00000000-0000-4000-8000-000000000000/assist"
            )
            assert (
                browser.post(foreign, json=prompt, headers={"x-csrf-token": csrf}).status_code
                == 404
            )


def test_a_missing_or_failing_assist_service_is_a_clear_error(server: Server) -> None:
    picture = scene(seed=12)
    team = make_team(server)
    with serving({"/object.png": picture.png}) as files:
        image = f"{files}/object.png"
        create_jobs(server, team, [{"reference_id": "smart", "data": {"image_url": image}}])
        with holding(server, team) as (browser, csrf, job_id):
            route = f"/ui/api/work/{team.project_id}/jobs/{job_id}/assist"
            prompt = {"src": image, "box": list(picture.box)}
            none = browser.post(route, json=prompt, headers={"x-csrf-token": csrf})
            assert none.status_code == 409 and "assist" in none.json()["error"]["message"]
            # A service that answers 404 (the image server has no /assist): 502, the reason.
            set_assist(server, team, f"{files}/assist")
            failed = browser.post(route, json=prompt, headers={"x-csrf-token": csrf})
            assert failed.status_code == 502 and "HTTP 501" in failed.json()["error"]["message"]
            # The cloud metadata address is never called, whatever the allow-list.
            set_assist(server, team, "http://169.254.169.254/assist")
            refused = browser.post(route, json=prompt, headers={"x-csrf-token": csrf})
            assert refused.status_code == 502 and "metadata" in refused.json()["error"]["message"]


def test_the_smart_tool_in_chromium_draws_the_object_polygon(server: Server, new_page: Any) -> None:
    from tests.web.conftest import screenshot, sign_in, start

    picture = scene(seed=5)
    height, width = picture.truth.shape
    team = make_team(server)
    with serving({"/object.png": picture.png}) as files, assist_service() as url:
        set_assist(server, team, url)
        image = f"{files}/object.png"
        create_jobs(server, team, [{"reference_id": "smart", "data": {"image_url": image}}])
        page = new_page()
        sign_in(page, server, team.annotator)
        start(page, team.project_id, "annotate")
        page.keyboard.press("s")
        assert page.locator("button[data-tool=smart]").get_attribute("aria-pressed") == "true"
        shown = page.locator(".view img.frame-image").first.bounding_box()

        def at(x: float, y: float) -> tuple[float, float]:
            return shown["x"] + x * shown["width"] / width, shown["y"] + y * shown[
                "height"
            ] / height

        x1, y1, x2, y2 = picture.box
        page.mouse.move(*at(x1, y1))
        page.mouse.down()
        page.mouse.move(*at((x1 + x2) / 2, (y1 + y2) / 2), steps=4)
        page.mouse.move(*at(x2, y2), steps=4)
        page.mouse.up()
        page.locator("#status", has_text="polygon added").wait_for()
        page.locator(".overlay polygon.shape").first.wait_for()
        page.locator("#object-panel [data-attribute=color]").select_option("red")
        page.locator("#status", has_text="Draft saved").wait_for()
        screenshot(page, "smart-tool")
        page.reload()
        job = page.evaluate("JSON.parse(document.getElementById('job').textContent)")
    [polygon] = job["draft"]["polygons"]
    assert polygon["label"] == "car"
    # The API's polygon: {"p1": {"x", "y"}, ...} in fractions of the image.
    points = [[p["x"] * width, p["y"] * height] for p in polygon["points"].values()]
    assert iou(points, picture.truth) >= 0.8
