"""Request ids, security headers, rate limits, metrics and structured logs."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from labelyard.config import Settings
from labelyard.core.buckets import TokenBuckets
from labelyard.http.observability import request_id
from labelyard.logs import JsonFormatter
from tests.conftest import ProjectHandle, Server, free_port, start_server


def test_request_id_is_echoed_or_made_and_security_headers_are_set(project: ProjectHandle) -> None:
    url = f"/v1/projects/{project.project_id}/stats"
    given = project.api.get(url, headers={"x-request-id": "client-42"})
    assert given.headers["x-request-id"] == "client-42"
    made = project.api.get(url, headers={"x-request-id": "bad id with spaces"})
    assert len(made.headers["x-request-id"]) == 32 and made.headers["x-request-id"] != "client-42"
    assert made.headers["x-content-type-options"] == "nosniff"
    assert made.headers["x-frame-options"] == "DENY"


def test_token_buckets_allow_a_burst_then_the_rate() -> None:
    now = [0.0]
    buckets = TokenBuckets(rate=2, burst=3, clock=lambda: now[0])
    assert [buckets.take(b"k") for _ in range(3)] == [0, 0, 0]
    assert buckets.take(b"k") == 0.5
    assert buckets.take(b"other") == 0
    now[0] += 0.5
    assert buckets.take(b"k") == 0


@contextmanager
def rate_limited_server(
    tmp_path: Path, *, burst: int
) -> Iterator[tuple[httpx.Client, dict[str, Any]]]:
    """A server limiting each key to ``burst`` requests, then one every 2 s; a client and a
    project made through its admin API."""
    settings = Settings(
        data_dir=tmp_path,
        port=free_port(),
        admin_token="t",
        rate_limit_per_second=0.5,
        rate_limit_burst=burst,
    )
    server, thread = start_server(settings)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{settings.port}") as client:
            created = client.post(
                "/admin/v1/projects",
                headers={"authorization": "Bearer t"},
                json={"name": "r", "base": "IMAGE"},
            ).json()["data"]
            yield client, created
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def test_rate_limited_key_gets_429_with_retry_after(tmp_path: Path) -> None:
    with rate_limited_server(tmp_path, burst=3) as (client, created):
        key = {"x-api-key": created["api_key"]}
        url = f"/v1/projects/{created['project_id']}/stats"
        statuses = [client.get(url, headers=key).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        limited = client.get(url, headers=key)
        assert limited.json()["error"]["code"] == "rate_limited"
        assert int(limited.headers["retry-after"]) >= 1
        assert client.get("/healthz").status_code == 200  # no key: not limited


def test_metrics_show_queues_outbox_and_deliveries(server: Server, project: ProjectHandle) -> None:
    project.api.post(f"/v1/projects/{project.project_id}/jobs", json=project.job("m1"))
    with server.client() as anonymous:
        text = anonymous.get("/metrics").text
    assert 'labelyard_queue_jobs{step="annotate"}' in text
    assert "labelyard_outbox_lag_events" in text
    assert 'labelyard_webhook_deliveries{status="failed"}' in text
    assert 'route="/v1/projects/{project_id}/jobs"' in text


def test_json_log_lines_carry_the_request_id() -> None:
    record = logging.makeLogRecord(
        {"name": "labelyard.access", "levelname": "INFO", "msg": "GET /x 200", "status": 200}
    )
    token = request_id.set("abc")
    try:
        line = json.loads(JsonFormatter().format(record))
    finally:
        request_id.reset(token)
    assert line["request_id"] == "abc" and line["status"] == 200 and line["level"] == "info"


def test_extra_credential_headers_do_not_make_a_new_caller(tmp_path: Path) -> None:
    with rate_limited_server(tmp_path, burst=2) as (client, created):
        url = f"/v1/projects/{created['project_id']}/stats"
        statuses = []
        for i in range(4):
            headers = [
                ("x-api-key", created["api_key"]),
                ("authorization", f"junk-{i}"),
                ("x-api-key", f"junk-{i}"),
            ]
            statuses.append(client.get(url, headers=headers).status_code)
        assert statuses == [200, 200, 429, 429]


def test_one_token_is_one_caller_however_its_header_is_spelled(tmp_path: Path) -> None:
    with rate_limited_server(tmp_path, burst=3) as (client, created):
        worker = client.post(
            f"/admin/v1/accounts/{created['account_id']}/workers",
            headers={"authorization": "Bearer t"},
            json={"name": "w", "role": "both"},
        ).json()["data"]
        url = f"/work/v1/projects/{created['project_id']}/claim"
        spellings = ["Bearer {}", "bearer {}", "BEARER   {}", "Bearer {}"]
        statuses = [
            client.post(url, headers={"authorization": s.format(worker["token"])}).status_code
            for s in spellings
        ]
        assert statuses == [204, 204, 204, 429], statuses


def test_failed_authentications_are_limited_per_address(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        port=free_port(),
        admin_token="t",
        auth_failures_burst=5,
        auth_failures_per_minute=1,
    )
    server, thread = start_server(settings)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{settings.port}") as client:
            created = client.post(
                "/admin/v1/projects",
                headers={"authorization": f"Bearer {settings.admin_token}"},
                json={"name": "f", "base": "IMAGE"},
            )
            assert created.status_code == 200, created.text
            project = created.json()["data"]
            url = f"/v1/projects/{project['project_id']}/stats"
            # Every guess is a new credential: only the address ties them together.
            guesses = [client.get(url, headers={"x-api-key": f"ly_guess{i}"}) for i in range(6)]
            assert [g.status_code for g in guesses] == [401] * 5 + [429]
            assert guesses[5].json()["error"]["code"] == "rate_limited"
            assert int(guesses[5].headers["retry-after"]) >= 1
            # Held back now, even with the right key; requests without a credential are not.
            held = client.get(url, headers={"x-api-key": project["api_key"]})
            assert held.status_code == 429
            assert client.get("/healthz").status_code == 200
    finally:
        server.should_exit = True
        thread.join(timeout=30)
