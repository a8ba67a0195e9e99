"""Many clients at once: the database, not a check-then-insert, decides uniqueness."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.conftest import ProjectHandle, Server


def test_20_parallel_creates_of_one_reference_id_make_one_job(
    server: Server, project: ProjectHandle
) -> None:
    url = f"/v1/projects/{project.project_id}/jobs"
    body = project.job("same-ref")
    clients = [server.client(**{"x-api-key": project.api_key}) for _ in range(20)]
    try:

        def create(client: httpx.Client) -> httpx.Response:
            return client.post(url, json=body)

        with ThreadPoolExecutor(max_workers=20) as pool:
            responses = list(pool.map(create, clients))
    finally:
        for client in clients:
            client.close()
    assert [r.status_code for r in responses] == [200] * 20
    job_ids = {r.json()["data"]["job_id"] for r in responses}
    assert len(job_ids) == 1
    stats = project.api.get(f"/v1/projects/{project.project_id}/stats").json()["data"]
    assert stats["total_jobs"] == 1
    page = project.api.get(f"/v1/projects/{project.project_id}/batch/{project.default_batch_id}")
    assert [job["id"] for job in page.json()["data"]["jobs"]] == list(job_ids)


def test_parallel_bulk_creates_into_one_batch_keep_counters_exact(
    server: Server, project: ProjectHandle
) -> None:
    """8 clients send overlapping bulk requests; every reference id exists once."""
    url = f"/v1/projects/{project.project_id}/jobs/bulk"
    requests = [
        {"jobs": [project.job(f"r{i}") for i in range(start, start + 200)]}
        for start in range(0, 800, 100)  # each range overlaps the next by 100
    ]
    clients = [server.client(**{"x-api-key": project.api_key}) for _ in requests]
    try:
        with ThreadPoolExecutor(max_workers=len(requests)) as pool:
            responses = list(
                pool.map(
                    lambda cb: cb[0].post(url, json=cb[1]), zip(clients, requests, strict=True)
                )
            )
    finally:
        for client in clients:
            client.close()
    created = 0
    ids: dict[str, str] = {}
    for response in responses:
        assert response.status_code == 200, response.text
        for result in response.json()["data"]["results"]:
            assert "error" not in result, result
            created += result["created"]
            assert ids.setdefault(result["reference_id"], result["job_id"]) == result["job_id"]
    assert created == len(ids) == 900
    stats = project.api.get(f"/v1/projects/{project.project_id}/stats").json()["data"]
    assert stats["total_jobs"] == 900 and stats["total_frames"] == 900
