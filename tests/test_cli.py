"""The ``labelyard`` command, run as a real process against the test server's database."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Server

LABELYARD = [sys.executable, "-m", "labelyard"]


def cli(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "LABELYARD_DATA_DIR": str(server.settings.data_dir),
        "LABELYARD_DATABASE_URL": server.settings.database_url,
    }
    return subprocess.run(
        [*LABELYARD, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def cli_json(server: Server, *args: str) -> dict[str, Any]:
    done = cli(server, *args, "--json")
    assert done.returncode == 0, done.stderr
    value: dict[str, Any] = json.loads(done.stdout)  # exactly one JSON object on stdout
    return value


def test_projects_create_prints_one_json_object_whose_key_works(server: Server) -> None:
    created = cli_json(server, "projects", "create", "--name", "cli", "--base", "VIDEO")
    assert set(created) == {
        "account_id",
        "project_id",
        "work_flow_id",
        "default_batch_id",
        "api_key",
    }
    again = cli_json(server, "projects", "create", "--name", "cli2", "--base", "image")
    assert again["account_id"] == created["account_id"]  # the default account, reused
    assert again["api_key"] != created["api_key"]
    with server.client(**{"x-api-key": created["api_key"]}) as api:
        stats = api.get(f"/v1/projects/{created['project_id']}/stats").json()["data"]
        assert stats["base"] == "VIDEO" and stats["total_batches"] == 1
        other = api.get(f"/v1/projects/{again['project_id']}/stats")
        assert other.status_code == 200  # same account


def test_accounts_keys_workflows(server: Server) -> None:
    account = cli_json(server, "accounts", "create", "--name", "team")
    assert set(account) == {"account_id", "api_key"}
    project = cli_json(
        server,
        "projects",
        "create",
        "--name",
        "p",
        "--base",
        "IMAGE",
        "--account",
        account["account_id"],
    )
    assert project["account_id"] == account["account_id"]
    key = cli_json(server, "keys", "create", "--account", account["account_id"])
    assert key["account_id"] == account["account_id"] and key["api_key"].startswith("ly_")
    flow = cli_json(
        server,
        "workflows",
        "create",
        "--project",
        project["project_id"],
        "--name",
        "QA pass",
        "--steps",
        "annotate,review,review",
    )
    assert flow["tag"] == "qa_pass" and flow["steps"] == ["annotate", "review", "review"]
    url = f"/v1/projects/{project['project_id']}/jobs"
    job = {"reference_id": "r", "tag": "qa_pass", "data": {"image_url": "https://x.example/1"}}
    with server.client(**{"x-api-key": key["api_key"]}) as api:
        reply = api.post(url, json=job).json()["data"]
        assert reply["work_flow_id"] == flow["work_flow_id"]
        revoked = cli(server, "keys", "revoke", key["key_id"])
        assert revoked.returncode == 0, revoked.stderr
        assert api.get(url, params={"reference_id": "r"}).status_code == 401


@pytest.mark.parametrize(
    "args",
    [
        ("projects", "create", "--name", "x", "--base", "AUDIO", "--json"),
        ("keys", "create", "--account", "not-a-uuid", "--json"),
        ("keys", "revoke", "00000000-0000-4000-8000-000000000000"),
        ("workflows", "create", "--project", "00000000-0000-4000-8000-000000000000", "--name", "w"),
    ],
)
def test_bad_input_is_a_message_not_a_traceback(server: Server, args: tuple[str, ...]) -> None:
    done = cli(server, *args)
    assert done.returncode == 1
    assert "error" in done.stderr and "Traceback" not in done.stderr
    assert done.stdout == ""


def test_schema_set_from_yaml_and_workers_create(server: Server, tmp_path: Path) -> None:
    project = cli_json(server, "projects", "create", "--name", "schema", "--base", "VIDEO")
    schema = tmp_path / "schema.yaml"
    schema.write_text(
        "classes:\n"
        "  - name: car\n"
        "    shapes: [rectangle]\n"
        "    attributes:\n"
        "      - {name: color, type: select, options: [red, blue], required: true}\n"
    )
    saved = cli_json(server, "schema", "set", "--project", project["project_id"], str(schema))
    car = saved["schema"]["classes"][0]
    assert car["name"] == "car" and car["tracked"] is True
    assert car["attributes"][0]["options"] == ["red", "blue"]
    broken = tmp_path / "broken.json"
    broken.write_text('{"classes": [{"name": "car", "shapes": ["circle"]}]}')
    done = cli(server, "schema", "set", "--project", project["project_id"], str(broken))
    assert done.returncode == 1 and "schema.classes[0].shapes" in done.stderr

    worker = cli_json(
        server,
        "workers",
        "create",
        "--account",
        project["account_id"],
        "--name",
        "ann",
        "--role",
        "annotator",
    )
    assert set(worker) == {"worker_id", "account_id", "name", "role", "token"}
    with server.client(authorization=f"Bearer {worker['token']}") as api:
        response = api.post(f"/work/v1/projects/{project['project_id']}/claim", json={})
        assert response.status_code == 204  # authenticated, queue empty
    bad_role = cli(
        server,
        "workers",
        "create",
        "--account",
        project["account_id"],
        "--name",
        "x",
        "--role",
        "boss",
    )
    assert bad_role.returncode == 1 and "role" in bad_role.stderr


def test_workers_password_lets_a_worker_sign_in_to_the_web_ui(server: Server) -> None:
    created = cli_json(server, "projects", "create", "--name", "ui", "--base", "IMAGE")
    worker = cli_json(
        server,
        "workers",
        "create",
        "--account",
        created["account_id"],
        "--name",
        "ana",
        "--role",
        "annotator",
    )
    username = f"ana-{worker['worker_id'][:8]}"

    def set_password(password: str) -> subprocess.CompletedProcess[str]:
        env = {
            **os.environ,
            "LABELYARD_DATA_DIR": str(server.settings.data_dir),
            "LABELYARD_DATABASE_URL": server.settings.database_url,
        }
        return subprocess.run(
            [
                *LABELYARD,
                "workers",
                "password",
                "--worker",
                worker["worker_id"],
                "--username",
                username,
                "--password-stdin",
            ],
            input=password + "\n",
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    short = set_password("short")
    assert short.returncode != 0 and "at least 8" in short.stderr
    done = set_password("a long enough secret")
    assert done.returncode == 0, done.stderr
    assert "a long enough secret" not in done.stdout + done.stderr

    with httpx.Client(base_url=server.base_url) as browser:
        page = browser.get("/ui/login").text
        csrf = re.search(r'name="csrf" value="([^"]+)"', page)
        assert csrf is not None
        form = {"csrf": csrf[1], "method": "password", "username": username}
        wrong = browser.post("/ui/login", data={**form, "secret": "not the password"})
        assert wrong.status_code == 401
        signed = browser.post("/ui/login", data={**form, "secret": "a long enough secret"})
        assert signed.status_code == 303 and signed.headers["location"] == "/ui/queue"
        cookie = signed.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie and "path=/ui" in cookie
        queue = browser.get("/ui/queue")
        assert queue.status_code == 200 and "ana" in queue.text


def test_storage_add_list_remove_never_print_the_secret(server: Server) -> None:
    account = cli_json(server, "accounts", "create", "--name", "media")["account_id"]
    secret = "cli-secret-0b5e41"
    env = {
        **os.environ,
        "LABELYARD_DATA_DIR": str(server.settings.data_dir),
        "LABELYARD_DATABASE_URL": server.settings.database_url,
        "LABELYARD_STORAGE_SECRET_ACCESS_KEY": secret,
    }
    added = subprocess.run(
        [
            *LABELYARD,
            "storage",
            "add",
            "--account",
            account,
            "--scheme",
            "gs",
            "--bucket-prefix",
            "gs://acme-frames/",
            "--access-key-id",
            "GOOGHMAC1",
            "--json",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert added.returncode == 0, added.stderr
    assert secret not in added.stdout + added.stderr
    created = json.loads(added.stdout)
    assert created["endpoint_url"] == "https://storage.googleapis.com"  # GCS's XML API
    assert created["bucket_prefix"] == "acme-frames/" and created["region"] == "auto"
    listed = cli(server, "storage", "list", "--account", account)
    assert listed.returncode == 0 and "gs://acme-frames/" in listed.stdout
    assert secret not in listed.stdout + listed.stderr
    with server.admin() as admin:
        api = admin.get(f"/admin/v1/accounts/{account}/storage").json()["data"]["connections"]
    assert [c["connection_id"] for c in api] == [created["connection_id"]]
    removed = cli(server, "storage", "remove", created["connection_id"], "--account", account)
    assert removed.returncode == 0, removed.stderr
    assert "no storage connections" in cli(server, "storage", "list", "--account", account).stdout
