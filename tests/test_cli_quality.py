"""The quality commands of ``labelyard``: rules, groups, assignment, workers' tallies."""

from __future__ import annotations

from tests.conftest import Server, make_worker
from tests.test_cli import cli, cli_json


def test_quality_rules_groups_and_assignment_from_the_command_line(server: Server) -> None:
    created = cli_json(server, "projects", "create", "--name", "q", "--base", "IMAGE")
    pid = created["project_id"]
    shown = cli_json(server, "quality", "show", "--project", pid)
    assert shown["allow_self_review"] is False and shown["gold_rate"] == 0
    changed = cli_json(
        server,
        "quality",
        "set",
        "--project",
        pid,
        "--gold-rate",
        "0.1",
        "--sampling",
        "50:0.2",
        "--reason",
        "missed object",
        "--reason",
        "loose box",
        "--rejected-to",
        "same",
    )
    assert changed["sampling"] == {"full_until": 50, "rate": 0.2}
    assert changed["reject_reasons"] == ["missed object", "loose box"]
    bad = cli(server, "quality", "set", "--project", pid, "--gold-rate", "3")
    assert bad.returncode == 1 and "gold_rate" in bad.stderr

    worker = make_worker(server, created["account_id"])
    worker.api.close()
    group = cli_json(server, "groups", "create", "--project", pid, "--name", "seniors")
    cli_json(
        server,
        "groups",
        "members",
        "--project",
        pid,
        "--group",
        group["group_id"],
        worker.worker_id,
    )
    listed = cli_json(server, "groups", "list", "--project", pid)
    assert listed["groups"][0]["worker_ids"] == [worker.worker_id]
    pooled = cli_json(
        server, "quality", "set", "--project", pid, "--pool", f"review={group['group_id']}"
    )
    assert pooled["pools"] == {"review": group["group_id"]}

    batch = created["default_batch_id"]
    moved = cli_json(
        server,
        "quality",
        "assign",
        "--project",
        pid,
        "--batch",
        batch,
        "--worker",
        worker.worker_id,
    )
    assert moved["assigned_jobs"] == 0 and moved["only"] is True
    neither = cli(server, "quality", "assign", "--project", pid)
    assert neither.returncode == 1
    tallies = cli_json(server, "quality", "workers", "--project", pid)
    assert tallies == {"workers": []}
