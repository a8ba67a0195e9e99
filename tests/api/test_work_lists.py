"""Programmatic workers at speed: batch claims (``count``) and list submits and reviews, with
every queue rule a single claim follows, over HTTP on both engines."""

from __future__ import annotations

import math
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from tests.api.test_lifecycle import act, claim, data_of, error_of
from tests.api.test_quality import create, history, opened, seeded, settings_of
from tests.conftest import ProjectHandle, Server, WorkerHandle, make_project, make_worker

__all__ = ["opened", "seeded"]  # fixtures shared with tests/api/test_quality.py

NewProject = Callable[..., ProjectHandle]
NewWorker = Callable[..., WorkerHandle]


def claim_many(worker: WorkerHandle, project_id: str, count: int, step: str = "annotate") -> Any:
    response = worker.api.post(
        f"/work/v1/projects/{project_id}/claim", json={"step": step, "count": count}
    )
    jobs: list[dict[str, Any]] = data_of(response)["jobs"]
    return jobs


def submit_list(worker: WorkerHandle, project_id: str, items: list[dict[str, Any]]) -> Any:
    response = worker.api.post(f"/work/v1/projects/{project_id}/submit", json={"jobs": items})
    return data_of(response)["results"]


def review_list(worker: WorkerHandle, project_id: str, items: list[dict[str, Any]]) -> Any:
    response = worker.api.post(f"/work/v1/projects/{project_id}/review", json={"jobs": items})
    return data_of(response)["results"]


def job_of(project: ProjectHandle, job_id: str) -> dict[str, Any]:
    found: dict[str, Any] = data_of(
        project.api.get(f"/v1/projects/{project.project_id}/jobs/{job_id}")
    )
    return found


def test_a_batch_claim_leases_up_to_count_in_queue_order(
    project: ProjectHandle, new_worker: NewWorker
) -> None:
    pid = project.project_id
    low, high, mid, old, new = create(
        project,
        project.job("low", priority_weight=1),
        project.job("high", priority_weight=9),
        project.job("mid", priority_weight=5),
        project.job("old", priority_weight=7),
        project.job("new", priority_weight=7),
    )
    worker = new_worker(project.account_id)
    first = claim_many(worker, pid, 3)
    assert [job["job_id"] for job in first] == [high, old, new]
    # Each answer is what a single claim answers for that job.
    single = claim(new_worker(project.account_id), pid)
    assert single is not None and single["job_id"] == mid
    assert set(first[0]) == set(single)
    assert {job["step"] for job in first} == {"annotate"}
    assert len({job["lease_expires_at"] for job in first}) == 1
    for job in first:
        assert job_of(project, job["job_id"])["status"] == "in_progress"
    assert [job["job_id"] for job in claim_many(worker, pid, 100)] == [low]
    # An empty queue: an empty list with count, 204 without (as before).
    assert claim_many(worker, pid, 5) == []
    assert worker.api.post(f"/work/v1/projects/{pid}/claim", json={}).status_code == 204
    claims = [t for t in history(project, high) if t["action"] == "claim"]
    assert [t["worker_id"] for t in claims] == [worker.worker_id]


@pytest.mark.parametrize("count", [0, 101, -1, "5", 2.5, True, None, [3]])
def test_a_bad_count_is_refused_and_leases_nothing(
    project: ProjectHandle, new_worker: NewWorker, count: Any
) -> None:
    pid = project.project_id
    [job_id] = create(project, project.job("only"))
    worker = new_worker(project.account_id)
    response = worker.api.post(f"/work/v1/projects/{pid}/claim", json={"count": count})
    message = error_of(response, 400, "GE_0001")
    assert "count must be an integer from 1 to 100" in message
    assert job_of(project, job_id)["status"] == "created"
    assert [job["job_id"] for job in claim_many(worker, pid, 1)] == [job_id]


def test_a_list_submit_answers_per_item_and_applies_the_valid_ones(
    project: ProjectHandle, new_worker: NewWorker
) -> None:
    pid = project.project_id
    ids = create(project, *(project.job(f"s{i}") for i in range(4)))
    worker, other = new_worker(project.account_id), new_worker(project.account_id)
    mine = [job["job_id"] for job in claim_many(worker, pid, 3)]
    [theirs] = [job["job_id"] for job in claim_many(other, pid, 1)]
    assert sorted([*mine, theirs]) == sorted(ids)
    results = submit_list(
        worker,
        pid,
        [
            {"job_id": mine[0], "annotations": {}},
            {"job_id": theirs, "annotations": {}},
            {"job_id": mine[1], "annotations": {"rectangles": "nope"}},
            {"job_id": "00000000-0000-4000-8000-000000000000", "annotations": {}},
            {"job_id": mine[2], "annotations": {}},
        ],
    )
    assert results[0] == {"job_id": mine[0], "status": "in_progress", "step": "review"}
    assert results[1]["job_id"] == theirs and results[1]["error"]["code"] == "conflict"
    assert results[2]["job_id"] == mine[1] and results[2]["error"]["code"] == "GE_0001"
    assert results[3]["error"]["code"] == "resource_error"
    assert results[4] == {"job_id": mine[2], "status": "in_progress", "step": "review"}
    # The failed items changed nothing: still held, still in annotate.
    again = act(worker, pid, mine[1], "submit", {"annotations": {}})
    assert data_of(again)["step"] == "review"
    assert data_of(act(other, pid, theirs, "submit", {"annotations": {}}))["step"] == "review"
    # Reviewed as a list: accept, reject back to the annotator, and one not held.
    reviewer = new_worker(project.account_id, "reviewer")
    held = [job["job_id"] for job in claim_many(reviewer, pid, 3, "review")]
    assert len(held) == 3
    not_held = next(job_id for job_id in [*mine, theirs] if job_id not in held)
    results = review_list(
        reviewer,
        pid,
        [
            {"job_id": held[0], "decision": "accept"},
            {"job_id": held[1], "decision": "reject", "comment": "tighter boxes"},
            {"job_id": not_held, "decision": "accept"},
            {"job_id": held[2], "decision": "accept"},
        ],
    )
    assert results[0] == {"job_id": held[0], "status": "completed", "step": None}
    assert results[1] == {"job_id": held[1], "status": "in_progress", "step": "annotate"}
    assert "error" in results[2]
    assert results[3]["status"] == "completed"
    stats = data_of(project.api.get(f"/v1/projects/{pid}/stats"))
    assert stats["completed_jobs"] == 2


@pytest.mark.parametrize(
    ("body", "status", "code", "says"),
    [
        ({"jobs": "x"}, 400, "GE_0001", "jobs must be a list"),
        ({}, 400, "GE_0002", "jobs is required"),
        ([], 400, "GE_0001", "body must be a JSON object"),
        ({"jobs": [{"annotations": {}}]}, 400, "GE_0001", "jobs[0]: job_id must be a UUID"),
        ({"jobs": ["x"]}, 400, "GE_0001", "jobs[0]: must be a JSON object"),
        ("many", 400, "GE_0001", "at most 100 jobs per call"),
        ("twice", 400, "GE_0001", "appears more than once"),
        ("no-annotations", 400, "GE_0001", "jobs[1]: annotations: required"),
    ],
)
def test_a_malformed_list_submit_is_refused_whole(
    project: ProjectHandle,
    new_worker: NewWorker,
    body: Any,
    status: int,
    code: str,
    says: str,
) -> None:
    pid = project.project_id
    create(project, *(project.job(f"b{i}") for i in range(2)))
    worker = new_worker(project.account_id)
    held = [job["job_id"] for job in claim_many(worker, pid, 2)]
    good = {"job_id": held[0], "annotations": {}}
    if body == "many":
        body = {"jobs": [good] * 101}
    elif body == "twice":
        body = {"jobs": [good, {"job_id": held[0].upper(), "annotations": {}}]}
    elif body == "no-annotations":
        body = {"jobs": [good, {"job_id": held[1]}]}
    response = worker.api.post(f"/work/v1/projects/{pid}/submit", json=body)
    assert says in error_of(response, status, code)
    for job_id in held:  # nothing moved: both still held in annotate
        assert job_of(project, job_id)["status"] == "in_progress"
    assert [r["step"] for r in submit_list(worker, pid, [good])] == ["review"]


def test_a_malformed_list_review_is_refused_whole(
    project: ProjectHandle, new_worker: NewWorker
) -> None:
    pid = project.project_id
    create(project, project.job("r0"))
    worker = new_worker(project.account_id)
    [job] = claim_many(worker, pid, 1)
    submit_list(worker, pid, [{"job_id": job["job_id"], "annotations": {}}])
    [held] = claim_many(worker, pid, 1, "review")
    bad = {"jobs": [{"job_id": held["job_id"], "decision": "maybe"}]}
    message = error_of(worker.api.post(f"/work/v1/projects/{pid}/review", json=bad), 400, "GE_0001")
    assert message == "jobs[0]: decision must be 'accept' or 'reject'"
    assert job_of(project, held["job_id"])["status"] == "in_progress"
    results = review_list(worker, pid, [{"job_id": held["job_id"], "decision": "accept"}])
    assert results == [{"job_id": held["job_id"], "status": "completed", "step": None}]


def test_batch_claims_keep_self_review_assignment_rejects_and_pools(
    new_project: NewProject, new_worker: NewWorker
) -> None:
    project = new_project(self_review=False)
    pid, api = project.project_id, project.api
    ids = create(project, *(project.job(f"q{i}") for i in range(6)))
    a, b = new_worker(project.account_id), new_worker(project.account_id)
    # A job assigned to b alone is never in a's batch; b gets it first though lowest in line.
    data_of(api.post(f"/v1/projects/{pid}/jobs/{ids[5]}/assign", json={"worker_id": b.worker_id}))
    taken = [job["job_id"] for job in claim_many(a, pid, 100)]
    assert taken == ids[:5]
    submit_list(a, pid, [{"job_id": job_id, "annotations": {}} for job_id in taken])
    assert [job["job_id"] for job in claim_many(b, pid, 1)] == [ids[5]]
    # a annotated five jobs: a's review batch claim leaves them all to b.
    assert claim_many(a, pid, 100, "review") == []
    reviewed = [job["job_id"] for job in claim_many(b, pid, 2, "review")]
    assert reviewed == ids[:2]
    # Rejected work goes back to a first (rejected_to "first"), ahead of older open work.
    review_list(b, pid, [{"job_id": reviewed[1], "decision": "reject", "comment": "redo"}])
    data_of(act(b, pid, reviewed[0], "review", {"decision": "accept"}))
    [urgent] = create(project, project.job("urgent", priority_weight=9))
    back = claim_many(a, pid, 2)
    assert back[0]["job_id"] == reviewed[1] and back[0]["comment"] == "redo"
    assert back[1]["job_id"] == urgent
    # A pool limits the step kind to its group's members, batch claims included.
    group = data_of(api.post(f"/v1/projects/{pid}/groups", json={"name": "seniors"}))["group_id"]
    data_of(api.put(f"/v1/projects/{pid}/groups/{group}/members", json={"worker_ids": []}))
    settings_of(project, pools={"review": group})
    response = b.api.post(f"/work/v1/projects/{pid}/claim", json={"step": "review", "count": 5})
    error_of(response, 403, "unauthorized")
    # And the role still decides the step kinds.
    annotator = new_worker(project.account_id, "annotator")
    response = annotator.api.post(
        f"/work/v1/projects/{pid}/claim", json={"step": "review", "count": 5}
    )
    error_of(response, 403, "unauthorized")


def test_a_consensus_job_is_never_in_one_workers_batches_twice(
    new_project: NewProject, new_worker: NewWorker
) -> None:
    project = new_project(self_review=False)
    pid = project.project_id
    settings_of(project, overlap=2, agreement_threshold=0.0)
    ids = create(project, *(project.job(f"c{i}") for i in range(3)))
    a, b = new_worker(project.account_id), new_worker(project.account_id)
    first = [job["job_id"] for job in claim_many(a, pid, 10)]
    assert first == ids
    assert claim_many(b, pid, 10) == []  # all leased to a
    results = submit_list(a, pid, [{"job_id": job_id, "annotations": {}} for job_id in first])
    assert [r["step"] for r in results] == ["annotate"] * 3  # waiting for a second version
    assert claim_many(a, pid, 10) == []  # a gave theirs: never offered again
    second = [job["job_id"] for job in claim_many(b, pid, 10)]
    assert second == ids
    results = submit_list(b, pid, [{"job_id": job_id, "annotations": {}} for job_id in second])
    assert {r["status"] for r in results} == {"completed"}  # agreed: merged, past review


def test_list_submits_sample_reviews_by_the_accepted_count(
    new_project: NewProject, new_worker: NewWorker
) -> None:
    project = new_project(self_review=False)
    pid = project.project_id
    settings_of(project, sampling={"full_until": 2, "rate": 0.0})
    ids = create(project, *(project.job(f"s{i}") for i in range(5)))
    ann, rev = new_worker(project.account_id), new_worker(project.account_id, "reviewer")
    held = [job["job_id"] for job in claim_many(ann, pid, 3)]
    # Nothing of theirs accepted yet: all three go to review.
    results = submit_list(ann, pid, [{"job_id": job_id, "annotations": {}} for job_id in held])
    assert [r["step"] for r in results] == ["review"] * 3
    reviews = [job["job_id"] for job in claim_many(rev, pid, 2, "review")]
    review_list(rev, pid, [{"job_id": job_id, "decision": "accept"} for job_id in reviews])
    # Two accepted: past the threshold at rate 0, the rest skip review.
    rest = [job["job_id"] for job in claim_many(ann, pid, 5)]
    assert rest == ids[3:]
    results = submit_list(ann, pid, [{"job_id": job_id, "annotations": {}} for job_id in rest])
    assert [r["status"] for r in results] == ["completed", "completed"]
    detail = next(t for t in history(project, ids[4]) if t["action"] == "submit")["detail"]
    assert detail == {"sampling": "not sampled at 0% after 2 accepted", "sampled": False}


def test_batch_claims_mix_gold_at_the_rate_and_never_serve_it_twice(
    seeded: Server, opened: list[Any]
) -> None:
    project = make_project(seeded, self_review=False)
    opened.append(project)
    pid = project.project_id
    rate, per_claim, rounds, workers = 0.25, 10, 4, 4
    settings_of(project, gold_rate=rate)
    answer = {"rectangles": []}
    gold_ids = set(
        create(
            project,
            *(
                project.job(
                    f"gold{i}",
                    type="TEST",
                    data={"image_url": "https://i.example/g.jpg", "gold": answer},
                )
                for i in range(rounds * per_claim)
            ),
        )
    )
    create(project, *(project.job(f"real{i}") for i in range(rounds * workers * per_claim)))
    team = [make_worker(seeded, project.account_id) for _ in range(workers)]
    opened.extend(team)
    served = 0
    for _ in range(rounds):
        for worker in team:
            jobs = claim_many(worker, pid, per_claim)
            assert len(jobs) == per_claim and all("gold" not in job["data"] for job in jobs)
            served += sum(job["job_id"] in gold_ids for job in jobs)
            items = [{"job_id": job["job_id"], "annotations": {}} for job in jobs]
            assert all("error" not in r for r in submit_list(worker, pid, items))
    claims = rounds * workers * per_claim
    mean, sd = claims * rate, math.sqrt(claims * rate * (1 - rate))
    assert abs(served - mean) <= 4 * sd and served > 0, served
    for gid in gold_ids:
        submitters = [t["worker_id"] for t in history(project, gid) if t["action"] == "submit"]
        assert len(submitters) == len(set(submitters))
    reviewer = make_worker(seeded, project.account_id, "reviewer")
    opened.append(reviewer)
    assert not gold_ids & {job["job_id"] for job in claim_many(reviewer, pid, 100, "review")}


def test_concurrent_batch_claimers_never_share_a_job(
    server: Server, project: ProjectHandle, new_worker: NewWorker
) -> None:
    """8 workers on their own connections claim 7 at a time until the queue is empty."""
    pid, total = project.project_id, 300
    create(project, *(project.job(f"c{i}") for i in range(total)))
    team = [new_worker(project.account_id) for _ in range(8)]
    taken: list[str] = []
    errors: list[str] = []
    lock = threading.Lock()

    def work(worker: WorkerHandle) -> None:
        with server.client(authorization=worker.api.headers["authorization"]) as client:
            while True:
                response = client.post(
                    f"/work/v1/projects/{pid}/claim", json={"count": 7}, timeout=60
                )
                if response.status_code != 200:
                    errors.append(response.text)
                    return
                jobs = response.json()["data"]["jobs"]
                if not jobs:
                    return
                with lock:
                    taken.extend(job["job_id"] for job in jobs)

    threads = [threading.Thread(target=work, args=(worker,)) for worker in team]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors[:3]
    assert len(taken) == total and len(set(taken)) == total, Counter(taken).most_common(2)


def _abort_during_hand_ins(
    server: Server, project: ProjectHandle, team: list[WorkerHandle], name: str, per_worker: int
) -> None:
    """One round: a batch of ``per_worker`` jobs per worker, all claimed; then every worker
    hands its list in while the owner aborts the batch, released at once."""
    pid = project.project_id
    batch_id = data_of(project.api.post(f"/v1/projects/{pid}/batch", json={"name": name}))[
        "batch_id"
    ]
    ids = create(
        project,
        *(project.job(f"{name}-{i}", batch_id=batch_id) for i in range(per_worker * len(team))),
    )
    held = {worker.worker_id: claim_many(worker, pid, per_worker) for worker in team}
    assert sorted(job["job_id"] for jobs in held.values() for job in jobs) == sorted(ids)
    start = threading.Barrier(len(team) + 1)
    answers: list[tuple[str, int, Any]] = []
    lock = threading.Lock()

    def hand_in(worker: WorkerHandle) -> None:
        items = [
            {"job_id": job["job_id"], "annotations": {"rectangles": []}}
            for job in held[worker.worker_id]
        ]
        with server.client(authorization=worker.api.headers["authorization"]) as client:
            start.wait(timeout=60)
            response = client.post(
                f"/work/v1/projects/{pid}/submit", json={"jobs": items}, timeout=120
            )
        with lock:
            answers.append(("submit", response.status_code, response.json()))

    def abort() -> None:
        with server.client(**{"x-api-key": project.api_key}) as client:
            start.wait(timeout=60)
            response = client.post(f"/v1/projects/{pid}/batch/{batch_id}/abort", timeout=120)
        with lock:
            answers.append(("abort", response.status_code, response.json()))

    threads = [threading.Thread(target=hand_in, args=(worker,)) for worker in team]
    threads.append(threading.Thread(target=abort))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    assert sorted(status for _, status, _ in answers) == [200] * (len(team) + 1), answers
    for kind, _, body in answers:
        if kind == "submit":
            for result in body["data"]["results"]:
                # Handed in before the abort, or refused on its own: the job was aborted.
                assert "error" not in result or result["error"]["code"] == "conflict", result
    aborted = next(body for kind, _, body in answers if kind == "abort")["data"]
    # The abort took every job: those handed in before it (then waiting for review) too.
    assert aborted["aborted_jobs"] == len(ids)
    for job_id in ids:
        assert job_of(project, job_id)["status"] == "aborted"
        actions = [t["action"] for t in history(project, job_id)]
        assert actions.count("abort") == 1 and actions.count("submit") <= 1, actions


def test_a_batch_abort_during_list_hand_ins_of_its_jobs_never_deadlocks(
    server: Server, project: ProjectHandle, new_worker: NewWorker
) -> None:
    """Workers hand in lists of a batch's jobs while its owner aborts the batch, all at once.

    A list hand-in locks its jobs in id order; the abort locks every open job of the batch, in
    id order too (``store.work.open_jobs_of_batch``). Locked in another order (the batch's),
    PostgreSQL could find a deadlock between the two and answer one of them with 500.
    Whichever commits first, every job ends aborted exactly once, and every hand-in item is
    either applied (before the abort) or refused on its own."""
    team = [new_worker(project.account_id) for _ in range(8)]
    for round_ in range(2):
        _abort_during_hand_ins(server, project, team, f"abort-{round_}", per_worker=100)
