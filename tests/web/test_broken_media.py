"""The editor never shows a blank canvas: media that does not load is named, with the reason
the server finds, and the job can be skipped with that reason."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import Server
from tests.web.conftest import create_jobs, make_team, screenshot, sign_in


def press_start(page: Any, project_id: str) -> None:
    page.locator(f"tr[data-project='{project_id}'][data-step='annotate'] button").click()
    page.wait_for_url("**/ui/work/**")


def test_a_dead_image_is_explained_and_skipped_with_the_reason(
    server: Server, new_page: Any, images: str
) -> None:
    team = make_team(server)
    dead = f"{images}/gone/street.png"  # the image server answers 404
    [job_id] = create_jobs(server, team, [{"reference_id": "dead", "data": {"image_url": dead}}])
    page = new_page()
    sign_in(page, server, team.annotator)
    press_start(page, team.project_id)
    problem = page.locator(".view-problem")
    problem.locator(".problem-skip").wait_for()
    assert "HTTP 404" in problem.inner_text()
    assert dead in problem.locator(".problem-url").inner_text()
    assert "HTTP 404" in page.locator("#status").inner_text()
    screenshot(page, "broken-media")
    reason = problem.locator(".problem-skip-reason")
    assert "HTTP 404" in reason.input_value()
    reason.fill("Media cannot be loaded: HTTP 404 (told the data team)")
    problem.locator(".problem-skip").click()
    page.wait_for_url("**/ui/queue**")  # nothing else to do
    with httpx.Client(base_url=server.base_url, headers={"x-api-key": team.api_key}) as api:
        history = api.get(f"/v1/projects/{team.project_id}/jobs/{job_id}/history").json()["data"]
    skips = [t for t in history["transitions"] if t["action"] == "skip"]
    assert skips and skips[-1]["comment"] == "Media cannot be loaded: HTTP 404 (told the data team)"


def test_an_unsigned_bucket_url_is_explained_without_loading_it(
    server: Server, new_page: Any
) -> None:
    team = make_team(server)
    url = "s3://nobody-serves-this/a.png"
    create_jobs(server, team, [{"reference_id": "s3", "data": {"image_url": url}}])
    page = new_page()
    sign_in(page, server, team.annotator)
    press_start(page, team.project_id)
    problem = page.locator(".view-problem")
    problem.locator(".problem-skip").wait_for()
    assert url in problem.inner_text()
    assert "no s3 storage connection" in problem.inner_text()


def test_the_problem_route_only_reads_the_held_jobs_own_media(
    server: Server, new_page: Any, images: str
) -> None:
    team = make_team(server)
    ok = f"{images}/64x48/fine.png"
    [job_id] = create_jobs(server, team, [{"reference_id": "fine", "data": {"image_url": ok}}])
    page = new_page()
    sign_in(page, server, team.annotator)
    press_start(page, team.project_id)
    page.locator(".view.loaded").wait_for()
    base = f"{server.base_url}/ui/api/work/{team.project_id}/jobs/{job_id}/media-problem"
    fine = page.request.get(base, params={"src": ok})
    assert fine.ok and "the server reads this file" in fine.json()["data"]["reason"]
    other = page.request.get(base, params={"src": "http://169.254.169.254/latest/meta-data"})
    assert other.status == 404
