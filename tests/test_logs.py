"""Logs at debug level hold no secrets: database and client libraries stay at WARNING."""

from __future__ import annotations

import logging
import os
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx

from labelyard.logs import QUIET_LOGGERS, configure
from tests.conftest import free_port


def test_driver_loggers_stay_at_warning_whatever_the_level() -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        configure("debug", "text")
        assert root.level == logging.DEBUG
        for name in (*QUIET_LOGGERS, "aiosqlite", "sqlalchemy.engine.Engine", "asyncpg.pool"):
            assert logging.getLogger(name).getEffectiveLevel() == logging.WARNING, name
        assert logging.getLogger("labelyard.worker").getEffectiveLevel() == logging.DEBUG
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
        for name in QUIET_LOGGERS:
            logging.getLogger(name).setLevel(logging.NOTSET)


def _ready(base: str) -> None:
    deadline = time.monotonic() + 180  # start-up on a loaded machine
    while True:
        try:
            if httpx.get(f"{base}/readyz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "server did not become ready"
        time.sleep(0.1)


def test_debug_logs_of_a_sqlite_server_show_no_secret(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LABELYARD_")}
    env |= {
        "LABELYARD_DATA_DIR": str(data),
        "LABELYARD_LOG_LEVEL": "debug",
        "LABELYARD_LOG_FORMAT": "text",
        "LABELYARD_ADMIN_TOKEN": "admin-token-" + "a1" * 16,
    }
    stderr = tmp_path / "stderr.log"
    command = [sys.executable, "-m", "labelyard", "serve", "--port", str(port)]
    secrets: list[str] = [env["LABELYARD_ADMIN_TOKEN"]]
    with stderr.open("w") as err:
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=err)
        try:
            _ready(base)
            admin = {"authorization": f"Bearer {env['LABELYARD_ADMIN_TOKEN']}"}
            with httpx.Client(base_url=base, headers=admin) as client:
                account = client.post("/admin/v1/accounts", json={"name": "logs"}).json()["data"]
                project = client.post(
                    "/admin/v1/projects",
                    json={"name": "p", "base": "IMAGE", "account_id": account["account_id"]},
                ).json()["data"]
                worker = client.post(
                    f"/admin/v1/accounts/{account['account_id']}/workers",
                    json={"name": "w", "role": "both"},
                ).json()["data"]
                password = "correct horse battery"
                login = client.put(
                    f"/admin/v1/workers/{worker['worker_id']}/login",
                    json={"username": "logs-user", "password": password},
                )
                assert login.status_code == 200, login.text
            secrets += [project["api_key"], worker["token"], password]
            with httpx.Client(base_url=base) as browser:
                csrf = re.search(r'name="csrf" value="([^"]+)"', browser.get("/ui/login").text)
                assert csrf is not None
                form = {"csrf": csrf[1], "method": "password", "username": "logs-user"}
                signed = browser.post("/ui/login", data={**form, "secret": password})
                assert signed.status_code == 303
                secrets.append(browser.cookies.get("labelyard_session", path="/ui") or "")
                assert browser.get("/ui/queue").status_code == 200
            with httpx.Client(base_url=base, headers={"x-api-key": project["api_key"]}) as api:
                hook = api.post(
                    f"/v1/projects/{project['project_id']}/webhooks",
                    json={"url": "https://hooks.example/x", "event_types": ["*"]},
                )
                assert hook.status_code == 200, hook.text
                secrets.append(hook.json()["data"]["secret"])
        finally:
            process.terminate()
            process.wait(timeout=30)
    with sqlite3.connect(data / "labelyard.db") as db:
        secrets += [row[0] for row in db.execute("SELECT value FROM server_secret")]
        secrets += [row[0] for row in db.execute("SELECT password_hash FROM worker") if row[0]]
        secrets += [row[0] for row in db.execute("SELECT secret FROM webhook_endpoint")]
    logged = stderr.read_text()
    assert "labelyard.access" in logged  # the log was written
    secrets = [s for s in secrets if s]
    assert len(secrets) >= 10
    for secret in secrets:
        assert secret not in logged, f"a secret is in the log: {secret[:6]}..."
