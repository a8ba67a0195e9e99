"""``labelyard jobs import|list`` and ``labelyard results download``, as real processes."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from labelyard.client import Client
from tests.client.conftest import LABELYARD, cli, cli_env, complete_next
from tests.conftest import ProjectHandle, Server, WorkerHandle

NewWorker = Callable[..., WorkerHandle]
ROWS = 5000

# Ten rows the import must reject, each for its own reason: (line text, expected code).
BAD_ROWS = [
    ('{"data": {"image_url": "https://img.example/x.jpg"}}', "FS_0002"),
    ('{"reference_id": "bad-json", ', "invalid_row"),
    ('["not", "an", "object"]', "invalid_row"),
    ('{"reference_id": "bad-url", "image_url": "ftp://img.example/1.jpg"}', "FS_0003"),
    (
        '{"reference_id": "bad-prio", "image_url": "https://i.example/1", "priority_weight": 0}',
        "FS_00012",
    ),
    (
        '{"reference_id": "bad-type", "image_url": "https://i.example/1", "type": "GOLD"}',
        "FS_00011",
    ),
    ('{"reference_id": "no-data", "data": {}}', "FS_0004"),
    ('{"reference_id": "bad-tag", "image_url": "https://i.example/1", "tag": "nope"}', "FS_0005"),
    ('{"reference_id": "row-7", "image_url": "https://img.example/changed.jpg"}', "FS_0001"),
    (
        '{"reference_id": "bad-batch", "image_url": "https://i.example/1", "batch_id": "b"}',
        "GE_0001",
    ),
]


def import_file(tmp_path: Path) -> tuple[Path, dict[int, str]]:
    """ROWS lines: good jobs with the BAD_ROWS spread among them; {line: expected code}."""
    lines = [
        json.dumps({"reference_id": f"row-{i}", "image_url": f"https://img.example/{i}.jpg"})
        for i in range(ROWS - len(BAD_ROWS))
    ]
    expected = {}
    for n, (text, code) in enumerate(BAD_ROWS):
        at = 100 + n * 480
        lines.insert(at, text)
        expected[at + 1] = code
    path = tmp_path / "jobs.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path, expected


def summary(done: subprocess.CompletedProcess[str]) -> Any:
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def batch_named(project: ProjectHandle, name: str) -> dict[str, Any] | None:
    details = project.api.get(f"/v1/projects/{project.project_id}/details").json()["data"]
    return next((b for b in details["batches"] if b["name"] == name), None)


def rejected_codes(path: Path) -> dict[int, str]:
    entries = [json.loads(line) for line in path.read_text().splitlines()]
    assert all(entry["reason"] and "row" in entry for entry in entries)
    return {entry["line"]: entry["code"] for entry in entries}


def test_import_counts_created_and_writes_rejected_rows_with_reasons(
    server: Server, project: ProjectHandle, tmp_path: Path
) -> None:
    path, expected = import_file(tmp_path)
    done = cli(
        server, project, "jobs", "import", "--project", project.project_id, str(path), "--json"
    )
    rejected = tmp_path / "jobs.jsonl.rejected.jsonl"
    assert summary(done) == {
        "created": ROWS - 10,
        "already_there": 0,
        "rejected": 10,
        "rejected_file": str(rejected),
    }
    assert rejected_codes(rejected) == expected
    first = json.loads(rejected.read_text().splitlines()[0])
    assert first["row"] == json.loads(BAD_ROWS[0][0]) and "reference_id" in first["reason"]
    default = batch_named(project, "Default batch")
    assert default is not None and default["total_jobs"] == ROWS - 10


def test_an_interrupted_import_finishes_on_a_rerun_without_duplicates(
    server: Server, project: ProjectHandle, tmp_path: Path
) -> None:
    path, expected = import_file(tmp_path)
    args = [*LABELYARD, "jobs", "import", "--project", project.project_id, str(path)]
    args += ["--batch-name", "resumed", "--chunk-size", "50", "--json"]
    process = subprocess.Popen(
        args, env=cli_env(server, project), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 180  # start-up on a loaded machine
    while (batch := batch_named(project, "resumed")) is None or batch["total_jobs"] < 200:
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.communicate()
    assert process.returncode == -signal.SIGKILL
    landed = batch_named(project, "resumed")
    assert landed is not None and 0 < landed["total_jobs"] < ROWS - 10

    done = cli(
        server,
        project,
        "jobs",
        "import",
        "--project",
        project.project_id,
        str(path),
        "--batch-name",
        "resumed",
        "--json",
    )
    counts = summary(done)
    assert counts["already_there"] >= landed["total_jobs"]
    assert counts["created"] + counts["already_there"] == ROWS - 10 and counts["rejected"] == 10
    assert rejected_codes(tmp_path / "jobs.jsonl.rejected.jsonl") == expected
    finished = batch_named(project, "resumed")
    assert finished is not None and finished["total_jobs"] == ROWS - 10
    with Client(server.base_url, project.api_key) as client:
        listed = [job.reference_id for job in client.batch_jobs(project.project_id, finished["id"])]
    assert sorted(listed) == sorted(f"row-{i}" for i in range(ROWS - 10))


def test_csv_import_into_a_named_batch(
    server: Server, project: ProjectHandle, tmp_path: Path
) -> None:
    path = tmp_path / "jobs.csv"
    path.write_text(
        "reference_id,image_url,data,priority_weight,type\n"
        "c-1,https://img.example/1.jpg,,8,\n"
        'c-2,,"{""image_url"": ""https://img.example/2.jpg"", ""metadata"": {""k"": 1}}",,TEST\n'
        "c-3,https://img.example/3.jpg,{not json,,\n"
    )
    base = ["jobs", "import", "--project", project.project_id, str(path), "--batch-name", "csv"]
    assert summary(cli(server, project, *base, "--json"))["rejected"] == 1
    again = cli(server, project, *base)  # the summary, for people
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines() == [
        "created 0, already there 2, rejected 1",
        f"rejected rows and their reasons: {tmp_path / 'jobs.csv.rejected.jsonl'}",
    ]
    rejected = json.loads((tmp_path / "jobs.csv.rejected.jsonl").read_text())
    assert rejected["line"] == 4 and rejected["code"] == "invalid_row"
    assert rejected["row"]["reference_id"] == "c-3" and "data" in rejected["reason"]
    batch = batch_named(project, "csv")
    assert batch is not None and batch["total_jobs"] == 2
    job = project.api.get(f"/v1/projects/{project.project_id}/jobs", params={"reference_id": "c-1"})
    assert job.json()["data"]["priority_weight"] == 8

    unknown = "00000000-0000-4000-8000-000000000000"
    base[-2:] = ["--batch", unknown]
    wrong = cli(server, project, *base)
    assert wrong.returncode == 1 and f"no batch {unknown}" in wrong.stderr


def test_jobs_list_as_table_and_jsonl(server: Server, project: ProjectHandle) -> None:
    pid = project.project_id
    with Client(server.base_url, project.api_key) as client:
        outcomes = client.create_jobs(pid, [project.job(f"l-{i}") for i in range(150)])
    aborted = project.api.post(f"/v1/projects/{pid}/jobs/{outcomes[1].job_id}/abort")
    assert aborted.status_code == 200, aborted.text
    base = ["jobs", "list", "--project", pid, "--batch", project.default_batch_id]

    done = cli(server, project, *base, "--status", "created", "--format", "jsonl")
    assert done.returncode == 0, done.stderr
    jobs = [json.loads(line) for line in done.stdout.splitlines()]
    assert [job["reference_id"] for job in jobs] == [f"l-{i}" for i in range(150) if i != 1]
    assert jobs[0]["status"] == "created" and jobs[0]["tag"] == "default"

    table = cli(server, project, *base).stdout.splitlines()
    assert table[0].startswith("JOB ID") and len(table) == 151
    assert table[1].split() == [jobs[0]["id"], "created", "1", "0", "5", "l-0"]
    assert table[2].split()[1] == "aborted"

    wrong = cli(server, project, *base, "--api-key", "ly_wrong")  # the flag beats the variable
    assert wrong.returncode == 1 and wrong.stdout == ""
    assert "auth-failure" in wrong.stderr and "Traceback" not in wrong.stderr


def test_results_download_skips_what_is_there_and_resumes(
    server: Server, project: ProjectHandle, new_worker: NewWorker, tmp_path: Path
) -> None:
    pid = project.project_id
    worker = new_worker(project.account_id)
    with Client(server.base_url, project.api_key) as client:
        client.create_jobs(pid, [project.job(f"d-{i}") for i in range(4)])
    completed = sorted(complete_next(worker, pid) for _ in range(3))
    out = tmp_path / "results"
    args = ["results", "download", "--project", pid, "--batch", project.default_batch_id]
    args += ["--out", str(out), "--concurrency", "2", "--json"]

    assert summary(cli(server, project, *args)) == {
        "downloaded": 3,
        "already_there": 0,
        "failed": [],
    }
    assert sorted(p.name for p in out.iterdir()) == [f"{job_id}.json" for job_id in completed]
    for job_id in completed:
        expected = project.api.get(f"/v1/projects/{pid}/jobs/{job_id}/result").json()
        assert json.loads((out / f"{job_id}.json").read_text()) == expected

    # A run killed mid-file leaves a .part, never the file itself: the next run finishes it.
    (out / f"{completed[0]}.json").unlink()
    (out / f"{completed[0]}.json.part").write_text('{"data": {"annota')
    assert summary(cli(server, project, *args)) == {
        "downloaded": 1,
        "already_there": 2,
        "failed": [],
    }
    assert json.loads((out / f"{completed[0]}.json").read_text())["data"]["annotations"]
    assert not list(out.glob("*.part"))
