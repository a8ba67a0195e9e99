"""``GET /v1/projects/{pid}/batch/{bid}/results`` (labelyard extension, docs/api.md): a batch
page as get-batch-jobs lists it, each completed job with the bytes of its result file inline,
answered as itself (annotation bodies never go inside the envelope's ``data``); the project's
key only, keyset paging with get-batch-jobs' tokens, pages bounded in bytes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from labelyard.services import batch_results
from tests.api.test_lifecycle import act, claim, data_of, error_of
from tests.client.conftest import BOX
from tests.conftest import ProjectHandle, Server, make_project, make_worker


@pytest.fixture(scope="module")
def project(server: Server) -> Iterator[tuple[ProjectHandle, set[str]]]:
    """An IMAGE project of 9 jobs in the default batch, 4 of them completed (their ids)."""
    p = make_project(server, "IMAGE", name="results pages")
    bodies = [p.job(f"r-{i}") for i in range(9)]
    data_of(p.api.post(f"/v1/projects/{p.project_id}/jobs/bulk", json={"jobs": bodies}))
    worker = make_worker(server, p.account_id)
    done = set()
    for _ in range(4):
        job_id = claim(worker, p.project_id)["job_id"]
        submitted = data_of(
            act(worker, p.project_id, job_id, "submit", {"annotations": {"rectangles": [BOX]}})
        )
        if submitted["status"] != "completed":
            claim(worker, p.project_id, "review")
            data_of(act(worker, p.project_id, job_id, "review", {"decision": "accept"}))
        done.add(job_id)
    worker.api.close()
    yield p, done
    p.api.close()


def page_of(reply: httpx.Response) -> Any:
    """A get-batch-jobs page (in the envelope) or a results page (itself)."""
    assert reply.status_code == 200, reply.text
    body = reply.json()
    if reply.url.path.endswith("/results"):
        assert "success" not in body and "data" not in body
        return body
    return data_of(reply)


def _pages(p: ProjectHandle, path: str, limit: int) -> tuple[list[dict[str, Any]], list[bytes]]:
    """Every job of a traversal of ``path`` and each page's raw body."""
    jobs: list[dict[str, Any]] = []
    bodies: list[bytes] = []
    token = ""
    while True:
        reply = p.api.get(path, params={"limit": str(limit), "page_token": token})
        page = page_of(reply)
        bodies.append(reply.content)
        jobs += page["jobs"]
        token = page["next_page_token"]
        if not token:
            return jobs, bodies


def test_a_page_is_get_batch_jobs_with_each_result_file_inline(
    project: tuple[ProjectHandle, set[str]],
) -> None:
    p, done = project
    base = f"/v1/projects/{p.project_id}/batch/{p.default_batch_id}"
    listed, _ = _pages(p, base, 4)
    with_results, bodies = _pages(p, f"{base}/results", 4)
    assert len(bodies) == 3  # 9 jobs, 4 a page
    assert [{k: v for k, v in j.items() if k != "result"} for j in with_results] == listed
    assert {j["id"] for j in with_results if j["result"] is not None} == done
    for job in with_results:
        if job["id"] not in done:
            assert job["result"] is None
            continue
        file = p.api.get(f"/v1/projects/{p.project_id}/jobs/{job['id']}/result")
        assert file.status_code == 200
        assert job["result"] == file.json()
        assert any(file.content in body for body in bodies)  # the file's bytes, as they are


def test_tokens_are_get_batch_jobs_tokens_and_bound_to_their_batch(
    server: Server, project: tuple[ProjectHandle, set[str]]
) -> None:
    p, _ = project
    base = f"/v1/projects/{p.project_id}/batch/{p.default_batch_id}"
    first = page_of(p.api.get(f"{base}/results", params={"limit": "2"}))
    # A pull resumed from an older checkpoint goes on with the other listing's token.
    after = data_of(p.api.get(base, params={"limit": "2", "page_token": first["next_page_token"]}))
    plain = data_of(p.api.get(base, params={"limit": "2"}))
    back = page_of(
        p.api.get(f"{base}/results", params={"limit": "2", "page_token": plain["next_page_token"]})
    )
    assert [j["id"] for j in after["jobs"]] == [j["id"] for j in back["jobs"]]
    assert len(after["jobs"]) == 2

    other = data_of(p.api.post(f"/v1/projects/{p.project_id}/batch", json={"name": "other"}))
    foreign = f"/v1/projects/{p.project_id}/batch/{other['batch_id']}/results"
    for token in (first["next_page_token"], "nonsense", "A" * 80, first["next_page_token"] + "x"):
        error_of(p.api.get(foreign, params={"page_token": token}), 400, "invalid_request_error")
    filtered = data_of(p.api.get(base, params={"limit": "2", "status": "completed"}))
    error_of(
        p.api.get(f"{base}/results", params={"page_token": filtered["next_page_token"]}),
        400,
        "invalid_request_error",
    )
    for limit in ("0", "1001", "x"):
        error_of(p.api.get(f"{base}/results", params={"limit": limit}), 400, "GE_0001")


def test_only_the_projects_key_reads_it(
    server: Server, project: tuple[ProjectHandle, set[str]]
) -> None:
    p, _ = project
    path = f"/v1/projects/{p.project_id}/batch/{p.default_batch_id}/results"
    with server.client() as anonymous:
        error_of(anonymous.get(path), 401, "auth-failure")
    with server.client(**{"x-api-key": "not-a-key"}) as wrong:
        error_of(wrong.get(path), 401, "auth-failure")
    stranger = make_project(server, "IMAGE", name="another account")
    error_of(stranger.api.get(path), 403, "unauthorized")
    # The stranger's own batch id under the stranger's project: fine; ours under theirs: none.
    mine = f"/v1/projects/{stranger.project_id}/batch/{p.default_batch_id}/results"
    error_of(stranger.api.get(mine), 404, "resource_error")
    error_of(p.api.get(f"/v1/projects/{p.project_id}/batch/not-a-uuid/results"), 400, "GE_0001")
    assert page_of(
        stranger.api.get(
            f"/v1/projects/{stranger.project_id}/batch/{stranger.default_batch_id}/results"
        )
    ) == {
        "id": stranger.default_batch_id,
        "project_id": stranger.project_id,
        "name": data_of(
            stranger.api.get(
                f"/v1/projects/{stranger.project_id}/batch/{stranger.default_batch_id}"
            )
        )["name"],
        "jobs": [],
        "next_page_token": "",
    }
    stranger.api.close()


def test_a_page_stops_at_its_byte_bound_and_a_traversal_still_sees_every_job_once(
    project: tuple[ProjectHandle, set[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    p, done = project
    base = f"/v1/projects/{p.project_id}/batch/{p.default_batch_id}"
    listed, _ = _pages(p, base, 1000)
    monkeypatch.setattr(batch_results, "MAX_PAGE_BYTES", 1)  # one result a page, at most
    jobs, bodies = _pages(p, f"{base}/results", 1000)
    assert [j["id"] for j in jobs] == [j["id"] for j in listed]
    for body in bodies:
        assert body.count(b'"result":{') <= 1
    # A page is cut before each result but one that would open it: every completed job but
    # the batch's first job opens a page.
    cuts = sum(1 for i, job in enumerate(listed) if i > 0 and job["id"] in done)
    assert len(bodies) == 1 + cuts


def test_the_extension_is_listed_in_the_openapi_document(server: Server) -> None:
    with server.client() as anonymous:
        paths = anonymous.get("/openapi.json").json()["paths"]
    assert "get" in paths["/v1/projects/{project_id}/batch/{batch_id}/results"]
