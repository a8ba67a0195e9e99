"""``labelyard project analytics|audit``: the API's figures and log, from the command line."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable

from labelyard.client import Client
from tests.api.test_analytics import scripted_run
from tests.client.conftest import cli
from tests.conftest import ProjectHandle, Server, WorkerHandle

NewWorker = Callable[..., WorkerHandle]


def test_analytics_and_audit_on_the_command_line(
    server: Server, project: ProjectHandle, new_worker: NewWorker
) -> None:
    pid = project.project_id
    scripted_run(project, new_worker)
    with Client(server.base_url, project.api_key) as client:
        expected = client.analytics(pid)
        log = list(client.audit(pid))
    shown = cli(server, project, "project", "analytics", "--project", pid)
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout) == expected
    workers = cli(server, project, "project", "analytics", "--project", pid, "--csv", "workers")
    rows = list(csv.DictReader(io.StringIO(workers.stdout)))
    assert [r["worker_id"] for r in rows] == [w["worker_id"] for w in expected["workers"]]
    audit = cli(server, project, "project", "audit", "--project", pid, "--limit", "3")
    assert [json.loads(line) for line in audit.stdout.splitlines()] == log[:3]
    bad = cli(server, project, "project", "analytics", "--project", pid, "--since", "nope")
    assert bad.returncode == 1
    assert "GE_0001" in bad.stderr
