"""The owner's analytics page: SVG charts, worker and batch tables, CSV downloads, ranges."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable

from tests.api.test_analytics import scripted_run
from tests.conftest import ProjectHandle, Server, WorkerHandle
from tests.web.test_owner_pages import SignIn, page, sign_in_as  # noqa: F401 (fixture)

NewProject = Callable[..., ProjectHandle]
NewWorker = Callable[..., WorkerHandle]


def test_analytics_page_shows_the_api_figures(
    project: ProjectHandle,
    new_worker: NewWorker,
    sign_in_as: SignIn,  # noqa: F811
) -> None:
    pid = project.project_id
    scripted_run(project, new_worker)
    report = project.api.get(f"/v1/projects/{pid}/analytics").json()["data"]
    owner = sign_in_as(project.api_key)
    assert f'href="/ui/projects/{pid}/analytics"' in page(owner, f"/ui/projects/{pid}")
    text = page(owner, f"/ui/projects/{pid}/analytics")
    assert text.count('<svg class="chart"') == 2
    bars = re.findall(r'<rect class="bar (\w+)"', text)
    assert set(bars) == {"submits", "accepts", "rejects"}
    for worker in report["workers"]:
        row = re.search(rf'<tr data-worker="{worker["worker_id"]}">(.*?)</tr>', text, re.S)
        assert row, worker
        for step in worker["jobs_by_step"]:
            assert (
                f'<span data-step="{step["step"]}">{step["step"]} {step["jobs"]}</span>' in row[1]
            )
        rate = worker["reject_rate"]
        assert f'data-reject-rate="{rate if rate is not None else ""}"' in row[1]
    for batch in report["batches"]:
        assert f'<tr data-batch="{batch["batch_id"]}">' in text
    download = owner.get(f"/ui/projects/{pid}/analytics/workers.csv")
    assert download.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(download.text)))
    assert [r["worker_id"] for r in rows] == [w["worker_id"] for w in report["workers"]]


def test_a_range_without_work_and_a_bad_range(
    project: ProjectHandle,
    sign_in_as: SignIn,  # noqa: F811
) -> None:
    owner = sign_in_as(project.api_key)
    url = f"/ui/projects/{project.project_id}/analytics"
    text = page(owner, f"{url}?since=2020-01-01&until=2020-01-31")
    assert "No work in these days." in text
    assert 'value="2020-01-01"' in text
    page(owner, f"{url}?since=2020-02-01&until=2020-01-31", status=400)


def test_another_owner_gets_403(
    server: Server,
    new_project: NewProject,
    sign_in_as: SignIn,  # noqa: F811
) -> None:
    mine, theirs = new_project(name="mine"), new_project(name="theirs")
    other = sign_in_as(theirs.api_key)
    page(other, f"/ui/projects/{mine.project_id}/analytics", status=403)
    assert other.get(f"/ui/projects/{mine.project_id}/analytics/workers.csv").status_code == 403


def test_workers_can_be_listed_by_reject_rate(
    project: ProjectHandle,
    new_worker: NewWorker,
    sign_in_as: SignIn,  # noqa: F811
) -> None:
    pid = project.project_id
    scripted_run(project, new_worker)
    owner = sign_in_as(project.api_key)
    text = page(owner, f"/ui/projects/{pid}/analytics?sort=reject_rate_desc")
    rates = [float(r) if r else 0.0 for r in re.findall(r'data-reject-rate="([\d.]*)"', text)]
    assert rates == sorted(rates, reverse=True)
    assert 'value="reject_rate_desc" selected' in text
