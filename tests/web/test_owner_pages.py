"""The owners' pages over plain HTTP: who may see which project, and what each page shows."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import ProjectHandle, Server, WorkerHandle

NewProject = Callable[..., ProjectHandle]
NewWorker = Callable[..., WorkerHandle]
SignIn = Callable[[str], httpx.Client]

ANNOTATIONS = {
    "rectangles": [
        {
            "_id": "r1",
            "label": "car",
            "attributes": {},
            "coordinates": [
                {"x": 0.1, "y": 0.1},
                {"x": 0.4, "y": 0.1},
                {"x": 0.4, "y": 0.3},
                {"x": 0.1, "y": 0.3},
            ],
        }
    ],
    "polygons": [],
    "lines": [],
    "landmarks": [],
    "cuboids": [],
}


def csrf_of(page: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', page)
    assert match, page
    return match[1]


def signed_in(server: Server, secret: str) -> httpx.Client:
    """A cookie-keeping client signed in on the sign-in page with an API key or admin token."""
    client = httpx.Client(base_url=server.base_url, follow_redirects=False, timeout=60)
    csrf = csrf_of(client.get("/ui/login").text)
    answer = client.post("/ui/login", data={"csrf": csrf, "method": "key", "secret": secret})
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/ui/projects"
    return client


@pytest.fixture
def sign_in_as(server: Server) -> Iterator[SignIn]:
    """A factory of signed-in clients; they close afterwards."""
    made: list[httpx.Client] = []

    def factory(secret: str) -> httpx.Client:
        made.append(signed_in(server, secret))
        return made[-1]

    yield factory
    for client in made:
        client.close()


def page(client: httpx.Client, url: str, status: int = 200) -> str:
    """An HTML page, checked for the content security policy's rules."""
    answer = client.get(url)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("text/html")
    text = answer.text
    assert 'style="' not in text  # CSP: style-src 'self'
    assert re.findall(r"<script(?![^>]*\b(?:src=|type=\"application/json\"))", text) == []
    return text


def create(project: ProjectHandle, *references: str) -> list[str]:
    ids = []
    for reference in references:
        answer = project.api.post(
            f"/v1/projects/{project.project_id}/jobs", json=project.job(reference)
        )
        assert answer.status_code == 200, answer.text
        ids.append(answer.json()["data"]["job_id"])
    return ids


def claim(worker: WorkerHandle, project: ProjectHandle, step: str = "annotate") -> dict[str, Any]:
    answer = worker.api.post(f"/work/v1/projects/{project.project_id}/claim", json={"step": step})
    assert answer.status_code == 200, answer.text
    job: dict[str, Any] = answer.json()["data"]
    return job


def legend(text: str, batch_id: str) -> dict[str, int]:
    """The counts in a batch's progress legend on the project page."""
    row = re.search(rf'<tr data-batch="{batch_id}">(.*?)</tr>', text, re.S)
    assert row, text
    found = re.findall(r'data-status="(\w+)" data-count="(\d+)"', row[1])
    return {status: int(count) for status, count in found}


def viewer_job(text: str) -> dict[str, Any]:
    match = re.search(r'<script type="application/json" id="job">(.*?)</script>', text, re.S)
    assert match, text
    data: dict[str, Any] = json.loads(match[1])
    return data


def test_not_signed_in_is_sent_to_sign_in(server: Server, project: ProjectHandle) -> None:
    with httpx.Client(base_url=server.base_url, follow_redirects=False) as anonymous:
        for url in ("/ui/projects", f"/ui/projects/{project.project_id}"):
            answer = anonymous.get(url)
            assert answer.status_code == 303
            assert answer.headers["location"] == "/ui/login"


def test_owner_sees_own_projects_with_totals(
    server: Server, new_project: NewProject, sign_in_as: SignIn
) -> None:
    mine, theirs = new_project(name="mine"), new_project(name="theirs")
    create(mine, "a", "b")
    text = page(sign_in_as(mine.api_key), "/ui/projects")
    row = re.search(rf'<tr data-project="{mine.project_id}">(.*?)</tr>', text, re.S)
    assert row and f'href="/ui/projects/{mine.project_id}"' in row[1]
    assert "IMAGE" in row[1]
    assert re.findall(r'<td class="num">(\d+)</td>', row[1]) == ["1", "2", "0", "0"]
    assert theirs.project_id not in text
    assert mine.account_id not in text  # the account column is the admin's


def test_project_page_progress_counts_jobs_by_status(
    new_project: NewProject, new_worker: NewWorker, sign_in_as: SignIn
) -> None:
    project = new_project()
    create(project, "a", "b", "c")
    owner = sign_in_as(project.api_key)
    url = f"/ui/projects/{project.project_id}"
    assert legend(page(owner, url), project.default_batch_id) == {
        "completed": 0,
        "in_progress": 0,
        "created": 3,
    }
    claim(new_worker(project.account_id), project)
    text = page(owner, url)
    assert legend(text, project.default_batch_id) == {
        "completed": 0,
        "in_progress": 1,
        "created": 2,
    }
    assert 'class="part in_progress" x="0.0%" width="33.333%"' in text
    assert f'href="/ui/projects/{project.project_id}/batches/{project.default_batch_id}"' in text


def test_batch_page_lists_100_jobs_a_page_with_a_status_filter(
    new_project: NewProject, new_worker: NewWorker, sign_in_as: SignIn
) -> None:
    project = new_project()
    jobs = [project.job(f"j{i:03}") for i in range(101)]
    answer = project.api.post(f"/v1/projects/{project.project_id}/jobs/bulk", json={"jobs": jobs})
    assert answer.status_code == 200, answer.text
    held = claim(new_worker(project.account_id), project)
    owner = sign_in_as(project.api_key)
    url = f"/ui/projects/{project.project_id}/batches/{project.default_batch_id}"

    first = page(owner, url)
    rows = re.findall(r'<tr data-job="([0-9a-f-]+)">', first)
    assert len(rows) == 100
    assert f'href="/ui/projects/{project.project_id}/jobs/{rows[0]}"' in first
    next_link = re.search(r'href="(\?[^"]+)" class="next"', first)
    assert next_link
    second = page(owner, url + html.unescape(next_link[1]))
    assert len(re.findall(r'<tr data-job="', second)) == 1
    assert 'class="next"' not in second

    filtered = page(owner, url + "?status=in_progress")
    assert re.findall(r'<tr data-job="([0-9a-f-]+)">', filtered) == [held["job_id"]]
    page(owner, url + "?status=done", 400)


def test_job_viewer_shows_fields_draft_and_history(
    new_project: NewProject, new_worker: NewWorker, sign_in_as: SignIn
) -> None:
    project = new_project()
    [job_id] = create(project, "img-1")
    worker = new_worker(project.account_id)
    claim(worker, project)
    url = f"/ui/projects/{project.project_id}/jobs/{job_id}"
    draft = worker.api.post(
        f"/work/v1/projects/{project.project_id}/jobs/{job_id}/draft",
        json={"annotations": ANNOTATIONS},
    )
    assert draft.status_code == 200, draft.text

    text = page(sign_in_as(project.api_key), url)
    assert '<dd id="reference">img-1</dd>' in text
    assert '<dd id="job-step">annotate</dd>' in text
    assert "in_progress" in text and "Default batch" in text
    assert re.findall(r'<tr data-action="(\w+)">', text) == ["claim"]
    assert "w-both" in text  # the worker's name
    assert '<div id="editor" class="editor readonly"></div>' in text
    assert '<script type="module" src="/ui/static/viewer.js' in text
    shown = viewer_job(text)
    assert shown["job_id"] == job_id and shown["project_id"] == project.project_id
    assert shown["base"] == "IMAGE" and shown["step"] == "view" and shown["comment"] is None
    assert shown["data"]["image_url"].endswith("/img-1.jpg")
    assert shown["draft"] == ANNOTATIONS
    assert shown["schema"]["classes"] == []


def test_job_viewer_of_a_completed_job_draws_its_result(
    new_project: NewProject, new_worker: NewWorker, sign_in_as: SignIn
) -> None:
    project = new_project()
    [job_id] = create(project, "done-1")
    worker = new_worker(project.account_id)
    base = f"/work/v1/projects/{project.project_id}/jobs/{job_id}"
    claim(worker, project)
    assert worker.api.post(f"{base}/submit", json={"annotations": ANNOTATIONS}).status_code == 200
    claim(worker, project, "review")
    accepted = worker.api.post(f"{base}/review", json={"decision": "accept", "comment": "fine"})
    assert accepted.status_code == 200, accepted.text

    text = page(sign_in_as(project.api_key), f"/ui/projects/{project.project_id}/jobs/{job_id}")
    assert viewer_job(text)["draft"] == ANNOTATIONS
    assert re.findall(r'<tr data-action="(\w+)">', text) == ["claim", "submit", "claim", "accept"]
    assert '<dd id="job-step">—</dd>' in text and ">fine<" in text


def test_untouched_job_shows_its_prelabels(new_project: NewProject, sign_in_as: SignIn) -> None:
    project = new_project()
    body = project.job("pre-1")
    body["data"]["maker_response"] = {"rectangles": ANNOTATIONS["rectangles"]}
    answer = project.api.post(f"/v1/projects/{project.project_id}/jobs", json=body)
    assert answer.status_code == 200, answer.text
    job_id = answer.json()["data"]["job_id"]
    text = page(sign_in_as(project.api_key), f"/ui/projects/{project.project_id}/jobs/{job_id}")
    assert viewer_job(text)["draft"] == ANNOTATIONS
    assert "waits for its first claim" in text


def test_another_accounts_project_is_403_and_a_foreign_job_404(
    new_project: NewProject, sign_in_as: SignIn
) -> None:
    mine, theirs = new_project(), new_project()
    [their_job] = create(theirs, "secret")
    owner = sign_in_as(mine.api_key)
    their_project = f"/ui/projects/{theirs.project_id}"
    for url in (
        their_project,
        f"{their_project}/batches/{theirs.default_batch_id}",
        f"{their_project}/jobs/{their_job}",
    ):
        assert "secret" not in page(owner, url, 403)
    page(owner, f"/ui/projects/{mine.project_id}/jobs/{their_job}", 404)
    page(owner, f"/ui/projects/{mine.project_id}/batches/{theirs.default_batch_id}", 404)


def test_admin_sees_every_accounts_projects(
    server: Server, new_project: NewProject, sign_in_as: SignIn
) -> None:
    one, two = new_project(name="one"), new_project(name="two")
    [job_id] = create(two, "x")
    admin = sign_in_as(server.settings.admin_token)
    text = page(admin, "/ui/projects")
    for project in (one, two):
        assert f'<tr data-project="{project.project_id}">' in text
        assert project.account_id in text
    page(admin, f"/ui/projects/{two.project_id}/jobs/{job_id}")


def test_viewer_url_of_a_batch_listing_is_the_job_page(
    server: Server, project: ProjectHandle, sign_in_as: SignIn
) -> None:
    [job_id] = create(project, "v-1")
    listing = project.api.get(f"/v1/projects/{project.project_id}/batch/{project.default_batch_id}")
    [job] = listing.json()["data"]["jobs"]
    expected = f"{server.base_url}/ui/projects/{project.project_id}/jobs/{job_id}"
    assert job["viewer_url"] == expected
    assert "v-1" in page(sign_in_as(project.api_key), job["viewer_url"])
