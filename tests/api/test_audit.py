"""The audit log: an entry for every admin and owner action, in the action's transaction, with
who, what, when and from where; nothing secret in it; one account never sees another's."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import delete, update
from sqlalchemy.exc import DBAPIError

from labelyard.config import Settings
from labelyard.store.engine import Database
from labelyard.store.tables import audit_entry
from tests.conftest import ProjectHandle, Server, free_port, make_project, start_server

SCHEMA = {"classes": [{"name": "car", "geometry": "rectangle"}]}


def entries(client: httpx.Client, path: str, **params: str) -> list[dict[str, Any]]:
    """Every entry at ``path``, following page tokens."""
    found: list[dict[str, Any]] = []
    token = ""
    while True:
        answer = client.get(path, params={**params, "page_token": token})
        assert answer.status_code == 200, answer.text
        data = answer.json()["data"]
        found += data["entries"]
        token = data["next_page_token"]
        if not token:
            return found


def run_every_action(server: Server, admin: httpx.Client) -> tuple[ProjectHandle, set[str]]:
    """Every audited action once, through the API; the project and every secret handed out."""
    secret_values: set[str] = set()
    project = make_project(server, name="audited")
    secret_values.add(project.api_key)
    pid, account = project.project_id, project.account_id
    key = admin.post(f"/admin/v1/accounts/{account}/keys").json()["data"]
    secret_values.add(key["api_key"])
    assert admin.post(f"/admin/v1/keys/{key['key_id']}/revoke").status_code == 200
    assert admin.post(
        f"/admin/v1/projects/{pid}/workflows", json={"name": "one step", "steps": ["annotate"]}
    ).is_success
    assert admin.put(f"/admin/v1/projects/{pid}/schema", json=SCHEMA).status_code == 200
    worker = admin.post(
        f"/admin/v1/accounts/{account}/workers", json={"name": "ann", "role": "both"}
    ).json()["data"]
    secret_values.add(worker["token"])
    password = "correct horse " + secrets.token_hex(8)
    secret_values.add(password)
    login = {"username": f"ann-{secrets.token_hex(4)}", "password": password}
    assert admin.put(f"/admin/v1/workers/{worker['worker_id']}/login", json=login).is_success
    assert admin.post(f"/admin/v1/workers/{worker['worker_id']}/revoke").is_success

    storage_secret = secrets.token_hex(12)
    secret_values.add(storage_secret)
    connection = admin.post(
        f"/admin/v1/accounts/{account}/storage",
        json={
            "scheme": "s3",
            "endpoint_url": "https://s3.example.com",
            "region": "eu-west-1",
            "bucket_prefix": "frames/",
            "access_key_id": "AKIDAUDIT",
            "secret_access_key": storage_secret,
        },
    )
    assert connection.status_code == 200, connection.text
    connection_id = connection.json()["data"]["connection_id"]
    assert admin.delete(f"/admin/v1/accounts/{account}/storage/{connection_id}").is_success

    api = project.api
    batch = api.post(f"/v1/projects/{pid}/batch", json={"name": "b1"}).json()["data"]
    job = api.post(f"/v1/projects/{pid}/jobs", json=project.job("a1")).json()["data"]
    other = api.post(
        f"/v1/projects/{pid}/jobs", json=project.job("a2", batch_id=batch["batch_id"])
    ).json()["data"]
    assert api.post(
        f"/v1/projects/{pid}/jobs/{job['job_id']}/priority", json={"priority_weight": 9}
    ).is_success
    assert api.post(f"/v1/projects/{pid}/jobs/{job['job_id']}/abort").is_success
    assert api.post(
        f"/v1/projects/{pid}/jobs/{job['job_id']}/reopen", json={"step": "annotate"}
    ).is_success
    assert api.post(f"/v1/projects/{pid}/batch/{batch['batch_id']}/abort").is_success
    assert other["job_id"]
    base = f"/v1/projects/{pid}"
    assert api.patch(f"{base}/quality", json={"allow_self_review": True}).is_success
    group = api.post(f"{base}/groups", json={"name": "night shift"}).json()["data"]["group_id"]
    member = admin.post(
        f"/admin/v1/accounts/{account}/workers", json={"name": "m", "role": "both"}
    ).json()["data"]
    secret_values.add(member["token"])
    members = {"worker_ids": [member["worker_id"]]}
    assert api.put(f"{base}/groups/{group}/members", json=members).is_success
    assign = {"worker_id": member["worker_id"]}
    assert api.post(f"{base}/jobs/{job['job_id']}/assign", json=assign).is_success
    assert api.post(f"{base}/batch/{project.default_batch_id}/assign", json={}).is_success
    assert api.delete(f"{base}/groups/{group}").is_success
    hook_token = secrets.token_hex(8)
    secret_values.add(hook_token)
    hook = api.post(
        f"/v1/projects/{pid}/webhooks",
        json={"url": f"https://user:{hook_token}@hooks.example/in?token={hook_token}"},
    ).json()["data"]
    secret_values.add(hook["secret"])
    hooks = f"/v1/projects/{pid}/webhooks/{hook['id']}"
    assert api.patch(hooks, json={"enabled": False, "description": "paused"}).is_success
    rotated = api.post(f"{hooks}/rotate").json()["data"]
    secret_values.add(rotated["secret"])
    assert api.post(f"{hooks}/redeliver", json={"failed": True}).is_success
    assert api.delete(hooks).is_success
    callback = api.put(
        f"/v1/projects/{pid}/callback", json={"callback_url": "https://cb.example/done"}
    ).json()["data"]
    secret_values.add(callback["secret"])
    return project, secret_values


EXPECTED = {
    # action: (actor kind, target type)
    "account.create": ("admin", "account"),
    "project.create": ("admin", "project"),
    "key.create": ("admin", "api_key"),
    "key.revoke": ("admin", "api_key"),
    "workflow.create": ("admin", "workflow"),
    "schema.set": ("admin", "project"),
    "worker.create": ("admin", "worker"),
    "worker.set_login": ("admin", "worker"),
    "worker.revoke": ("admin", "worker"),
    "storage.add": ("admin", "storage_connection"),
    "storage.remove": ("admin", "storage_connection"),
    "batch.create": ("api_key", "batch"),
    "quality.update": ("api_key", "project"),
    "group.create": ("api_key", "group"),
    "group.set_members": ("api_key", "group"),
    "group.delete": ("api_key", "group"),
    "job.assign": ("api_key", "job"),
    "batch.assign": ("api_key", "batch"),
    "job.priority": ("api_key", "job"),
    "job.abort": ("api_key", "job"),
    "job.reopen": ("api_key", "job"),
    "batch.abort": ("api_key", "batch"),
    "webhook.create": ("api_key", "webhook"),
    "webhook.update": ("api_key", "webhook"),
    "webhook.rotate_secret": ("api_key", "webhook"),
    "webhook.redeliver": ("api_key", "webhook"),
    "webhook.delete": ("api_key", "webhook"),
    "callback.set": ("api_key", "webhook"),
}


@pytest.fixture
def audited(server: Server, admin: httpx.Client) -> Iterator[tuple[ProjectHandle, set[str]]]:
    project, secret_values = run_every_action(server, admin)
    yield project, secret_values
    project.api.close()


def test_every_admin_and_owner_action_has_an_entry(
    audited: tuple[ProjectHandle, set[str]],
) -> None:
    project, _ = audited
    log = entries(project.api, f"/v1/projects/{project.project_id}/audit", limit="3")
    actions = [entry["action"] for entry in log]
    assert set(actions) == set(EXPECTED)
    # The account's first key, the project's, and the one revoked.
    assert actions.count("key.create") == 3
    assert log == sorted(log, key=lambda e: e["created_at"], reverse=True)
    for entry in log:
        kind, target = EXPECTED[entry["action"]]
        assert entry["actor"]["kind"] == kind
        assert entry["actor"]["address"] == "127.0.0.1"
        assert entry["target"]["type"] == target
        assert entry["target"]["id"]
        assert entry["account_id"] == project.account_id
        if kind == "api_key":
            assert entry["project_id"] == project.project_id
    key_ids = {e["actor"]["id"] for e in log if e["actor"]["kind"] == "api_key"}
    created = [e["target"]["id"] for e in log if e["action"] == "key.create"]
    assert key_ids == {created[-2]}  # the project's key acted, named by its id
    priority = next(e for e in log if e["action"] == "job.priority")
    assert priority["summary"] == {"reference_id": "a1", "previous": 5, "priority_weight": 9}


def test_no_secret_is_ever_in_the_log(
    audited: tuple[ProjectHandle, set[str]], admin: httpx.Client
) -> None:
    project, secret_values = audited
    text = orjson.dumps(entries(admin, "/admin/v1/audit", account_id=project.account_id))
    for value in secret_values:
        assert value.encode() not in text
    webhook = next(
        e
        for e in entries(admin, "/admin/v1/audit", account_id=project.account_id)
        if e["action"] == "webhook.create"
    )
    assert webhook["summary"]["url"] == "https://hooks.example/in"


def test_another_account_never_sees_the_entries(
    audited: tuple[ProjectHandle, set[str]], server: Server
) -> None:
    project, _ = audited
    stranger = make_project(server, name="stranger")
    with stranger.api:
        own = entries(stranger.api, f"/v1/projects/{stranger.project_id}/audit")
        assert {e["account_id"] for e in own} == {stranger.account_id}
        ids = {e["id"] for e in entries(project.api, f"/v1/projects/{project.project_id}/audit")}
        assert not ids & {e["id"] for e in own}
        foreign = stranger.api.get(f"/v1/projects/{project.project_id}/audit")
        assert foreign.status_code == 403
        assert foreign.json()["error"]["code"] == "unauthorized"
        # A page token of one project's log is refused on another's.
        token = project.api.get(
            f"/v1/projects/{project.project_id}/audit", params={"limit": "1"}
        ).json()["data"]["next_page_token"]
        other_page = stranger.api.get(
            f"/v1/projects/{stranger.project_id}/audit", params={"page_token": token}
        )
        assert other_page.status_code == 400
        assert other_page.json()["error"]["code"] == "invalid_request_error"


def test_the_admin_log_needs_the_admin_token(server: Server, project: ProjectHandle) -> None:
    with server.client(**{"x-api-key": project.api_key}) as owner:
        assert owner.get("/admin/v1/audit").status_code == 401
    with server.admin() as admin:
        assert admin.get("/admin/v1/audit", params={"account_id": "x"}).status_code == 400


def test_a_refused_action_writes_no_entry(server: Server, project: ProjectHandle) -> None:
    pid = project.project_id
    before = entries(project.api, f"/v1/projects/{pid}/audit")
    bad = project.api.post(f"/v1/projects/{pid}/jobs/{'0' * 8}-0000-0000-0000-{'0' * 12}/abort")
    assert bad.status_code == 404
    assert project.api.post(f"/v1/projects/{pid}/batch", json={"name": ""}).status_code == 400
    assert entries(project.api, f"/v1/projects/{pid}/audit") == before


def test_the_log_is_append_only_in_the_database(
    server: Server, audited: tuple[ProjectHandle, set[str]]
) -> None:
    project, _ = audited

    async def tamper(statement: Any) -> None:
        db = Database(server.settings.resolved_database_url(), pool_size=1)
        try:
            async with db.write() as conn:
                await conn.execute(statement)
        finally:
            await db.dispose()

    mine = audit_entry.c.account_id == project.account_id
    for statement in (
        update(audit_entry).where(mine).values(action="nothing"),
        delete(audit_entry).where(mine),
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            asyncio.run(tamper(statement))


def test_a_forged_forwarded_address_is_ignored(server: Server, project: ProjectHandle) -> None:
    pid = project.project_id
    project.api.post(
        f"/v1/projects/{pid}/batch", json={"name": "f"}, headers={"x-forwarded-for": "203.0.113.9"}
    )
    latest = project.api.get(f"/v1/projects/{pid}/audit", params={"limit": "1"}).json()["data"]
    assert latest["entries"][0]["actor"]["address"] == "127.0.0.1"


def test_a_trusted_proxy_forwards_the_client_address(tmp_path: Any) -> None:
    settings = Settings(
        data_dir=tmp_path,
        admin_token=secrets.token_urlsafe(16),
        port=free_port(),
        trusted_proxies="127.0.0.1",
    )
    uv, thread = start_server(settings)
    try:
        server = Server("sqlite", f"http://127.0.0.1:{settings.port}", settings)
        project = make_project(server, name="proxied")
        with project.api:
            pid = project.project_id
            project.api.post(
                f"/v1/projects/{pid}/batch",
                json={"name": "p"},
                headers={"x-forwarded-for": "203.0.113.9"},
            )
            log = project.api.get(f"/v1/projects/{pid}/audit", params={"limit": "1"})
            assert log.json()["data"]["entries"][0]["actor"]["address"] == "203.0.113.9"
    finally:
        uv.should_exit = True
        thread.join(timeout=30)
