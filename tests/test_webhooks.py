"""Events out: the outbox and change feed, webhook endpoints, signed deliveries with retries."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import random
import time
from collections.abc import Callable
from typing import Any

import httpx

from labelyard.config import Settings
from labelyard.outbound import Outbound, OutboundPolicy, outbound_from_settings
from labelyard.secretbox import secret_box
from labelyard.services import deliveries
from labelyard.store.engine import Database
from labelyard.worker import webhooks as delivery
from tests.conftest import ProjectHandle, Server, WorkerHandle
from tests.receiver import Received, receiver

NewProject = Callable[..., ProjectHandle]
NewWorker = Callable[..., WorkerHandle]


def data_of(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()["data"]


def run_worker(
    server: Server, until: Callable[[], bool], *, timeout: float = 30, **overrides: Any
) -> Settings:
    """Run webhook rounds of an in-process worker until ``until()`` (fast retries)."""
    settings = server.settings.model_copy(
        update={"webhook_retry_base_seconds": 0.05, "webhook_timeout_seconds": 5} | overrides
    )

    async def main() -> None:
        db = Database(settings.resolved_database_url(), pool_size=2)
        rng = random.Random(7)
        outbound = outbound_from_settings(settings)
        try:
            deadline = time.monotonic() + timeout
            while not until():
                assert time.monotonic() < deadline, "worker: condition not met in time"
                busy = await deliveries.fan_out(db)
                busy += await delivery.deliver_due(
                    db, outbound, secret_box(settings), settings, rng
                )
                if not busy:
                    await asyncio.sleep(0.02)
        finally:
            await outbound.aclose()
            await db.dispose()

    asyncio.run(main())
    return settings


def verify(secret: str, request: Received) -> bool:
    """Check a Standard Webhooks signature as a receiver would."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{request.headers['webhook-id']}.{request.headers['webhook-timestamp']}.".encode()
    expected = base64.b64encode(hmac.new(key, signed + request.body, hashlib.sha256).digest())
    return request.headers["webhook-signature"] == "v1," + expected.decode()


def hook(p: ProjectHandle, url: str, types: list[str] | None = None) -> dict[str, Any]:
    body = {"url": url, "event_types": types or ["job.created"]}
    created: dict[str, Any] = data_of(
        p.api.post(f"/v1/projects/{p.project_id}/webhooks", json=body)
    )
    return created


def feed(p: ProjectHandle, since: str = "", limit: int = 1000) -> dict[str, Any]:
    params = {"limit": str(limit), **({"since": since} if since else {})}
    page: dict[str, Any] = data_of(p.api.get(f"/v1/projects/{p.project_id}/changes", params=params))
    return page


def test_receiver_failing_three_times_gets_the_event_once_more_signed(
    server: Server, project: ProjectHandle
) -> None:
    with receiver(lambda _r, i: (500 if i < 3 else 200, 0)) as rx:
        endpoint = hook(project, rx.url)
        created = data_of(
            project.api.post(f"/v1/projects/{project.project_id}/jobs", json=project.job("w1"))
        )
        run_worker(server, lambda: len(rx.requests) >= 4)
        time.sleep(0.3)
        run_worker(server, lambda: True)  # one more round: nothing else may be sent
    assert len(rx.requests) == 4
    ids = {r.headers["webhook-id"] for r in rx.requests}
    assert len(ids) == 1  # the same event every time
    last = rx.requests[-1]
    assert verify(endpoint["secret"], last)
    body = last.json
    assert body["type"] == "job.created" and body["id"] == ids.pop()
    assert body["data"]["job_id"] == created["job_id"]
    attempts = data_of(
        project.api.get(f"/v1/projects/{project.project_id}/webhooks/{endpoint['id']}/attempts")
    )["attempts"]
    assert [a["status_code"] for a in attempts] == [200, 500, 500, 500]
    assert all(a["latency_ms"] >= 0 for a in attempts) and attempts[0]["response_snippet"] == "ok"
    delivered = data_of(
        project.api.get(f"/v1/projects/{project.project_id}/webhooks/{endpoint['id']}/deliveries")
    )["deliveries"]
    assert [(d["status"], d["attempts"]) for d in delivered] == [("succeeded", 4)]


def test_410_is_not_retried_and_failed_deliveries_can_be_sent_again(
    server: Server, project: ProjectHandle
) -> None:
    answers = {"status": 410}
    with receiver(lambda _r, _i: (answers["status"], 0)) as rx:
        endpoint = hook(project, rx.url)
        project.api.post(f"/v1/projects/{project.project_id}/jobs", json=project.job("gone"))
        url = f"/v1/projects/{project.project_id}/webhooks/{endpoint['id']}"

        def failed() -> bool:
            found = data_of(project.api.get(f"{url}/deliveries", params={"status": "failed"}))
            return bool(found["deliveries"])

        run_worker(server, failed)
        run_worker(server, lambda: True)
        assert len(rx.requests) == 1
        answers["status"] = 204
        assert data_of(project.api.post(f"{url}/redeliver", json={"failed": True}))["queued"] == 1
        run_worker(server, lambda: len(rx.requests) == 2)
        event_id = rx.requests[0].headers["webhook-id"]
        data_of(project.api.post(f"{url}/redeliver", json={"event_id": event_id}))
        run_worker(server, lambda: len(rx.requests) == 3)
    assert {r.headers["webhook-id"] for r in rx.requests} == {event_id}


def test_endpoint_failing_for_too_long_is_disabled(server: Server, project: ProjectHandle) -> None:
    with receiver(lambda _r, _i: (503, 0)) as rx:
        endpoint = hook(project, rx.url)
        url = f"/v1/projects/{project.project_id}/webhooks/{endpoint['id']}"
        for i in range(3):
            project.api.post(f"/v1/projects/{project.project_id}/jobs", json=project.job(f"d{i}"))

        def disabled() -> bool:
            return not data_of(project.api.get(url))["enabled"]

        run_worker(server, disabled, webhook_disable_after_seconds=0.3, webhook_max_attempts=50)
    shown = data_of(project.api.get(url))
    assert shown["enabled"] is False and "failed since" in shown["disabled_reason"]
    assert shown["failing_since"]
    enabled = data_of(project.api.patch(url, json={"enabled": True}))
    assert enabled["enabled"] is True and enabled["disabled_reason"] == ""


def test_endpoint_management(server: Server, project: ProjectHandle) -> None:
    base = f"/v1/projects/{project.project_id}/webhooks"
    created = hook(project, "https://hooks.example/a", ["job.completed", "batch.completed"])
    assert created["secret"].startswith("whsec_")
    listed = data_of(project.api.get(base))["webhooks"]
    assert [w["id"] for w in listed] == [created["id"]] and "secret" not in listed[0]
    changed = data_of(
        project.api.patch(
            f"{base}/{created['id']}", json={"event_types": ["*"], "description": "all"}
        )
    )
    assert changed["event_types"] == ["*"] and changed["description"] == "all"
    rotated = data_of(project.api.post(f"{base}/{created['id']}/rotate"))
    assert rotated["secret"] != created["secret"]
    for bad in (
        {"url": "ftp://x.example/"},
        {"url": "https://x.example", "event_types": ["job.eaten"]},
        {"url": "https://x.example", "event_types": []},
        {"url": 5},
    ):
        response = project.api.post(base, json=bad)
        assert response.status_code == 400 and response.json()["error"]["code"] == "GE_0001"
    assert project.api.post(base, json={}).json()["error"]["code"] == "GE_0002"
    assert data_of(project.api.delete(f"{base}/{created['id']}"))["deleted"] is True
    assert project.api.get(f"{base}/{created['id']}").status_code == 404


def test_webhooks_of_another_account_are_out_of_reach(
    new_project: NewProject, project: ProjectHandle
) -> None:
    created = hook(project, "https://hooks.example/a")
    stranger = new_project(name="stranger")
    for response in (
        stranger.api.get(f"/v1/projects/{project.project_id}/webhooks"),
        stranger.api.get(f"/v1/projects/{project.project_id}/webhooks/{created['id']}"),
        stranger.api.get(f"/v1/projects/{project.project_id}/changes"),
    ):
        assert response.status_code == 403
    own = stranger.api.get(f"/v1/projects/{stranger.project_id}/webhooks/{created['id']}")
    assert own.status_code == 404


def test_change_feed_from_any_token_is_a_suffix_of_the_whole_feed(project: ProjectHandle) -> None:
    url = f"/v1/projects/{project.project_id}/jobs/bulk"
    project.api.post(url, json={"jobs": [project.job(f"f{i}") for i in range(12)]})
    project.api.post(url, json={"jobs": [project.job("f0")]})  # a replay emits nothing
    whole: list[dict[str, Any]] = []
    tokens = [""]
    while True:
        page = feed(project, tokens[-1], limit=5)
        whole += page["events"]
        if not page["events"]:
            break
        tokens.append(page["next_token"])
    assert [e["type"] for e in whole] == ["job.created"] * 12
    assert [e["data"]["reference_id"] for e in whole] == [f"f{i}" for i in range(12)]
    for i, token in enumerate(tokens):
        rest: list[dict[str, Any]] = []
        since = token
        while True:
            page = feed(project, since, limit=3)
            if not page["events"]:
                assert page["next_token"] == (since or page["next_token"])
                break
            rest += page["events"]
            since = page["next_token"]
        assert rest == whole[min(i * 5, len(whole)) :]
    bad = project.api.get(f"/v1/projects/{project.project_id}/changes", params={"since": "x"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_request_error"


def test_lifecycle_events_and_the_legacy_callback(
    server: Server, project: ProjectHandle, new_worker: NewWorker
) -> None:
    pid = project.project_id
    batch = data_of(project.api.post(f"/v1/projects/{pid}/batch", json={"name": "cb"}))["batch_id"]
    with receiver(lambda _r, _i: (200, 0)) as rx:
        set_to = data_of(
            project.api.put(f"/v1/projects/{pid}/callback", json={"callback_url": rx.url})
        )
        assert set_to["callback_url"] == rx.url and set_to["secret"].startswith("whsec_")
        shown = data_of(project.api.get(f"/v1/projects/{pid}/callback"))
        assert "secret" not in shown  # shown once
        job_id = data_of(
            project.api.post(f"/v1/projects/{pid}/jobs", json=project.job("cb1", batch_id=batch))
        )["job_id"]
        worker = new_worker(project.account_id)
        base = f"/work/v1/projects/{pid}"
        worker.api.post(f"{base}/claim", json={"step": "annotate"})
        worker.api.post(f"{base}/jobs/{job_id}/submit", json={"annotations": {}})
        worker.api.post(f"{base}/claim", json={"step": "review"})
        data_of(worker.api.post(f"{base}/jobs/{job_id}/review", json={"decision": "accept"}))
        run_worker(server, lambda: len(rx.requests) >= 1)
    result = data_of(project.api.get(f"/v1/projects/{pid}/jobs/{job_id}"))["result"]
    assert verify(set_to["secret"], rx.requests[0])
    assert rx.requests[0].json == {
        "annotations": [
            {
                "reference_id": "cb1",
                "job_id": job_id,
                "status": "COMPLETED",
                "tag": "default",
                "result": result,
            }
        ]
    }
    events = [(e["type"], e["data"].get("status")) for e in feed(project)["events"]]
    assert events == [
        ("job.created", "created"),
        ("job.status_changed", "in_progress"),
        ("job.status_changed", "completed"),
        ("job.completed", "completed"),
        ("batch.completed", None),
    ]
    assert (
        data_of(project.api.put(f"/v1/projects/{pid}/callback", json={"callback_url": ""}))[
            "callback_url"
        ]
        == ""
    )


def _attempts(p: ProjectHandle, endpoint: dict[str, Any]) -> list[dict[str, Any]]:
    url = f"/v1/projects/{p.project_id}/webhooks/{endpoint['id']}/attempts"
    found: list[dict[str, Any]] = data_of(p.api.get(url))["attempts"]
    return found


def test_private_receivers_need_the_allow_list_and_the_metadata_address_never_works(
    server: Server, project: ProjectHandle
) -> None:
    with receiver(lambda _r, _i: (200, 0)) as rx:
        port = rx.url.rsplit(":", 1)[1].split("/")[0]
        by_name = hook(project, f"http://localhost:{port}/named")
        by_address = hook(project, rx.url)
        metadata = hook(project, "http://169.254.169.254/latest/meta-data/")
        project.api.post(f"/v1/projects/{project.project_id}/jobs", json=project.job("allow"))

        def settled() -> bool:
            return all(_attempts(project, e) for e in (by_name, by_address, metadata))

        # "localhost" is allowed, not 127.0.0.1 by address; link-local, but never the metadata.
        run_worker(
            server,
            settled,
            webhooks_allow_private=False,
            outbound_allow="localhost,169.254.0.0/16",
        )
        assert [r.path for r in rx.requests] == ["/named"]
        assert rx.requests[0].headers["host"] == f"localhost:{port}"
    assert _attempts(project, by_name)[0]["status_code"] == 200
    refused = _attempts(project, by_address)[0]
    assert refused["status_code"] is None and "not allowed" in refused["error"]
    never = _attempts(project, metadata)[0]
    assert "never allowed" in never["error"]
    url = f"/v1/projects/{project.project_id}/webhooks"
    for endpoint in (by_address, metadata):
        deliveries = data_of(project.api.get(f"{url}/{endpoint['id']}/deliveries"))["deliveries"]
        assert [(d["status"], d["attempts"]) for d in deliveries] == [("failed", 1)]


def test_attempts_show_only_a_short_excerpt_of_the_answer(
    server: Server, project: ProjectHandle
) -> None:
    answer = "internal secret page " * 1000

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text=answer)

    endpoint = hook(project, "http://localhost:9/internal")
    project.api.post(f"/v1/projects/{project.project_id}/jobs", json=project.job("excerpt"))
    settings = server.settings
    outbound = Outbound(
        OutboundPolicy(allow=("localhost",)), transport=httpx.MockTransport(handler)
    )

    async def main() -> None:
        db = Database(settings.resolved_database_url(), pool_size=2)
        try:
            for _ in range(50):
                await deliveries.fan_out(db)
                if await delivery.deliver_due(
                    db, outbound, secret_box(settings), settings, random.Random(1)
                ):
                    break
                await asyncio.sleep(0.02)
        finally:
            await outbound.aclose()
            await db.dispose()

    asyncio.run(main())
    (attempt,) = _attempts(project, endpoint)
    assert attempt["status_code"] == 200
    assert (
        answer.startswith(attempt["response_snippet"]) and len(attempt["response_snippet"]) == 200
    )


def stored_secrets(server: Server) -> list[str]:
    """Every endpoint's signing secret as the database holds it."""
    from sqlalchemy import text

    async def read() -> list[str]:
        db = Database(server.settings.resolved_database_url(), pool_size=1)
        try:
            async with db.read() as conn:
                return [
                    row[0]
                    for row in await conn.execute(text("SELECT secret FROM webhook_endpoint"))
                ]
        finally:
            await db.dispose()

    return asyncio.run(read())


def test_signing_secrets_are_stored_sealed_and_deliveries_are_still_signed(
    server: Server, project: ProjectHandle
) -> None:
    with receiver(lambda _r, _i: (200, 0)) as rx:
        endpoint = hook(project, rx.url)
        rotated = data_of(
            project.api.post(f"/v1/projects/{project.project_id}/webhooks/{endpoint['id']}/rotate")
        )
        callback = data_of(
            project.api.put(
                f"/v1/projects/{project.project_id}/callback", json={"callback_url": rx.url}
            )
        )
        stored = stored_secrets(server)
        for shown in (endpoint["secret"], rotated["secret"], callback["secret"]):
            assert shown.startswith("whsec_")
            assert all(shown not in value for value in stored)
        assert not any(value.startswith("whsec_") for value in stored)
        project.api.post(f"/v1/projects/{project.project_id}/jobs", json=project.job("sealed"))
        run_worker(server, lambda: len(rx.requests) >= 1)
    assert verify(rotated["secret"], rx.requests[0])


def test_secrets_stored_plainly_by_an_older_version_are_sealed(server: Server) -> None:
    from sqlalchemy import text

    from labelyard.secretbox import secret_box
    from labelyard.services.webhooks import seal_plain_secrets, signing_secret

    plain = "whsec_" + base64.b64encode(b"k" * 24).decode()

    async def run() -> tuple[int, str]:
        db = Database(server.settings.resolved_database_url(), pool_size=1)
        box = secret_box(server.settings)
        try:
            async with db.write() as conn:
                await conn.execute(text("UPDATE webhook_endpoint SET secret = :s"), {"s": plain})
            sealed = await seal_plain_secrets(db, box)
            async with db.read() as conn:
                row = (await conn.execute(text("SELECT secret FROM webhook_endpoint"))).first()
            assert row is not None
            return sealed, signing_secret(box, row[0])
        finally:
            await db.dispose()

    project_count = len(stored_secrets(server))
    sealed, opened = asyncio.run(run())
    assert sealed == project_count and opened == plain
    assert all(not value.startswith("whsec_") for value in stored_secrets(server))
