"""Analytics: the rollups kept with each change equal the figures recomputed from the job
history (``job_transition``) by a plain query, after a scripted run of claims, submits, skips,
reviews, aborts and reopens; CSV downloads; bad ranges; another account gets 403."""

from __future__ import annotations

import asyncio
import csv
import io
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from labelyard.core.model import as_utc
from labelyard.store.engine import Database
from labelyard.store.tables import job, job_transition
from tests.conftest import ProjectHandle, Server, WorkerHandle

NewProject = Callable[..., ProjectHandle]
NewWorker = Callable[..., WorkerHandle]
EMPTY = {"rectangles": [], "polygons": [], "lines": [], "landmarks": [], "cuboids": []}


def work(worker: WorkerHandle, pid: str, path: str, body: dict[str, Any]) -> httpx.Response:
    return worker.api.post(f"/work/v1/projects/{pid}/{path}", json=body)


def claim(worker: WorkerHandle, pid: str, step: str) -> str | None:
    answer = work(worker, pid, "claim", {"step": step})
    if answer.status_code == 204:
        return None
    assert answer.status_code == 200, answer.text
    job_id: str = answer.json()["data"]["job_id"]
    return job_id


def scripted_run(project: ProjectHandle, new_worker: NewWorker) -> None:
    """Two annotators and a reviewer work 12 jobs in two batches: skips, rejects, an abort,
    a reopen; every action through the API."""
    pid = project.project_id
    other = project.api.post(f"/v1/projects/{pid}/batch", json={"name": "second"}).json()["data"]
    ids = []
    for i in range(12):
        extra = {"batch_id": other["batch_id"]} if i % 3 == 0 else {}
        created = project.api.post(f"/v1/projects/{pid}/jobs", json=project.job(f"r{i}", **extra))
        ids.append(created.json()["data"]["job_id"])
    annotators = [new_worker(project.account_id, "annotator") for _ in range(2)]
    reviewer = new_worker(project.account_id, "reviewer")
    assert project.api.post(f"/v1/projects/{pid}/jobs/{ids[11]}/abort").is_success
    turn = 0
    for _round in range(4):
        for _ in range(6):
            annotator = annotators[turn % 2]
            turn += 1
            job_id = claim(annotator, pid, "annotate")
            if job_id is None:
                break
            if turn % 5 == 0:
                assert work(annotator, pid, f"jobs/{job_id}/skip", {"reason": "blurry"}).is_success
                continue
            if turn == 1:
                time.sleep(1.1)  # one turn of work that lasts more than a second
            submitted = work(annotator, pid, f"jobs/{job_id}/submit", {"annotations": EMPTY})
            assert submitted.is_success, submitted.text
        for i in range(6):
            job_id = claim(reviewer, pid, "review")
            if job_id is None:
                break
            decision = (
                {"decision": "reject", "comment": "redo"} if i % 3 == 0 else {"decision": "accept"}
            )
            assert work(reviewer, pid, f"jobs/{job_id}/review", decision).is_success
    done = project.api.get(f"/v1/projects/{pid}/jobs/{ids[0]}").json()["data"]
    if done["status"] == "completed":
        reopened = project.api.post(f"/v1/projects/{pid}/jobs/{ids[0]}/reopen", json={})
        assert reopened.is_success, reopened.text
    for worker in (*annotators, reviewer):
        worker.api.close()


def recompute(
    server: Server, pid: str
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, int]]]:
    """Workers' and batches' figures from the history, by a plain query and arithmetic."""

    async def read(db: Database) -> list[Any]:
        async with db.read() as conn:
            query = (
                select(job_transition, job.c.batch_id)
                .join(
                    job,
                    (job.c.project_id == job_transition.c.project_id)
                    & (job.c.id == job_transition.c.job_id),
                )
                .where(job_transition.c.project_id == pid)
                .order_by(job_transition.c.created_at)
            )
            return list((await conn.execute(query)).all())

    async def run() -> list[Any]:
        db = Database(server.settings.resolved_database_url(), pool_size=1)
        try:
            return await read(db)
        finally:
            await db.dispose()

    rows = asyncio.run(run())
    workers: dict[str, dict[str, Any]] = defaultdict(lambda: defaultdict(int))
    batches: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    counted = {
        "claim": "claims",
        "submit": "submits",
        "accept": "accepts",
        "reject": "rejects",
        "skip": "skips",
    }
    for index, row in enumerate(rows):
        batch = batches[row.batch_id]
        if row.to_status == "completed" and row.from_status != "completed":
            batch["completed"] += 1
        if row.action == "reopen" and row.from_status == "completed":
            batch["completed"] -= 1
        if row.action == "abort":
            batch["aborted"] += 1
        if row.action == "reopen" and row.from_status == "aborted":
            batch["aborted"] -= 1
        if row.action == "reopen":
            batch["reopened"] += 1
        if row.action not in counted or row.worker_id is None:
            continue
        mine = workers[row.worker_id]
        mine[counted[row.action]] += 1
        if row.action != "claim":
            batch[counted[row.action]] += 1
        earlier = [r for r in rows[:index] if r.job_id == row.job_id]
        if row.action in ("submit", "accept", "reject"):
            mine["finished"] += 1
            batch["finished"] += 1
            steps = mine.setdefault("jobs_by_step", defaultdict(int))
            steps[row.from_step] += 1
        if row.action != "claim":
            claims = [r for r in earlier if r.action == "claim" and r.worker_id == row.worker_id]
            if claims:
                gap = as_utc(row.created_at) - as_utc(claims[-1].created_at)
                mine["work_seconds"] += int(gap.total_seconds())
                batch["work_seconds"] += int(gap.total_seconds())
        if row.action in ("accept", "reject"):
            submits = [r for r in earlier if r.action == "submit"]
            verdict = "accepted_work" if row.action == "accept" else "rejected_work"
            workers[submits[-1].worker_id][verdict] += 1
    return workers, batches


def test_rollups_equal_the_figures_recomputed_from_the_history(
    server: Server, project: ProjectHandle, new_worker: NewWorker
) -> None:
    pid = project.project_id
    scripted_run(project, new_worker)
    today = datetime.now(UTC).date()
    window = {
        "since": (today - timedelta(days=2)).isoformat(),
        "until": (today + timedelta(days=1)).isoformat(),
    }
    answer = project.api.get(f"/v1/projects/{pid}/analytics", params=window)
    assert answer.status_code == 200, answer.text
    report = answer.json()["data"]
    workers, batches = recompute(server, pid)

    assert {w["worker_id"] for w in report["workers"]} == set(workers)
    for figures in report["workers"]:
        expected = workers[figures["worker_id"]]
        for name in (
            "claims",
            "submits",
            "accepts",
            "rejects",
            "skips",
            "finished",
            "work_seconds",
            "accepted_work",
            "rejected_work",
        ):
            assert figures[name] == expected.get(name, 0), (name, figures)
        steps = {s["step"]: s["jobs"] for s in figures["jobs_by_step"]}
        assert steps == dict(expected.get("jobs_by_step", {}))
        judged = expected.get("accepted_work", 0) + expected.get("rejected_work", 0)
        if judged:
            assert figures["reject_rate"] == round(expected.get("rejected_work", 0) / judged, 4)
        assert figures["gold_score"] is None and figures["agreement"] is None
    assert sum(w["rejected_work"] for w in report["workers"]) > 0
    assert sum(w["work_seconds"] for w in report["workers"]) >= 1

    assert {b["batch_id"] for b in report["batches"]} == set(batches)
    details = project.api.get(f"/v1/projects/{pid}/details").json()["data"]["batches"]
    completed = {b["id"]: b["completed_jobs"] for b in details}
    for figures in report["batches"]:
        expected = batches[figures["batch_id"]]
        for name in (
            "submits",
            "accepts",
            "rejects",
            "skips",
            "completed",
            "aborted",
            "reopened",
            "finished",
            "work_seconds",
        ):
            assert figures[name] == expected.get(name, 0), (name, figures)
    progress = {p["batch_id"]: p["days"] for p in report["progress"]}
    assert set(progress) == set(batches)
    for batch_id, series in progress.items():
        assert series[-1]["completed_total"] == completed[batch_id]
        assert len(series) == 4
        assert sum(d["submits"] for d in series) == batches[batch_id]["submits"]
    one = next(iter(progress))
    named = project.api.get(f"/v1/projects/{pid}/analytics", params={**window, "batch_id": one})
    assert [p["batch_id"] for p in named.json()["data"]["progress"]] == [one]

    days = report["days"]
    assert [d["day"] for d in days] == [
        (today - timedelta(days=2 - i)).isoformat() for i in range(4)
    ]
    assert sum(d["submits"] for d in days) == sum(w["submits"] for w in workers.values())


def test_csv_downloads_carry_the_same_figures(
    project: ProjectHandle, new_worker: NewWorker
) -> None:
    pid = project.project_id
    scripted_run(project, new_worker)
    report = project.api.get(f"/v1/projects/{pid}/analytics").json()["data"]
    answer = project.api.get(f"/v1/projects/{pid}/analytics/workers.csv")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert [r["worker_id"] for r in rows] == [w["worker_id"] for w in report["workers"]]
    for row, figures in zip(rows, report["workers"], strict=True):
        assert int(row["claims"]) == figures["claims"]
        assert int(row["work_seconds"]) == figures["work_seconds"]
        assert row["gold_score"] == ""
    batches = list(
        csv.DictReader(
            io.StringIO(project.api.get(f"/v1/projects/{pid}/analytics/batches.csv").text)
        )
    )
    assert len(batches) == 30 * len(report["batches"])  # the default range: 30 days


@pytest.mark.parametrize(
    "params",
    [
        {"since": "2026-13-01"},
        {"until": "yesterday"},
        {"since": "2026-12-02", "until": "2026-12-01"},
        {"since": "2000-01-01", "until": "2026-01-01"},
        {"batch_id": "not-a-uuid"},
    ],
)
def test_a_bad_range_is_refused(project: ProjectHandle, params: dict[str, str]) -> None:
    answer = project.api.get(f"/v1/projects/{project.project_id}/analytics", params=params)
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "GE_0001"


def test_another_account_gets_403(project: ProjectHandle, new_project: NewProject) -> None:
    stranger = new_project(name="stranger")
    for path in ("analytics", "analytics/workers.csv", "analytics/batches.csv"):
        answer = stranger.api.get(f"/v1/projects/{project.project_id}/{path}")
        assert answer.status_code == 403


def test_heartbeats_and_draft_saves_count_as_active_time(
    project: ProjectHandle, new_worker: NewWorker
) -> None:
    pid = project.project_id
    project.api.post(f"/v1/projects/{pid}/jobs", json=project.job("active-1"))
    annotator = new_worker(project.account_id, "annotator")
    job_id = claim(annotator, pid, "annotate")
    assert job_id is not None
    time.sleep(1.1)
    assert work(annotator, pid, f"jobs/{job_id}/heartbeat", {}).is_success
    time.sleep(1.1)
    saved = work(annotator, pid, f"jobs/{job_id}/draft", {"annotations": EMPTY})
    assert saved.is_success, saved.text
    assert work(annotator, pid, f"jobs/{job_id}/submit", {"annotations": EMPTY}).is_success
    report = project.api.get(f"/v1/projects/{pid}/analytics").json()["data"]
    (figures,) = [w for w in report["workers"] if w["worker_id"] == annotator.worker_id]
    # claim -> heartbeat -> draft -> submit: each gap a whole second or more, under the cap.
    assert 2 <= figures["active_seconds"] <= figures["work_seconds"]
    assert figures["active_hours"] == round(figures["active_seconds"] / 3600, 4)
    annotator.api.close()


def test_workers_reviewing_each_others_work_at_once_never_fail(
    project: ProjectHandle, new_worker: NewWorker
) -> None:
    """An accept writes the reviewer's activity time and the annotator's tally: four workers
    accepting each other's work at once must never deadlock (a 500) on PostgreSQL."""
    pid = project.project_id
    for i in range(48):
        created = project.api.post(f"/v1/projects/{pid}/jobs", json=project.job(f"x{i}"))
        assert created.is_success, created.text
    team = [new_worker(project.account_id, "both") for _ in range(4)]
    turn = 0
    while (job_id := claim(team[turn % 4], pid, "annotate")) is not None:
        submitted = work(team[turn % 4], pid, f"jobs/{job_id}/submit", {"annotations": EMPTY})
        assert submitted.is_success, submitted.text
        turn += 1
    assert turn == 48

    def review_all(worker: WorkerHandle) -> list[int]:
        codes = []
        while (job_id := claim(worker, pid, "review")) is not None:
            answer = work(worker, pid, f"jobs/{job_id}/review", {"decision": "accept"})
            codes.append(answer.status_code)
        return codes

    with ThreadPoolExecutor(max_workers=4) as pool:
        codes = [code for done in pool.map(review_all, team) for code in done]
    assert codes == [200] * 48, codes
    page = project.api.get(f"/v1/projects/{pid}/batch/{project.default_batch_id}").json()
    assert {j["status"] for j in page["data"]["jobs"]} == {"completed"}
