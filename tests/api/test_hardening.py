"""Hostile and odd input found by review: each gets its documented 4xx, never a 500."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import orjson
import pytest

from tests.conftest import ProjectHandle, Server, WorkerHandle

NewProject = Callable[..., ProjectHandle]
NewWorker = Callable[..., WorkerHandle]


def code_of(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


def test_nul_characters_are_refused_everywhere(project: ProjectHandle) -> None:
    pid = project.project_id
    nul = "a\u0000b"
    assert code_of(project.api.post(f"/v1/projects/{pid}/batch", json={"name": nul})) == (
        400,
        "GE_0001",
    )
    bad_job = project.job("n1", data={"image_url": "https://x.example/a", "metadata": {nul: 1}})
    assert code_of(project.api.post(f"/v1/projects/{pid}/jobs", json=bad_job)) == (400, "GE_0001")
    bulk = {"jobs": [project.job(nul)]}
    assert code_of(project.api.post(f"/v1/projects/{pid}/jobs/bulk", json=bulk)) == (400, "GE_0001")
    lookup = project.api.get(f"/v1/projects/{pid}/jobs", params={"reference_id": nul})
    assert code_of(lookup) == (400, "GE_0001")
    # A backslash followed by "u0000" is ordinary text.
    fine = project.job("n2", data={"image_url": "https://x.example/a", "metadata": "\\u0000"})
    assert project.api.post(f"/v1/projects/{pid}/jobs", json=fine).status_code == 200


@pytest.mark.parametrize("url", ["http://[::1/a", "https://[bad]/x", "http://x.example:99999/"])
def test_malformed_urls(project: ProjectHandle, url: str) -> None:
    pid = project.project_id
    job = project.job("u", data={"image_url": url})
    assert code_of(project.api.post(f"/v1/projects/{pid}/jobs", json=job))[0] == 400
    hook = project.api.post(f"/v1/projects/{pid}/webhooks", json={"url": url})
    assert code_of(hook) == (400, "GE_0001")


def test_odd_numbers_in_query_strings(server: Server, project: ProjectHandle) -> None:
    pid = project.project_id
    url = f"/v1/projects/{pid}/batch/{project.default_batch_id}"
    for value in ("²", "1" * 5000, "٣"):
        assert code_of(project.api.get(url, params={"limit": value})) == (400, "GE_0001")
        assert (
            code_of(project.api.get(f"/v1/projects/{pid}/changes", params={"limit": value}))[0]
            == 400
        )
    with server.client() as anonymous:
        file = f"/files/results/{pid}/{project.default_batch_id}.json"
        for params in (
            {"expires": "²", "signature": "x"},
            {"expires": "1", "signature": "é"},
            {"expires": "9" * 5000, "signature": "00"},
        ):
            assert code_of(anonymous.get(file, params=params)) == (403, "unauthorized")


def test_unhashable_values_in_annotations(new_project: NewProject, new_worker: NewWorker) -> None:
    p = new_project("SENSOR_FUSION")
    data = {
        "sensor_data": {
            "sensor_meta": [{"id": "cam", "name": "front", "modality": "camera"}],
            "frames": [
                {"frame_id": "f1", "sensors": [{"sensor_id": "cam", "data_url": "https://x.e/1"}]}
            ],
        }
    }
    job_id = p.api.post(f"/v1/projects/{p.project_id}/jobs", json=p.job("h", data=data)).json()[
        "data"
    ]["job_id"]
    worker = new_worker(p.account_id)
    worker.api.post(f"/work/v1/projects/{p.project_id}/claim", json={})
    corners = [
        {"x": 0.1, "y": 0.1},
        {"x": 0.2, "y": 0.1},
        {"x": 0.2, "y": 0.2},
        {"x": 0.1, "y": 0.2},
    ]
    tracker = {
        "_id": "t",
        "type": "rectangle",
        "label": "c",
        "frames": {"f1": {"sensor_id": [], "coordinates": corners}},
    }
    response = worker.api.post(
        f"/work/v1/projects/{p.project_id}/jobs/{job_id}/draft", json={"annotations": [tracker]}
    )
    assert code_of(response) == (400, "GE_0001")
    assert "sensor_id" in response.json()["error"]["message"]


def test_invalid_prelabels_start_an_empty_draft_and_accept_checks_the_draft(
    project: ProjectHandle, new_worker: NewWorker
) -> None:
    pid = project.project_id
    data = {"image_url": "https://x.example/a.jpg", "maker_response": {"rectangles": [1, 2]}}
    job_id = project.api.post(f"/v1/projects/{pid}/jobs", json=project.job("p", data=data)).json()[
        "data"
    ]["job_id"]
    project.api.post(f"/v1/projects/{pid}/jobs/{job_id}/abort")
    project.api.post(f"/v1/projects/{pid}/jobs/{job_id}/reopen", json={"step": "review"})
    worker = new_worker(project.account_id)
    claimed = worker.api.post(f"/work/v1/projects/{pid}/claim", json={"step": "review"}).json()[
        "data"
    ]
    assert claimed["draft"]["rectangles"] == []
    accepted = worker.api.post(
        f"/work/v1/projects/{pid}/jobs/{job_id}/review", json={"decision": "accept"}
    )
    assert accepted.status_code == 200
    result = project.api.get(f"/v1/projects/{pid}/jobs/{job_id}/result").json()
    assert result["data"]["annotations"]["rectangles"] == []


def test_creates_and_completions_in_one_batch_at_once_never_fail(
    server: Server, project: ProjectHandle, new_worker: NewWorker
) -> None:
    """Creates lock batch then feed; completions lock job, batch, feed: no deadlock."""
    pid = project.project_id
    ids = [
        r["job_id"]
        for r in project.api.post(
            f"/v1/projects/{pid}/jobs/bulk",
            json={"jobs": [project.job(f"c{i}") for i in range(12)]},
        ).json()["data"]["results"]
    ]
    workers = [new_worker(project.account_id) for _ in range(4)]
    for i, job_id in enumerate(ids):
        w = workers[i % 4]
        w.api.post(f"/work/v1/projects/{pid}/claim", json={})
        w.api.post(f"/work/v1/projects/{pid}/jobs/{job_id}/submit", json={"annotations": {}})
    held = []
    for i in range(len(ids)):
        w = workers[i % 4]
        got = w.api.post(f"/work/v1/projects/{pid}/claim", json={"step": "review"}).json()["data"]
        held.append((w, got["job_id"]))

    def accept(item: tuple[WorkerHandle, str]) -> int:
        w, job_id = item
        url = f"/work/v1/projects/{pid}/jobs/{job_id}/review"
        return w.api.post(url, json={"decision": "accept"}).status_code

    def create(i: int) -> int:
        with server.client(**{"x-api-key": project.api_key}) as api:
            return api.post(f"/v1/projects/{pid}/jobs", json=project.job(f"new{i}")).status_code

    with ThreadPoolExecutor(max_workers=16) as pool:
        accepted = pool.map(accept, held)
        created = pool.map(create, range(12))
        statuses: list[Any] = [*accepted, *created]
    assert statuses == [200] * 24
    stats = project.api.get(f"/v1/projects/{pid}/stats").json()["data"]
    assert (stats["total_jobs"], stats["completed_jobs"]) == (24, 12)


def test_bulk_creates_sharing_reference_ids_in_opposite_orders(
    server: Server, project: ProjectHandle
) -> None:
    pid = project.project_id
    other = project.api.post(f"/v1/projects/{pid}/batch", json={"name": "b"}).json()["data"][
        "batch_id"
    ]
    forward = [project.job(f"o{i}") for i in range(3000)]
    backward = [project.job(f"o{i}", batch_id=other) for i in reversed(range(3000))]

    def send(jobs: list[dict[str, Any]]) -> int:
        with server.client(**{"x-api-key": project.api_key}) as api:
            return api.post(f"/v1/projects/{pid}/jobs/bulk", json={"jobs": jobs}).status_code

    with ThreadPoolExecutor(max_workers=2) as pool:
        assert list(pool.map(send, [forward, backward])) == [200, 200]
    assert project.api.get(f"/v1/projects/{pid}/stats").json()["data"]["total_jobs"] == 3000


def test_attachment_url_with_a_malformed_id_is_403(project: ProjectHandle, server: Server) -> None:
    url = f"{server.base_url}/files/results/{'-' * 36}/{'-' * 36}.json"
    assert code_of(project.api.get("/v1/attachments", params={"url": url})) == (403, "unauthorized")


def test_a_reopened_jobs_old_result_url_is_no_longer_signed(
    project: ProjectHandle, new_worker: NewWorker
) -> None:
    pid = project.project_id
    job_id = project.api.post(f"/v1/projects/{pid}/jobs", json=project.job("old")).json()["data"][
        "job_id"
    ]
    worker = new_worker(project.account_id)
    worker.api.post(f"/work/v1/projects/{pid}/claim", json={})
    worker.api.post(f"/work/v1/projects/{pid}/jobs/{job_id}/submit", json={"annotations": {}})
    worker.api.post(f"/work/v1/projects/{pid}/claim", json={"step": "review"})
    worker.api.post(f"/work/v1/projects/{pid}/jobs/{job_id}/review", json={"decision": "accept"})
    url = project.api.get(f"/v1/projects/{pid}/jobs/{job_id}").json()["data"]["result"]
    assert project.api.get("/v1/attachments", params={"url": url}).status_code == 302
    project.api.post(f"/v1/projects/{pid}/jobs/{job_id}/reopen", json={})
    assert code_of(project.api.get("/v1/attachments", params={"url": url})) == (403, "unauthorized")


def nested(depth: int) -> str:
    """JSON text whose arrays and objects nest ``depth`` levels deep (deeper than any encoder
    of ours would write, so written by hand)."""
    opens = "".join('{"k":' if level % 2 else "[" for level in range(depth))
    closes = "".join("}" if level % 2 else "]" for level in reversed(range(depth)))
    return f'{opens}"leaf"{closes}'


def post_raw(client: httpx.Client, url: str, text: str) -> httpx.Response:
    return client.post(url, content=text.encode(), headers={"content-type": "application/json"})


def job_text(project: ProjectHandle, reference_id: str, depth: int) -> str:
    return (
        f'{{"reference_id": "{reference_id}", "work_flow_id": "{project.work_flow_id}", '
        f'"data": {{"image_url": "https://x.example/a", "m": {nested(depth)}}}}}'
    )


def test_json_nested_too_deep_is_refused_where_it_is_parsed(project: ProjectHandle) -> None:
    pid = project.project_id
    for depth in (65, 100, 300, 1000):
        body = f'{{"name": {nested(depth)}}}'
        response = post_raw(project.api, f"/v1/projects/{pid}/batch", body)
        assert code_of(response) == (400, "GE_0001")
        assert "nested deeper than 64" in response.json()["error"]["message"]
    deep_job = job_text(project, "deep", 100)
    assert code_of(post_raw(project.api, f"/v1/projects/{pid}/jobs", deep_job)) == (400, "GE_0001")
    lookup = project.api.get(f"/v1/projects/{pid}/jobs", params={"reference_id": "deep"})
    assert lookup.status_code == 404
    # Brackets inside strings are text, not nesting; 62 levels (+2 around them) are fine.
    text = job_text(project, "t", 62).replace('"leaf"', '"[{[{\\"[{"')
    assert post_raw(project.api, f"/v1/projects/{pid}/jobs", text).status_code == 200


def test_a_too_deep_item_of_a_bulk_create_fails_alone(project: ProjectHandle) -> None:
    pid = project.project_id
    items = [
        orjson.dumps(project.job("b-1")).decode(),
        job_text(project, "b-deep", 100),
        orjson.dumps(project.job("b-2")).decode(),
        job_text(project, "b-deeper", 900),
    ]
    response = post_raw(
        project.api, f"/v1/projects/{pid}/jobs/bulk", f'{{"jobs": [{",".join(items)}]}}'
    )
    assert response.status_code == 200, response.text
    results = response.json()["data"]["results"]
    assert [r.get("created") for r in results] == [True, None, True, None]
    for failed in (results[1], results[3]):
        assert failed["error"]["code"] == "GE_0001"
        assert "nested deeper than 64" in failed["error"]["message"]
    listed = project.api.get(f"/v1/projects/{pid}/jobs", params={"reference_id": "b-2"})
    assert listed.status_code == 200


def test_bulk_items_at_the_depth_limit(project: ProjectHandle) -> None:
    """An item of exactly 64 levels is created and one of 65 refused, whether the body as a
    whole is shallow enough to skip the items' own checks or not."""
    pid = project.project_id
    url = f"/v1/projects/{pid}/jobs/bulk"
    # An item is levels 3.. of the body; its "m" starts at its own third level.
    at_limit = job_text(project, "limit-64", 62)
    past_limit = job_text(project, "limit-65", 63)
    alone = post_raw(project.api, url, f'{{"jobs": [{at_limit}]}}')
    assert alone.status_code == 200, alone.text
    assert alone.json()["data"]["results"][0]["created"] is True
    refused = post_raw(project.api, url, f'{{"jobs": [{past_limit}]}}')
    [result] = refused.json()["data"]["results"]
    assert result["error"]["code"] == "GE_0001"
    assert "nested deeper than 64" in result["error"]["message"]
    both = post_raw(
        project.api, url, f'{{"jobs": [{at_limit.replace("-64", "-64b")}, {past_limit}]}}'
    )
    assert [r.get("created") for r in both.json()["data"]["results"]] == [True, None]
    for reference_id, status in (("limit-64", 200), ("limit-64b", 200), ("limit-65", 404)):
        found = project.api.get(f"/v1/projects/{pid}/jobs", params={"reference_id": reference_id})
        assert found.status_code == status, reference_id


def test_a_deep_attribute_is_refused_and_the_job_still_completes(
    project: ProjectHandle, new_worker: NewWorker
) -> None:
    pid = project.project_id
    job_id = project.api.post(f"/v1/projects/{pid}/jobs", json=project.job("attr")).json()["data"][
        "job_id"
    ]
    worker = new_worker(project.account_id)
    assert worker.api.post(f"/work/v1/projects/{pid}/claim", json={}).status_code == 200
    rectangle: dict[str, Any] = {
        "_id": "r",
        "label": "car",
        "coordinates": [{"x": 0.1, "y": 0.1}, {"x": 0.2, "y": 0.1}, {"x": 0.2, "y": 0.2}],
        "attributes": {"deep": {"value": "DEEP"}},
    }
    rectangle["coordinates"].append({"x": 0.1, "y": 0.2})
    url = f"/work/v1/projects/{pid}/jobs/{job_id}"
    annotations = {"annotations": {"rectangles": [rectangle]}}
    deep = orjson.dumps(annotations).decode().replace('"DEEP"', nested(248))
    for action in ("draft", "submit"):
        response = post_raw(worker.api, f"{url}/{action}", deep)
        assert code_of(response) == (400, "GE_0001")
    rectangle["attributes"] = {}
    submitted = worker.api.post(f"{url}/submit", json=annotations)
    assert submitted.status_code == 200, submitted.text
    claimed = worker.api.post(f"/work/v1/projects/{pid}/claim", json={"step": "review"})
    assert claimed.status_code == 200 and claimed.json()["data"]["job_id"] == job_id
    accepted = worker.api.post(f"{url}/review", json={"decision": "accept"})
    assert accepted.status_code == 200, accepted.text
    status = project.api.get(f"/v1/projects/{pid}/jobs/{job_id}").json()["data"]["status"]
    assert status == "completed"


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example/a\r\nX-Injected: 1",
        "https://hooks.example/a\nb",
        "https://hooks.example/\x00",
        "https://hooks.example/\x7f",
        "https://hooks.example/\tb",
        "https://hooks.example/a b",
    ],
)
def test_webhook_and_callback_urls_with_control_characters_are_refused(
    project: ProjectHandle, url: str
) -> None:
    pid = project.project_id
    hook = project.api.post(f"/v1/projects/{pid}/webhooks", json={"url": url})
    assert code_of(hook) == (400, "GE_0001")
    callback = project.api.put(f"/v1/projects/{pid}/callback", json={"callback_url": url})
    assert code_of(callback) == (400, "GE_0001")
    assert project.api.get(f"/v1/projects/{pid}/webhooks").json()["data"]["webhooks"] == []
    assert project.api.get(f"/v1/projects/{pid}/callback").json()["data"]["callback_url"] == ""


def test_free_text_has_a_length_limit(server: Server, project: ProjectHandle) -> None:
    pid = project.project_id
    long_text, fine = "x" * 10_001, "x" * 10_000
    url = f"/v1/projects/{pid}/webhooks"
    body = {"url": "https://hooks.example/a", "description": long_text}
    assert code_of(project.api.post(url, json=body)) == (400, "GE_0001")
    assert project.api.get(url).json()["data"]["webhooks"] == []
    made = project.api.post(url, json=body | {"description": fine})
    assert made.status_code == 200
    hook_url = f"{url}/{made.json()['data']['id']}"
    assert code_of(project.api.patch(hook_url, json={"description": long_text})) == (
        400,
        "GE_0001",
    )
    batch = {"name": "b", "description": long_text}
    assert code_of(project.api.post(f"/v1/projects/{pid}/batch", json=batch)) == (400, "GE_0001")
    assert code_of(project.api.post(f"/v1/projects/{pid}/batch", json={"name": "n" * 256})) == (
        400,
        "GE_0001",
    )
    with server.admin() as admin:
        named = {"name": "p" * 256, "base": "IMAGE", "account_id": project.account_id}
        assert code_of(admin.post("/admin/v1/projects", json=named)) == (400, "GE_0001")


def test_job_media_urls_with_control_characters_are_refused(project: ProjectHandle) -> None:
    pid = project.project_id
    for url in ("https://img.example/a\r\nb.jpg", "https://img.example/a\tb.jpg"):
        job = project.job("ctl", data={"image_url": url})
        answer = project.api.post(f"/v1/projects/{pid}/jobs", json=job)
        assert answer.status_code == 400 and "control characters" in answer.text
    assert (
        project.api.get(f"/v1/projects/{pid}/jobs", params={"reference_id": "ctl"}).status_code
        == 404
    )


def test_a_claim_whose_answer_cannot_be_sent_commits_nothing(
    server: Server, project: ProjectHandle, new_worker: NewWorker
) -> None:
    """Job data stored before the depth limit (deeper than the encoder writes) cannot be sent:
    the claim fails without leasing the job or recording anything."""
    import asyncio

    from sqlalchemy import text

    from labelyard.store.engine import Database

    pid = project.project_id
    job_id = project.api.post(f"/v1/projects/{pid}/jobs", json=project.job("legacy")).json()[
        "data"
    ]["job_id"]
    data = orjson.dumps({**project.job("legacy")["data"], "notes": "DEEP"}).decode()
    deep = data.replace('"DEEP"', nested(300))
    cast = "CAST(:data AS JSONB)" if server.backend == "postgresql" else ":data"

    async def store_deep_data() -> None:
        db = Database(server.settings.resolved_database_url(), pool_size=1)
        try:
            async with db.write() as conn:
                await conn.execute(
                    text(f"UPDATE job SET data = {cast} WHERE id = :id"),
                    {"data": deep, "id": job_id},
                )
        finally:
            await db.dispose()

    asyncio.run(store_deep_data())
    worker = new_worker(project.account_id)
    response = worker.api.post(f"/work/v1/projects/{pid}/claim", json={})
    assert response.status_code == 500 and response.json()["error"]["code"] == "api_error"
    history = project.api.get(f"/v1/projects/{pid}/jobs/{job_id}/history").json()["data"]
    assert all(t["action"] != "claim" for t in history["transitions"])
    job = project.api.get(f"/v1/projects/{pid}/jobs/{job_id}").json()["data"]
    assert job["status"] == "created"
