"""API.md section 3 and 4, route by route and error code by error code, over real HTTP."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.conftest import ProjectHandle, Server

NewProject = Callable[..., ProjectHandle]

V1, V0, PSVC = "/v1/projects", "/v0/projects", "/projectsvc/projects"


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True
    return body["data"]


def fails(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False
    assert body["error"]["code"] == code, body
    message: str = body["error"]["message"]
    assert message
    return message


def stats(p: ProjectHandle) -> dict[str, Any]:
    data: dict[str, Any] = ok(p.api.get(f"{V1}/{p.project_id}/stats"))
    return data


# 3.1 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["/v1/projects", "/v1/project"])
def test_create_batch_on_both_paths(project: ProjectHandle, prefix: str) -> None:
    data = ok(
        project.api.post(
            f"{prefix}/{project.project_id}/batch",
            json={"name": f"b-{prefix}", "description": "d", "label": "l", "id": None},
        )
    )
    assert uuid.UUID(data["batch_id"])
    details = ok(project.api.get(f"{V1}/{project.project_id}/details"))
    batch = next(b for b in details["batches"] if b["id"] == data["batch_id"])
    assert batch["name"] == f"b-{prefix}" and batch["description"] == "d"
    assert batch["status"] == "Inactive" and batch["is_default"] is False


def test_create_batch_errors(project: ProjectHandle) -> None:
    url = f"{V1}/{project.project_id}/batch"
    ok(project.api.post(url, json={"name": "same"}))
    fails(project.api.post(url, json={"name": "same"}), 400, "BATCH_CREATION")
    fails(project.api.post(url, json={"description": "no name"}), 400, "GE_0002")
    fails(project.api.post(url, json={"name": 5}), 400, "GE_0001")
    fails(project.api.post(url, json={"name": "x" * 256}), 400, "GE_0001")
    fails(project.api.post(url, json=["name"]), 400, "GE_0001")
    fails(project.api.post(url, content=b"{nope"), 400, "GE_0001")
    names = [
        b["name"] for b in ok(project.api.get(f"{V1}/{project.project_id}/details"))["batches"]
    ]
    assert sorted(names) == ["Default batch", "same"]


# 3.2 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", [V1, V0, PSVC])
def test_create_job_on_every_path(project: ProjectHandle, prefix: str) -> None:
    body = project.job(f"job-{prefix}")
    body.update({"id": None, "label": "ignored", "project_id": project.project_id})
    data = ok(project.api.post(f"{prefix}/{project.project_id}/jobs", json=body))
    assert set(data) == {"job_id", "reference_id", "work_flow_id", "tag"}
    assert data["reference_id"] == f"job-{prefix}"
    assert data["work_flow_id"] == project.work_flow_id and data["tag"] == "default"
    job = ok(project.api.get(f"{V1}/{project.project_id}/jobs/{data['job_id']}"))
    assert job == {
        "project_id": project.project_id,
        "reference_id": f"job-{prefix}",
        "job_id": data["job_id"],
        "batch_id": project.default_batch_id,
        "status": "created",
        "work_flow_id": project.work_flow_id,
        "priority_weight": 5,
        "tag": "default",
        "result": "",
    }


def test_identical_replay_returns_the_same_job_and_counts_once(project: ProjectHandle) -> None:
    url = f"{V1}/{project.project_id}/jobs"
    first = ok(project.api.post(url, json=project.job("r1")))
    # Same payload spelled differently: tag instead of work_flow_id, explicit default batch.
    again = project.job("r1", batch_id=project.default_batch_id, priority_weight=5)
    del again["work_flow_id"]
    again["tag"] = "default"
    assert ok(project.api.post(url, json=again)) == first
    assert stats(project)["total_jobs"] == 1


def test_different_payload_same_reference_is_fs_0001(project: ProjectHandle) -> None:
    url = f"{V1}/{project.project_id}/jobs"
    ok(project.api.post(url, json=project.job("r1")))
    fails(project.api.post(url, json=project.job("r1", priority_weight=9)), 400, "FS_0001")
    other = project.job("r1", data={"image_url": "https://img.example/other.jpg"})
    fails(project.api.post(url, json=other), 400, "FS_0001")
    assert stats(project)["total_jobs"] == 1


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"reference_id": None}, "FS_0002"),
        ({"reference_id": ""}, "FS_0002"),
        ({"data": {"image_url": "ftp://nope/x.jpg"}}, "FS_0003"),
        ({"data": {"video_data": {"frames": []}}}, "FS_0003"),
        ({"data": {}}, "FS_0004"),
        ({"data": None}, "FS_0004"),
        ({"work_flow_id": None}, "FS_0005"),
        ({"work_flow_id": str(uuid.uuid4())}, "FS_0005"),
        ({"type": "GOLD"}, "FS_00011"),
        ({"priority_weight": 0}, "FS_00012"),
        ({"priority_weight": "high"}, "FS_00012"),
        ({"batch_id": "not-a-uuid"}, "GE_0001"),
        ({"batch_id": str(uuid.uuid4())}, "GE_0001"),
        ({"data": [1, 2]}, "GE_0001"),
        ({"reference_id": 7}, "GE_0001"),
    ],
)
def test_create_job_errors_store_nothing(
    project: ProjectHandle, change: dict[str, Any], code: str
) -> None:
    body = project.job("bad")
    body.update(change)
    fails(project.api.post(f"{V0}/{project.project_id}/jobs", json=body), 400, code)
    assert stats(project)["total_jobs"] == 0


def test_create_job_bad_bodies(project: ProjectHandle) -> None:
    url = f"{V1}/{project.project_id}/jobs"
    fails(project.api.post(url, content=b'{"reference_id": '), 400, "GE_0001")
    fails(project.api.post(url, content=b""), 400, "GE_0001")
    fails(project.api.post(url, content=b"\xff\xfe"), 400, "GE_0001")
    fails(project.api.post(url, json=[project.job("x")]), 400, "GE_0001")
    fails(project.api.post(url, json="text"), 400, "GE_0001")


def test_job_into_named_batch_with_priority_and_type(project: ProjectHandle) -> None:
    batch = ok(project.api.post(f"{V1}/{project.project_id}/batch", json={"name": "b"}))
    body = project.job("r", batch_id=batch["batch_id"], priority_weight=10, type="TEST")
    job_id = ok(project.api.post(f"{V1}/{project.project_id}/jobs", json=body))["job_id"]
    job = ok(project.api.get(f"{V0}/{project.project_id}/jobs/{job_id}"))
    assert job["batch_id"] == batch["batch_id"] and job["priority_weight"] == 10
    page = ok(project.api.get(f"{V1}/{project.project_id}/batch/{batch['batch_id']}"))
    assert [j["id"] for j in page["jobs"]] == [job_id]


# 3.3 / 3.4 ---------------------------------------------------------------------------------


def test_details_and_stats_count_jobs_and_frames(new_project: NewProject) -> None:
    p = new_project("VIDEO")
    frames = [{"frame_id": str(i), "src": f"https://v.example/{i}.jpg"} for i in range(3)]
    batch = ok(p.api.post(f"{V1}/{p.project_id}/batch", json={"name": "clips"}))
    for i in range(2):
        body = p.job(f"v{i}", data={"video_data": {"frames": frames}}, batch_id=batch["batch_id"])
        ok(p.api.post(f"{V1}/{p.project_id}/jobs", json=body))
    for prefix in (V1, V0):
        details = ok(p.api.get(f"{prefix}/{p.project_id}/details"))
        assert details["name"] == "test" and details["base"] == "VIDEO"
        by_name = {b["name"]: b for b in details["batches"]}
        clips = by_name["clips"]
        assert (clips["total_jobs"], clips["total_frames"], clips["status"]) == (2, 6, "Active")
        assert (clips["completed_jobs"], clips["completed_frames"], clips["annotations"]) == (
            0,
            0,
            0,
        )
        assert by_name["Default batch"]["status"] == "Inactive"
        assert clips["created_at"].endswith("+00:00")
        assert ok(p.api.get(f"{prefix}/{p.project_id}/stats")) == {
            "name": "test",
            "base": "VIDEO",
            "total_batches": 2,
            "completed_batches": 0,
            "total_jobs": 2,
            "completed_jobs": 0,
            "total_frames": 6,
            "completed_frames": 0,
            "annotations": 0,
        }


# 3.5 ---------------------------------------------------------------------------------------


def _bulk(p: ProjectHandle, jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = ok(
        p.api.post(f"{V1}/{p.project_id}/jobs/bulk", json={"jobs": jobs})
    )["results"]
    return results


@pytest.mark.parametrize("prefix", [V1, V0])
def test_paging_100_a_page_in_creation_order(
    server: Server, project: ProjectHandle, prefix: str
) -> None:
    created = _bulk(project, [project.job(f"p{i:03}") for i in range(250)])
    url = f"{prefix}/{project.project_id}/batch/{project.default_batch_id}"
    seen: list[str] = []
    token = ""
    sizes = []
    while True:
        page = ok(project.api.get(url + (f"?page_token={token}" if token else "")))
        assert page["id"] == project.default_batch_id and page["name"] == "Default batch"
        assert page["project_id"] == project.project_id
        sizes.append(len(page["jobs"]))
        seen += [job["id"] for job in page["jobs"]]
        token = page["next_page_token"]
        if not token:
            break
    assert sizes == [100, 100, 50]
    assert seen == [r["job_id"] for r in created]
    first = ok(project.api.get(url))["jobs"][0]
    assert set(first) == {
        "id",
        "reference_id",
        "status",
        "frames",
        "annotations",
        "priority_weight",
        "tag",
        "viewer_url",
    }
    viewer = f"{server.base_url}/ui/projects/{project.project_id}/jobs/{first['id']}"
    assert first["viewer_url"] == viewer and first["status"] == "created"


def test_limit_and_status_filter(project: ProjectHandle) -> None:
    _bulk(project, [project.job(f"s{i}") for i in range(5)])
    url = f"{V1}/{project.project_id}/batch/{project.default_batch_id}"
    page = ok(project.api.get(url, params={"limit": 2}))
    assert len(page["jobs"]) == 2 and page["next_page_token"]
    rest = ok(project.api.get(url, params={"limit": 1000, "page_token": page["next_page_token"]}))
    assert len(rest["jobs"]) == 3 and rest["next_page_token"] == ""
    assert len(ok(project.api.get(url, params={"status": "created,in_progress"}))["jobs"]) == 5
    assert ok(project.api.get(url, params={"status": "completed"}))["jobs"] == []
    fails(project.api.get(url, params={"limit": 0}), 400, "GE_0001")
    fails(project.api.get(url, params={"limit": 1001}), 400, "GE_0001")
    fails(project.api.get(url, params={"status": "done"}), 400, "GE_0001")


def test_page_token_tampered_or_foreign_is_invalid_request_error(project: ProjectHandle) -> None:
    _bulk(project, [project.job(f"t{i}") for i in range(3)])
    other = ok(project.api.post(f"{V1}/{project.project_id}/batch", json={"name": "other"}))
    url = f"{V1}/{project.project_id}/batch/{project.default_batch_id}"
    token = ok(project.api.get(url, params={"limit": 1}))["next_page_token"]
    flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
    for bad in (flipped, "garbage", token + "x"):
        fails(project.api.get(url, params={"page_token": bad}), 400, "invalid_request_error")
    other_url = f"{V1}/{project.project_id}/batch/{other['batch_id']}"
    fails(project.api.get(other_url, params={"page_token": token}), 400, "invalid_request_error")
    filtered = {"page_token": token, "status": "created"}
    fails(project.api.get(url, params=filtered), 400, "invalid_request_error")


def test_batch_not_found_and_bad_ids(project: ProjectHandle) -> None:
    pid = project.project_id
    fails(project.api.get(f"{V1}/{pid}/batch/{uuid.uuid4()}"), 404, "resource_error")
    fails(project.api.get(f"{V1}/{pid}/batch/not-a-uuid"), 400, "GE_0001")
    fails(project.api.get(f"{V1}/{pid}/jobs/{uuid.uuid4()}"), 404, "resource_error")
    fails(project.api.get(f"{V0}/{pid}/jobs/12"), 400, "GE_0001")


def test_batch_of_another_project_is_not_found(
    new_project: NewProject, project: ProjectHandle
) -> None:
    mine_too = new_project()
    url = f"{V1}/{project.project_id}/batch/{mine_too.default_batch_id}"
    fails(project.api.get(url), 404, "resource_error")


# 4: bulk, lookup -----------------------------------------------------------------------------


def test_bulk_create_reports_each_item_in_order(project: ProjectHandle) -> None:
    ok(project.api.post(f"{V1}/{project.project_id}/jobs", json=project.job("existing")))
    jobs = [
        project.job("a"),
        project.job("b", priority_weight=42),
        project.job("existing"),
        project.job("existing", type="TEST"),
        {"data": {"image_url": "https://img.example/x.jpg"}},
        "not an object",
        project.job("a"),
        project.job("c"),
    ]
    results = _bulk(project, jobs)
    assert [r.get("created") for r in results] == [True, None, False, None, None, None, False, True]
    assert results[1]["error"]["code"] == "FS_00012" and results[1]["reference_id"] == "b"
    assert results[3]["error"]["code"] == "FS_0001"
    assert results[4] == {"reference_id": None, "error": results[4]["error"]}
    assert results[4]["error"]["code"] == "FS_0002"
    assert results[5]["error"]["code"] == "GE_0001"
    assert results[6]["job_id"] == results[0]["job_id"]
    assert stats(project)["total_jobs"] == 3  # existing, a, c


def test_bulk_create_errors(project: ProjectHandle) -> None:
    url = f"{V1}/{project.project_id}/jobs/bulk"
    fails(project.api.post(url, json={}), 400, "GE_0002")
    fails(project.api.post(url, json={"jobs": {}}), 400, "GE_0001")
    too_many = {"jobs": [{"reference_id": f"x{i}"} for i in range(10_001)]}
    fails(project.api.post(url, json=too_many), 400, "GE_0001")
    assert ok(project.api.post(url, json={"jobs": []})) == {"results": []}
    assert stats(project)["total_jobs"] == 0


def test_lookup_by_reference_id(project: ProjectHandle) -> None:
    created = ok(project.api.post(f"{V1}/{project.project_id}/jobs", json=project.job("ref/1 ü")))
    url = f"{V1}/{project.project_id}/jobs"
    found = ok(project.api.get(url, params={"reference_id": "ref/1 ü"}))
    assert found["job_id"] == created["job_id"] and found["result"] == ""
    fails(project.api.get(url, params={"reference_id": "nope"}), 404, "resource_error")
    fails(project.api.get(url), 400, "GE_0002")


# 1: auth, limits, ops ------------------------------------------------------------------------


def test_auth_failures(server: Server, project: ProjectHandle, admin: httpx.Client) -> None:
    url = f"{V1}/{project.project_id}/stats"
    with server.client() as anonymous:
        fails(anonymous.get(url), 401, "auth-failure")
    with server.client(**{"x-api-key": "ly_unknown"}) as unknown:
        fails(unknown.get(url), 401, "auth-failure")
        fails(unknown.get(f"{V1}/not-a-uuid/stats"), 401, "auth-failure")
    fails(project.api.get(f"{V1}/not-a-uuid/stats"), 400, "GE_0001")
    fails(project.api.get(f"{V1}/{uuid.uuid4()}/stats"), 403, "unauthorized")
    key = ok(admin.post(f"/admin/v1/accounts/{project.account_id}/keys"))
    with server.client(**{"x-api-key": key["api_key"]}) as second:
        ok(second.get(url))
        ok(admin.post(f"/admin/v1/keys/{key['key_id']}/revoke"))
        fails(second.get(url), 401, "auth-failure")
    ok(project.api.get(url))


def test_other_accounts_project_is_403_everywhere(
    new_project: NewProject, project: ProjectHandle
) -> None:
    stranger = new_project(name="stranger")
    pid, bid = project.project_id, project.default_batch_id
    job_id = ok(project.api.post(f"{V1}/{pid}/jobs", json=project.job("mine")))["job_id"]
    attempts = [
        stranger.api.get(f"{V1}/{pid}/details"),
        stranger.api.get(f"{V0}/{pid}/stats"),
        stranger.api.get(f"{V1}/{pid}/batch/{bid}"),
        stranger.api.get(f"{V1}/{pid}/jobs/{job_id}"),
        stranger.api.get(f"{V1}/{pid}/jobs", params={"reference_id": "mine"}),
        stranger.api.post(f"{V1}/{pid}/jobs", json=stranger.job("theirs")),
        stranger.api.post(f"{V1}/{pid}/jobs/bulk", json={"jobs": [stranger.job("t")]}),
        stranger.api.post(f"{V1}/{pid}/batch", json={"name": "theirs"}),
    ]
    for response in attempts:
        fails(response, 403, "unauthorized")
    assert stats(project)["total_jobs"] == 1 and stats(project)["total_batches"] == 1


def test_oversized_body_is_413_and_stores_nothing(server: Server, project: ProjectHandle) -> None:
    limit = server.settings.max_body_bytes
    padding = "x" * limit
    url = f"{V1}/{project.project_id}/jobs"
    body = project.job("big", data={"image_url": "https://img.example/a.jpg", "metadata": padding})
    fails(project.api.post(url, json=body), 413, "GE_0001")

    def chunks() -> Any:  # no Content-Length: the limit is enforced while streaming
        yield b'{"jobs": [], "pad": "'
        for _ in range(limit // 65536 + 2):
            yield b"x" * 65536
        yield b'"}'

    fails(project.api.post(f"{url}/bulk", content=chunks()), 413, "GE_0001")
    assert stats(project)["total_jobs"] == 0


def test_ops_routes(server: Server) -> None:
    with server.client() as anonymous:
        assert anonymous.get("/healthz").json() == {"status": "ok"}
        assert anonymous.get("/readyz").json()["database"] == server.backend
        schema = anonymous.get("/openapi.json").json()
        for path in (
            "/v1/projects/{project_id}/jobs/bulk",
            "/projectsvc/projects/{project_id}/jobs",
            "/v0/projects/{project_id}/batch/{batch_id}",
            "/admin/v1/projects",
        ):
            assert path in schema["paths"], path
        assert anonymous.get("/docs").status_code == 200
        metrics = anonymous.get("/metrics").text
        assert "labelyard_http_request_duration_seconds_bucket" in metrics
        fails(anonymous.get("/v2/nothing"), 404, "resource_error")


def test_docs_are_served_from_local_files(server: Server) -> None:
    import re as _re

    with server.client() as anonymous:
        page = anonymous.get("/docs")
        assert page.status_code == 200 and "swagger" in page.text.lower()
        sources = _re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert sources and all(s.startswith("/docs/assets/") for s in sources), sources
        assert "cdn" not in page.text and "https://" not in page.text.split("<body>")[0]
        for source in sources:
            asset = anonymous.get(source)
            assert asset.status_code == 200 and len(asset.content) > 500, source
        assert anonymous.get("/docs/assets/swagger-editor-bundle.js").status_code == 404
        assert anonymous.get("/docs/assets/../../../config.py").status_code == 404
        assert anonymous.get("/openapi.json").status_code == 200
        assert anonymous.get("/redoc").status_code == 404


def test_health_routes_answer_head(server: Server) -> None:
    with server.client() as anonymous:
        for path in ("/healthz", "/readyz"):
            answer = anonymous.head(path)
            assert answer.status_code == 200 and answer.content == b"", path
