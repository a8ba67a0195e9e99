"""``labelyard.client.Client`` against a real server (retries through a failing front server on
loopback), and what it does when no answer or no API answer comes (scripted transports)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from labelyard.client import Client, LabelyardError
from tests.client.conftest import complete_next, flaky_front
from tests.conftest import ProjectHandle, Server, WorkerHandle

NewWorker = Callable[..., WorkerHandle]
OK = {"success": True, "data": {"name": "p", "base": "IMAGE", "batches": []}}
PROJECT = "00000000-0000-4000-8000-000000000001"


def client_of(server: Server, project: ProjectHandle) -> Client:
    return Client(server.base_url, project.api_key)


def scripted(*replies: httpx.Response | Exception) -> tuple[Client, list[float]]:
    """A client whose server answers ``replies`` in turn (then 200), and the times it was asked."""
    asked: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(time.monotonic())
        reply = replies[len(asked) - 1] if len(asked) <= len(replies) else httpx.Response(200)
        if isinstance(reply, Exception):
            raise reply
        return reply if reply.status_code != 200 else httpx.Response(200, json=OK)

    client = Client(
        "http://labelyard.test",
        "ly_x",
        retries=3,
        backoff=0.01,
        transport=httpx.MockTransport(handler),
    )
    return client, asked


def test_batch_jobs_iterates_every_job_exactly_once(server: Server, project: ProjectHandle) -> None:
    with client_of(server, project) as client:
        batch_id = client.create_batch(project.project_id, "paged", description="2,500 jobs")
        bodies = [project.job(f"p-{i}", batch_id=batch_id) for i in range(2500)]
        outcomes = client.create_jobs(project.project_id, bodies, chunk_size=1000)
        assert all(o.created and o.error is None for o in outcomes)
        created = [o.job_id for o in outcomes]

        listed = list(client.batch_jobs(project.project_id, batch_id, page_size=100))
        assert [job.id for job in listed] == created  # each once, in creation order
        assert listed[7].reference_id == "p-7" and listed[7].status == "created"
        assert list(client.batch_jobs(project.project_id, batch_id, status="completed")) == []

        again = client.create_jobs(project.project_id, bodies[:1500], chunk_size=1000)
        assert [o.job_id for o in again] == created[:1500]  # replays answer the existing jobs
        assert not any(o.created for o in again)
        details = client.project_details(project.project_id)
        assert details.batch_named("paged") is not None
        assert details.batch_named("paged").total_jobs == 2500  # type: ignore[union-attr]
        assert client.ensure_batch(project.project_id, "paged") == batch_id


def test_create_job_find_it_and_bulk_outcomes(server: Server, project: ProjectHandle) -> None:
    pid = project.project_id
    with client_of(server, project) as client:
        created = client.create_job(
            pid, "one", {"image_url": "https://img.example/1.jpg"}, tag="default", priority_weight=7
        )
        assert created.reference_id == "one" and created.tag == "default"
        job = client.job_by_reference(pid, "one")
        assert (job.job_id, job.priority_weight, job.status, job.result) == (
            created.job_id,
            7,
            "created",
            "",
        )
        assert client.job(pid, created.job_id) == job
        outcomes = client.create_jobs(
            pid,
            [
                project.job("two"),
                {"work_flow_id": project.work_flow_id, "data": {"image_url": "https://x.example"}},
                project.job("one", data={"image_url": "https://img.example/other.jpg"}),
            ],
        )
        assert outcomes[0].created and outcomes[0].job_id
        assert outcomes[1].error is not None and outcomes[1].error.code == "FS_0002"
        assert outcomes[1].reference_id is None and outcomes[1].job_id is None
        assert outcomes[2].error is not None and outcomes[2].error.code == "FS_0001"
        stats = client.project_stats(pid)
        assert (stats.base, stats.total_batches, stats.total_jobs) == ("IMAGE", 1, 2)


def test_errors_carry_code_message_and_status(server: Server, project: ProjectHandle) -> None:
    pid = project.project_id
    with client_of(server, project) as client:
        with pytest.raises(LabelyardError) as missing:
            client.job(pid, "00000000-0000-4000-8000-000000000000")
        assert (missing.value.status, missing.value.code) == (404, "resource_error")
        assert "00000000-0000-4000-8000-000000000000" in missing.value.message

        client.create_job(pid, "dup", {"image_url": "https://img.example/a.jpg"}, tag="default")
        with pytest.raises(LabelyardError) as duplicate:
            client.create_job(pid, "dup", {"image_url": "https://img.example/b.jpg"}, tag="default")
        assert (duplicate.value.status, duplicate.value.code) == (400, "FS_0001")

        created = client.job_by_reference(pid, "dup")
        with pytest.raises(LabelyardError) as unfinished:
            client.result(pid, created.job_id)
        assert (unfinished.value.status, unfinished.value.code) == (404, "resource_error")

        client.create_batch(pid, "taken")
        with pytest.raises(LabelyardError) as taken:
            client.create_batch(pid, "taken")
        assert (taken.value.status, taken.value.code) == (400, "BATCH_CREATION")

    with Client(server.base_url, "ly_not-a-key") as stranger, pytest.raises(LabelyardError) as bad:
        stranger.project_details(pid)
    assert (bad.value.status, bad.value.code) == (401, "auth-failure")


def test_a_chunk_over_the_body_limit_is_sent_in_halves(
    server: Server, project: ProjectHandle
) -> None:
    huge = "x" * (server.settings.max_body_bytes + 1)
    jobs = [
        project.job("small-1"),
        project.job("huge", data={"image_url": "https://img.example/h.jpg", "metadata": huge}),
        project.job("small-2"),
    ]
    with client_of(server, project) as client:
        outcomes = client.create_jobs(project.project_id, jobs)
    assert [o.created for o in outcomes] == [True, False, True]
    assert outcomes[1].reference_id == "huge"
    assert outcomes[1].error is not None and outcomes[1].error.code == "GE_0001"


def test_result_and_download_result(
    server: Server, project: ProjectHandle, new_worker: NewWorker, tmp_path: Path
) -> None:
    pid = project.project_id
    worker = new_worker(project.account_id)
    with client_of(server, project) as client:
        client.create_job(pid, "r", {"image_url": "https://img.example/r.jpg"}, tag="default")
        job_id = complete_next(worker, pid)
        expected = project.api.get(f"/v1/projects/{pid}/jobs/{job_id}/result").json()
        result = client.result(pid, job_id)
        assert result == expected
        assert result["data"]["annotations"]["rectangles"][0]["label"] == "car"

        saved = client.download_result(pid, job_id, tmp_path / "r.json")
    assert json.loads(saved.read_text()) == expected
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]  # no .part left behind


def test_503_twice_then_success_is_retried(server: Server, project: ProjectHandle) -> None:
    with (
        flaky_front(server, (503, {}), (503, {})) as (url, asked),
        Client(url, project.api_key, backoff=0.01) as client,
    ):
        assert client.project_details(project.project_id).name == "test"
    assert len(asked) == 3


def test_429_waits_for_retry_after(server: Server, project: ProjectHandle) -> None:
    with (
        flaky_front(server, (429, {"Retry-After": "1"})) as (url, asked),
        Client(url, project.api_key, backoff=0.01) as client,
    ):
        assert client.project_details(project.project_id).name == "test"
    assert len(asked) == 2 and asked[1] - asked[0] >= 1.0


def test_no_answer_after_every_retry_is_a_connection_error() -> None:
    client, asked = scripted(*[httpx.ConnectError("refused")] * 4)
    with client, pytest.raises(LabelyardError) as raised:
        client.project_details(PROJECT)
    assert len(asked) == 4  # the first try and 3 retries
    assert (raised.value.code, raised.value.status) == ("connection_error", None)


def test_a_batch_create_whose_answer_is_lost_is_not_sent_again() -> None:
    client, asked = scripted(httpx.ReadTimeout("slow"), httpx.Response(503))
    with client, pytest.raises(LabelyardError) as raised:
        client.create_batch(PROJECT, "b")
    assert len(asked) == 1 and raised.value.code == "connection_error"


def test_an_answer_that_is_not_the_api_is_an_invalid_response() -> None:
    client, _ = scripted(httpx.Response(404, text="<html>nginx</html>"))
    with client, pytest.raises(LabelyardError) as raised:
        client.project_details(PROJECT)
    assert (raised.value.code, raised.value.status) == ("invalid_response", 404)


def test_the_client_imports_nothing_of_the_server() -> None:
    code = (
        "import sys, labelyard.client; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'sqlalchemy', 'fastapi', 'starlette', 'pydantic', 'typer', 'alembic', 'boto3'}))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
