"""The batch page and one job's GET, which check the key in the statement that reads
(``store.keyed``): the same bytes as the reads after ``authorize``, the same errors in the same
order."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import orjson
import pytest

from labelyard.blobs.config import from_settings as blob_store
from labelyard.core.model import Base, Project
from labelyard.services import batches, jobs
from labelyard.store.engine import Database
from labelyard.store.secrets import get_or_create_secret
from tests.conftest import ProjectHandle, Server

NewProject = Callable[..., ProjectHandle]
PATHS = ("/v1/projects", "/v0/projects")


def _as_reads_after_authorize(
    server: Server, project: ProjectHandle, calls: list[Any]
) -> list[Any]:
    """What ``services.batches.list_batch_jobs`` / ``services.jobs.get_job`` (the reads that take
    an authorised ``Project``) answer for ``calls``, on the server's database."""

    async def run() -> list[Any]:
        db = Database(server.settings.resolved_database_url(), pool_size=1)
        try:
            async with db.write() as conn:
                key = await get_or_create_secret(
                    conn, name="page_token_key", factory=lambda: secrets.token_hex(32)
                )
            owner = Project(
                id=project.project_id, account_id=project.account_id, name="test", base=Base.IMAGE
            )
            base_url = server.settings.resolved_public_base_url()
            answers = []
            for call in calls:
                if call[0] == "page":
                    answers.append(
                        await batches.list_batch_jobs(
                            db,
                            owner,
                            batch_id=call[1],
                            page_token=call[2].get("page_token"),
                            limit=call[2].get("limit"),
                            status=call[2].get("status"),
                            token_key=bytes.fromhex(key),
                            base_url=base_url,
                        )
                    )
                else:
                    blobs = blob_store(server.settings)
                    answers.append(
                        await jobs.get_job(db, blobs, owner, job_id=call[1], base_url=base_url)
                    )
            return answers
        finally:
            await db.dispose()

    return asyncio.run(run())


def _walk(
    api: httpx.Client, url: str, params: dict[str, str]
) -> list[tuple[dict[str, str], bytes]]:
    """Every page of a walk: the parameters asked with and the body answered."""
    pages = []
    while True:
        reply = api.get(url, params=params)
        assert reply.status_code == 200, reply.text
        pages.append((dict(params), reply.content))
        token = orjson.loads(reply.content)["data"]["next_page_token"]
        if not token:
            return pages
        params = {**params, "page_token": token}


def test_pages_and_jobs_are_the_bytes_of_the_reads_after_authorize(
    server: Server, project: ProjectHandle
) -> None:
    pid = project.project_id
    items = [project.job(f'ref-{i} ü"\\', priority_weight=i % 10 + 1) for i in range(23)]
    results = project.api.post(f"/v1/projects/{pid}/jobs/bulk", json={"jobs": items})
    created = [r["job_id"] for r in results.json()["data"]["results"]]
    for job_id in created[::4]:
        assert project.api.post(f"/v1/projects/{pid}/jobs/{job_id}/abort").status_code == 200
    empty = project.api.post(f"/v1/projects/{pid}/batch", json={"name": "empty"})
    batch_ids = [project.default_batch_id, empty.json()["data"]["batch_id"]]

    walks = []
    for batch_id in batch_ids:
        url = f"/v1/projects/{pid}/batch/{batch_id}"
        for params in (
            {},
            {"limit": "5"},
            {"limit": "1", "status": "aborted"},
            {"limit": "7", "status": "created,aborted"},
            {"status": ""},
        ):
            walks += [(batch_id, asked, body) for asked, body in _walk(project.api, url, params)]
    calls: list[Any] = [("page", batch_id, asked) for batch_id, asked, _ in walks]
    calls += [("job", job_id) for job_id in created[:6]]
    expected = _as_reads_after_authorize(server, project, calls)

    assert len(orjson.loads(walks[0][2])["data"]["jobs"]) == 23
    for (batch_id, asked, body), data in zip(walks, expected, strict=False):
        assert body == orjson.dumps({"success": True, "data": data}), asked
        reply = project.api.get(f"/v0/projects/{pid}/batch/{batch_id}", params=asked)
        assert reply.content == body
    for job_id, data in zip(created[:6], expected[len(walks) :], strict=True):
        for path in PATHS:
            reply = project.api.get(f"{path}/{pid}/jobs/{job_id}")
            assert reply.content == orjson.dumps({"success": True, "data": data})
            assert reply.headers["content-type"] == "application/json"


def _error(reply: httpx.Response) -> tuple[int, str]:
    body = reply.json()
    assert body["success"] is False and body["error"]["message"]
    return reply.status_code, body["error"]["code"]


def test_errors_come_in_the_order_of_the_key_check(
    server: Server, project: ProjectHandle, new_project: NewProject, admin: httpx.Client
) -> None:
    stranger = new_project(name="stranger")
    pid, bid = project.project_id, project.default_batch_id
    job_id = project.api.post(f"/v1/projects/{pid}/jobs", json=project.job("one")).json()
    job_id = job_id["data"]["job_id"]
    keys = _every_kind_of_key(project, stranger.api_key, admin)
    bad_inputs = {
        "fine": ("", {}),
        "batch id": ("not-a-uuid", {}),
        "limit": ("", {"limit": "0"}),
        "status": ("", {"status": "sleeping"}),
        "token": ("", {"page_token": "garbage"}),
        "no batch": (str(uuid.uuid4()), {}),
        "other project's batch": (stranger.default_batch_id, {}),
    }
    projects = {"own": pid, "malformed": "not-a-uuid", "unknown": str(uuid.uuid4())}
    with server.client() as client:
        for key_name, key in keys.items():
            headers = {"x-api-key": key} if key is not None else {}
            for project_name, project_id in projects.items():
                for input_name, (batch, params) in bad_inputs.items():
                    url = f"/v1/projects/{project_id}/batch/{batch or bid}"
                    reply = client.get(url, params=params, headers=headers)
                    expected = _expected(key_name, project_name, input_name)
                    where = (key_name, project_name, input_name)
                    if expected == (200, ""):
                        assert reply.status_code == 200, where
                    else:
                        assert _error(reply) == expected, where
                for job, input_name in (
                    (job_id, "fine"),
                    ("12", "job id"),
                    (str(uuid.uuid4()), "no job"),
                ):
                    reply = client.get(f"/v0/projects/{project_id}/jobs/{job}", headers=headers)
                    expected = _expected(key_name, project_name, input_name)
                    where = (key_name, project_name, input_name)
                    if expected == (200, ""):
                        assert reply.json()["data"]["job_id"] == job_id, where
                    else:
                        assert _error(reply) == expected, where


def _expected(key: str, project: str, given: str) -> tuple[int, str]:
    """authorize's refusals first (401, then 400 for a malformed project id, then 403), then the
    read's own (400 for malformed input, 404 for what the project does not have)."""
    if key in ("none", "unknown", "revoked"):
        return 401, "auth-failure"
    if project == "malformed":
        return 400, "GE_0001"
    if key == "stranger" or project == "unknown":
        return 403, "unauthorized"
    if given == "fine":
        return 200, ""
    if given in ("no workflow", "stranger's workflow"):
        return 400, "FS_0005"
    if given == "not json":
        return 400, "GE_0001"
    if given in ("no batch", "other project's batch", "no job"):
        return 404, "resource_error"
    if given == "token":
        return 400, "invalid_request_error"
    return 400, "GE_0001"


@pytest.mark.parametrize("path", ["batch", "job"])
def test_a_key_revoked_is_refused_on_its_next_read(
    server: Server, project: ProjectHandle, admin: httpx.Client, path: str
) -> None:
    pid = project.project_id
    job_id = project.api.post(f"/v1/projects/{pid}/jobs", json=project.job("one")).json()
    url = {
        "batch": f"/v1/projects/{pid}/batch/{project.default_batch_id}",
        "job": f"/v1/projects/{pid}/jobs/{job_id['data']['job_id']}",
    }[path]
    key = admin.post(f"/admin/v1/accounts/{project.account_id}/keys").json()["data"]
    with server.client(**{"x-api-key": key["api_key"]}) as second:
        for _ in range(3):
            assert second.get(url).status_code == 200
        admin.post(f"/admin/v1/keys/{key['key_id']}/revoke").raise_for_status()
        assert _error(second.get(url)) == (401, "auth-failure")
    assert project.api.get(url).status_code == 200


def test_creates_check_the_key_before_the_body_and_name_workflows_as_before(
    server: Server, project: ProjectHandle, new_project: NewProject, admin: httpx.Client
) -> None:
    # A create reads the key, the project and its workflows in one statement: its refusals
    # still come first (401, 400 for a malformed project id, 403), then the body's own.
    stranger = new_project(name="stranger")
    pid = project.project_id
    quick = admin.post(
        f"/admin/v1/projects/{pid}/workflows",
        json={"name": "Quick", "tag": "quick", "steps": ["annotate"]},
    ).json()["data"]
    keys = _every_kind_of_key(project, stranger.api_key, admin)
    projects = {"own": pid, "malformed": "not-a-uuid", "unknown": str(uuid.uuid4())}
    bodies: dict[str, bytes] = {
        "fine": orjson.dumps(project.job("fine")),
        "not json": b"{not json",
        "no workflow": orjson.dumps(project.job("x", work_flow_id=str(uuid.uuid4()))),
        "stranger's workflow": orjson.dumps(project.job("y", work_flow_id=stranger.work_flow_id)),
    }
    with server.client() as client:
        for key_name, key in keys.items():
            headers = {"content-type": "application/json"}
            if key is not None:
                headers["x-api-key"] = key
            for project_name, project_id in projects.items():
                for body_name, body in bodies.items():
                    reply = client.post(
                        f"/v1/projects/{project_id}/jobs", content=body, headers=headers
                    )
                    where = (key_name, project_name, body_name)
                    expected = _expected(key_name, project_name, body_name)
                    if expected == (200, ""):
                        assert reply.status_code == 200, where
                    else:
                        assert _error(reply) == expected, (where, reply.text)
        # The workflow named by the tag of a second workflow, and by its id.
        owner = {"x-api-key": project.api_key}
        for reference_id, named in (("by-tag", {"tag": "quick"}), ("by-id", {})):
            body = project.job(reference_id, work_flow_id=quick["work_flow_id"])
            if named:
                del body["work_flow_id"]
                body |= named
            reply = client.post(f"/v1/projects/{pid}/jobs", json=body, headers=owner)
            data = reply.json()["data"]
            assert (data["work_flow_id"], data["tag"]) == (quick["work_flow_id"], "quick")
        body = project.job("default-tag")
        del body["work_flow_id"]
        body["tag"] = "default"
        data = client.post(f"/v1/projects/{pid}/jobs", json=body, headers=owner).json()["data"]
        assert (data["work_flow_id"], data["tag"]) == (project.work_flow_id, "default")


def _every_kind_of_key(
    project: ProjectHandle, stranger_key: str, admin: httpx.Client
) -> dict[str, str | None]:
    """No key, an unknown one, a revoked one of the project's account, another account's, the
    project owner's."""
    revoked = admin.post(f"/admin/v1/accounts/{project.account_id}/keys").json()["data"]
    admin.post(f"/admin/v1/keys/{revoked['key_id']}/revoke").raise_for_status()
    return {
        "none": None,
        "unknown": "ly_" + secrets.token_urlsafe(24),
        "revoked": revoked["api_key"],
        "stranger": stranger_key,
        "owner": project.api_key,
    }
