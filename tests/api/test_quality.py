"""The quality rules over HTTP, on both engines: no self-review, rejects back to their
annotator with reasons, groups and pools, assignment, gold jobs, review sampling, consensus."""

from __future__ import annotations

import math
import secrets
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from labelyard.config import Settings
from tests.api.test_lifecycle import act, claim, data_of, error_of, set_schema
from tests.conftest import (
    BACKENDS,
    ProjectHandle,
    Server,
    WorkerHandle,
    database_url,
    free_port,
    make_project,
    make_worker,
    start_server,
)

NewProject = Callable[..., ProjectHandle]
NewWorker = Callable[..., WorkerHandle]
SEED = 20261201
SCHEMA = {
    "classes": [
        {
            "name": "car",
            "shapes": ["rectangle"],
            "attributes": [{"name": "color", "type": "select", "options": ["red", "blue"]}],
        },
        {"name": "person", "shapes": ["rectangle"]},
    ]
}


def rect(
    label: str, x0: float, y0: float, x1: float, y1: float, _id: str = "", **attrs: Any
) -> dict[str, Any]:
    return {
        "_id": _id or f"{label}{x0}{y0}",
        "label": label,
        "attributes": {k: {"value": v} for k, v in attrs.items()},
        "coordinates": [
            {"x": x0, "y": y0},
            {"x": x1, "y": y0},
            {"x": x1, "y": y1},
            {"x": x0, "y": y1},
        ],
    }


def boxes(*rects: dict[str, Any]) -> dict[str, Any]:
    return {"rectangles": list(rects)}


def settings_of(project: ProjectHandle, **patch: Any) -> dict[str, Any]:
    answer: dict[str, Any] = data_of(
        project.api.patch(f"/v1/projects/{project.project_id}/quality", json=patch)
    )
    return answer


def create(project: ProjectHandle, *bodies: dict[str, Any]) -> list[str]:
    answer = data_of(
        project.api.post(f"/v1/projects/{project.project_id}/jobs/bulk", json={"jobs": bodies})
    )
    return [item["job_id"] for item in answer["results"]]


def history(project: ProjectHandle, job_id: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = data_of(
        project.api.get(f"/v1/projects/{project.project_id}/jobs/{job_id}/history")
    )["transitions"]
    return found


def annotate(worker: WorkerHandle, project_id: str, annotations: Any = None) -> str:
    job = claim(worker, project_id)
    assert job is not None
    data_of(act(worker, project_id, job["job_id"], "submit", {"annotations": annotations or {}}))
    job_id: str = job["job_id"]
    return job_id


def test_settings_are_read_changed_and_bad_ones_change_nothing(project: ProjectHandle) -> None:
    path = f"/v1/projects/{project.project_id}/quality"
    settings = data_of(project.api.get(path))
    assert settings["allow_self_review"] is True  # the flow tests' fixture allows it
    changed = settings_of(project, gold_rate=0.1, reject_reasons=["missed object"])
    assert changed["gold_rate"] == 0.1 and changed["reject_reasons"] == ["missed object"]
    for bad in ({"gold_rate": 2}, {"overlap": 11}, {"nope": 1}, {"pools": {"review": "x"}}):
        error_of(project.api.patch(path, json=bad), 400, "GE_0001")
    assert data_of(project.api.get(path)) == changed


def test_a_worker_never_reviews_a_job_they_annotated(
    new_project: NewProject, new_worker: NewWorker
) -> None:
    project = new_project(self_review=False)
    pid = project.project_id
    alice, bob = new_worker(project.account_id), new_worker(project.account_id)
    create(project, project.job("r1"))
    job_id = annotate(alice, pid)
    assert claim(alice, pid, "review") is None
    taken = claim(bob, pid, "review")
    assert taken is not None and taken["job_id"] == job_id
    # Rejected back, bob annotates it again: now neither may review it.
    data_of(act(bob, pid, job_id, "review", {"decision": "reject"}))
    again = claim(bob, pid)
    assert again is not None and again["job_id"] == job_id
    data_of(act(bob, pid, job_id, "submit", {"annotations": {}}))
    assert claim(alice, pid, "review") is None
    assert claim(bob, pid, "review") is None


@pytest.mark.parametrize("mode", ["first", "same", "anyone"])
def test_a_rejected_job_goes_back_to_its_annotator(
    new_project: NewProject, new_worker: NewWorker, mode: str
) -> None:
    project = new_project(self_review=False)
    pid = project.project_id
    settings_of(project, rejected_to=mode)
    ann, other, rev = (new_worker(project.account_id) for _ in range(3))
    # The rejected job has the lowest priority: only the rule can put it first.
    [low] = create(project, project.job("low", priority_weight=1))
    job_id = annotate(ann, pid)
    assert job_id == low
    create(
        project, project.job("high1", priority_weight=9), project.job("high2", priority_weight=9)
    )
    assert claim(rev, pid, "review")["job_id"] == low
    data_of(act(rev, pid, low, "review", {"decision": "reject", "comment": "redo"}))
    others_pick = claim(other, pid)
    assert others_pick is not None and others_pick["job_id"] != low
    mine = claim(ann, pid)
    if mode == "anyone":
        assert mine is not None and mine["job_id"] != low  # back in the open queue by priority
        return
    assert mine is not None and mine["job_id"] == low
    assert mine["comment"] == "redo"
    data_of(act(ann, pid, low, "skip"))
    # Skipped by its annotator: "same" keeps it from everyone else, "first" lets others have it.
    data_of(act(other, pid, others_pick["job_id"], "skip"))
    nxt = claim(other, pid)
    if mode == "same":
        assert nxt is None or nxt["job_id"] != low
    else:
        assert nxt is not None


def test_reject_reasons_reach_the_annotator(new_project: NewProject, new_worker: NewWorker) -> None:
    project = new_project(self_review=False)
    pid = project.project_id
    settings_of(project, reject_reasons=["missed object", "loose box", "wrong class"])
    ann, rev = new_worker(project.account_id), new_worker(project.account_id)
    create(project, project.job("j"))
    job_id = annotate(ann, pid)
    assert claim(rev, pid, "review")["job_id"] == job_id
    bad = act(rev, pid, job_id, "review", {"decision": "reject", "reasons": ["typo"]})
    assert "typo" in error_of(bad, 400, "GE_0001")
    bad = act(rev, pid, job_id, "review", {"decision": "reject", "reasons": "missed object"})
    error_of(bad, 400, "GE_0001")
    body = {"decision": "reject", "reasons": ["wrong class", "missed object"], "comment": "car"}
    data_of(act(rev, pid, job_id, "review", body))
    again = claim(ann, pid)
    assert again["job_id"] == job_id
    assert again["reject_reasons"] == ["wrong class", "missed object"]
    assert again["comment"] == "car"
    reject = [t for t in history(project, job_id) if t["action"] == "reject"]
    assert len(reject) == 1  # the refused rejects changed nothing
    assert reject[0]["detail"]["reasons"] == ["wrong class", "missed object"]
    assert reject[0]["detail"]["back_to"] == ann.worker_id
    tally = data_of(project.api.get(f"/v1/projects/{pid}/workers/{ann.worker_id}"))
    assert tally["rejected"] == 1


def test_groups_limit_steps_and_owners_assign_jobs_and_batches(
    new_project: NewProject, new_worker: NewWorker
) -> None:
    project = new_project(self_review=False)
    pid = project.project_id
    api = project.api
    a, b, c = (new_worker(project.account_id) for _ in range(3))
    group = data_of(api.post(f"/v1/projects/{pid}/groups", json={"name": "seniors"}))
    gid = group["group_id"]
    error_of(api.post(f"/v1/projects/{pid}/groups", json={"name": "seniors"}), 409, "conflict")
    data_of(api.put(f"/v1/projects/{pid}/groups/{gid}/members", json={"worker_ids": [b.worker_id]}))
    # Workers of another account are refused.
    outsider = new_project()
    stranger = new_worker(outsider.account_id)
    refused = api.put(
        f"/v1/projects/{pid}/groups/{gid}/members", json={"worker_ids": [stranger.worker_id]}
    )
    error_of(refused, 400, "GE_0001")
    listed = data_of(api.get(f"/v1/projects/{pid}/groups"))["groups"]
    assert listed == [{"group_id": gid, "name": "seniors", "worker_ids": [b.worker_id]}]

    settings_of(project, pools={"review": gid})
    ids = create(project, project.job("g1"), project.job("g2"), project.job("g3"))
    first = annotate(a, pid)
    assert act(c, pid, first, "heartbeat").status_code == 409
    error_of(
        c.api.post(f"/work/v1/projects/{pid}/claim", json={"step": "review"}), 403, "unauthorized"
    )
    assert claim(b, pid, "review")["job_id"] == first
    error_of(api.delete(f"/v1/projects/{pid}/groups/{gid}"), 400, "GE_0001")

    # One job to worker c alone; the rest of the batch to the group.
    data_of(api.post(f"/v1/projects/{pid}/jobs/{ids[2]}/assign", json={"worker_id": c.worker_id}))
    assert claim(a, pid)["job_id"] == ids[1]
    data_of(act(a, pid, ids[1], "skip"))
    assert claim(a, pid) is None  # ids[2] is c's alone
    assert claim(c, pid)["job_id"] == ids[2]
    data_of(act(c, pid, ids[2], "skip"))
    batch = f"/v1/projects/{pid}/batch/{project.default_batch_id}/assign"
    moved = data_of(api.post(batch, json={"group_id": gid}))
    assert moved["assigned_jobs"] == 3
    assert claim(c, pid) is None  # c skipped ids[2] and is not in the group
    assert [claim(b, pid)["job_id"] for _ in range(2)] == ids[1:]  # the group's member
    data_of(act(b, pid, ids[1], "skip"))
    data_of(act(b, pid, ids[2], "skip"))
    data_of(api.post(batch, json={}))  # unassign: open to anyone again
    assert claim(a, pid)["job_id"] == ids[2]
    assigned = [t for t in history(project, ids[2]) if t["action"] in ("assign", "unassign")]
    assert [t["action"] for t in assigned] == ["assign", "assign", "unassign"]
    for bad in (
        {"worker_id": "nope"},
        {"worker_id": stranger.worker_id},
        {"group_id": a.worker_id},
    ):
        error_of(api.post(f"/v1/projects/{pid}/jobs/{ids[2]}/assign", json=bad), 400, "GE_0001")
    error_of(
        outsider.api.post(f"/v1/projects/{outsider.project_id}/jobs/{ids[2]}/assign", json={}),
        404,
        "resource_error",
    )


@pytest.fixture(scope="module", params=BACKENDS)
def seeded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """A server whose gold and sampling draws come from a seeded generator."""
    backend: str = request.param
    tmp = tmp_path_factory.mktemp(f"seeded-{backend}")
    settings = Settings(
        data_dir=tmp,
        database_url=database_url(backend, tmp, request),
        admin_token=secrets.token_urlsafe(16),
        port=free_port(),
        random_seed=SEED,
        auth_failures_burst=100_000,
    )
    uv, thread = start_server(settings)
    yield Server(backend=backend, base_url=f"http://127.0.0.1:{settings.port}", settings=settings)
    uv.should_exit = True
    thread.join(timeout=30)


@pytest.fixture
def opened() -> Iterator[list[Any]]:
    """Handles made on the seeded server, whose clients close afterwards."""
    handles: list[Any] = []
    yield handles
    for handle in handles:
        handle.api.close()


ANSWER = boxes(rect("car", 0, 0, 0.5, 0.5, color="red"), rect("car", 0.5, 0.5, 1, 1, color="blue"))


def test_gold_jobs_are_served_at_their_rate_scored_and_never_reviewed(
    seeded: Server, opened: list[Any]
) -> None:
    project = make_project(seeded, self_review=False)
    opened.append(project)
    pid = project.project_id
    set_schema(seeded, pid, SCHEMA)
    rate, claims, workers = 0.25, 160, 4
    settings_of(project, gold_rate=rate)
    gold = [
        project.job(
            f"gold{i}", type="TEST", data={"image_url": "https://i.example/g.jpg", "gold": ANSWER}
        )
        for i in range(claims // workers)
    ]
    real = [project.job(f"real{i}") for i in range(claims)]
    gold_ids = set(create(project, *gold))
    create(project, *real)
    bad = project.job(
        "badgold", type="TEST", data={"image_url": "https://i.example/b.jpg", "gold": "x"}
    )
    error_of(project.api.post(f"/v1/projects/{pid}/jobs", json=bad), 400, "GE_0001")
    team = [make_worker(seeded, project.account_id) for _ in range(workers)]
    opened.extend(team)
    # One hand-built submission, scored exactly: one box right (IoU 0.8), one of the wrong class.
    submitted = boxes(rect("car", 0, 0, 0.5, 0.4, color="red"), rect("person", 0.5, 0.5, 1, 1))
    served = 0
    for n in range(claims):
        worker = team[n % workers]
        job = claim(worker, pid)
        assert job is not None and "gold" not in job["data"]
        is_gold = job["job_id"] in gold_ids
        served += is_gold
        body = submitted if is_gold else boxes()
        data_of(act(worker, pid, job["job_id"], "submit", {"annotations": body}))
    # Within 4 standard deviations of the binomial mean (and the seed makes it repeatable).
    mean, sd = claims * rate, math.sqrt(claims * rate * (1 - rate))
    assert abs(served - mean) <= 4 * sd, served
    assert served > 0
    scores = data_of(project.api.get(f"/v1/projects/{pid}/workers"))["workers"]
    assert sum(w["gold_jobs"] for w in scores) == served
    detail = data_of(project.api.get(f"/v1/projects/{pid}/workers/{team[0].worker_id}"))
    expected = 0.5 * (0.8 + 1.0) / 2
    for item in detail["gold_scores"]:
        assert item["score"] == pytest.approx(expected)
        assert item["parts"]["mean_iou"] == pytest.approx(0.8)
        assert (item["parts"]["precision"], item["parts"]["recall"]) == (0.5, 0.5)
    assert detail["gold_score"] == pytest.approx(expected)
    # Never in review, never counted: the review queue holds only real jobs.
    reviewer = make_worker(seeded, project.account_id, "reviewer")
    opened.append(reviewer)
    for _ in range(5):
        job = claim(reviewer, pid, "review")
        assert job is not None and job["job_id"] not in gold_ids
        data_of(act(reviewer, pid, job["job_id"], "review", {"decision": "accept"}))
    stats = data_of(project.api.get(f"/v1/projects/{pid}/stats"))
    assert stats["completed_jobs"] == 5
    assert stats["total_jobs"] == claims  # the gold jobs are not the batch's output

    # A gold job is never served twice to one worker.
    per_job = {
        gid: [t["worker_id"] for t in history(project, gid) if t["action"] == "submit"]
        for gid in gold_ids
    }
    for submitters in per_job.values():
        assert len(submitters) == len(set(submitters))


def test_a_test_job_without_an_answer_is_ordinary_work(project: ProjectHandle) -> None:
    """The hosted API's clients send TEST jobs with no answer: they stay plain jobs."""
    [job_id] = create(project, project.job("plain-test", type="TEST"))
    stats = data_of(project.api.get(f"/v1/projects/{project.project_id}/stats"))
    assert stats["total_jobs"] == 1
    job = data_of(project.api.get(f"/v1/projects/{project.project_id}/jobs/{job_id}"))
    assert job["status"] == "created"


def test_review_sampling_follows_its_rule(seeded: Server, opened: list[Any]) -> None:
    project = make_project(seeded, self_review=False)
    pid = project.project_id
    settings_of(project, sampling={"full_until": 2, "rate": 0.0})
    ann = make_worker(seeded, project.account_id)
    rev = make_worker(seeded, project.account_id, "reviewer")
    opened.extend([project, ann, rev])
    ids = create(project, *(project.job(f"s{i}") for i in range(5)))
    # Until two of theirs are accepted, everything goes to review.
    for _ in range(2):
        job_id = annotate(ann, pid)
        assert claim(rev, pid, "review")["job_id"] == job_id
        data_of(act(rev, pid, job_id, "review", {"decision": "accept"}))
    for _ in range(3):
        job_id = annotate(ann, pid)
        assert claim(rev, pid, "review") is None
        answer = data_of(project.api.get(f"/v1/projects/{pid}/jobs/{job_id}"))
        assert answer["status"] == "completed"
    first = next(t for t in history(project, ids[0]) if t["action"] == "submit")
    assert first["detail"] == {
        "sampling": "full review until 2 accepted (0 so far)",
        "sampled": True,
    }
    last = next(t for t in history(project, ids[4]) if t["action"] == "submit")
    assert last["detail"]["sampled"] is False
    assert last["detail"]["sampling"] == "not sampled at 0% after 2 accepted"
    assert data_of(project.api.get(f"/v1/projects/{pid}/workers/{ann.worker_id}"))["accepted"] == 5

    # A fraction: about half of 40 submissions once past the threshold.
    settings_of(project, sampling={"full_until": 0, "rate": 0.5})
    create(project, *(project.job(f"h{i}") for i in range(40)))
    reviewed = 0
    for _ in range(40):
        annotate(ann, pid)
        job = claim(rev, pid, "review")
        if job is not None:
            reviewed += 1
            data_of(act(rev, pid, job["job_id"], "review", {"decision": "accept"}))
    assert abs(reviewed - 20) <= 4 * math.sqrt(40 * 0.25), reviewed


V1 = boxes(
    rect("car", 0, 0, 0.4, 0.4, "a", color="red"), rect("car", 0.6, 0.6, 1, 1, "b", color="red")
)
V2 = boxes(
    rect("car", 0, 0, 0.4, 0.4, "a", color="red"), rect("car", 0.6, 0.6, 1, 1, "b", color="blue")
)
V3 = boxes(rect("car", 0, 0, 0.4, 0.32, "a", color="red"))


def test_consensus_of_three_merges_or_sends_three_versions_to_review(
    new_project: NewProject, new_worker: NewWorker, server: Server
) -> None:
    project = new_project(self_review=False)
    pid = project.project_id
    set_schema(server, pid, SCHEMA)
    settings_of(project, overlap=3, agreement_threshold=0.8)
    team = [new_worker(project.account_id, "annotator") for _ in range(3)]
    reviewer = new_worker(project.account_id, "reviewer")
    [disputed, agreed] = create(project, project.job("c1"), project.job("c2", priority_weight=1))
    for worker, version in zip(team, (V1, V2, V3), strict=True):
        job = claim(worker, pid)
        assert job["job_id"] == disputed and job["draft"]["rectangles"] == []
        data_of(act(worker, pid, disputed, "submit", {"annotations": version}))
        # Nobody gives two versions of one job: their next claim is the other job.
        if worker is not team[-1]:
            nxt = claim(worker, pid)
            assert nxt["job_id"] == agreed
            data_of(act(worker, pid, agreed, "skip"))
    transitions = [t for t in history(project, disputed) if t["action"] == "submit"]
    assert transitions[-1]["detail"]["agreement"] == pytest.approx((0.5 + 2 / 3 + 2 / 3) / 3)
    assert transitions[-1]["detail"]["consensus"] == "below threshold: to review"
    review = claim(reviewer, pid, "review")
    assert review["job_id"] == disputed
    assert [v["annotations"] for v in review["versions"]] == [V1, V2, V3]
    merged = review["draft"]["rectangles"]
    assert len(merged) == 2 and merged[1]["attributes"] == {"color": {"value": "red"}}
    data_of(act(reviewer, pid, disputed, "review", {"decision": "accept", "annotations": V2}))
    assert data_of(project.api.get(f"/v1/projects/{pid}/jobs/{disputed}"))["status"] == "completed"

    fresh = [new_worker(project.account_id, "annotator") for _ in range(3)]
    for worker in fresh:
        job = claim(worker, pid)
        assert job["job_id"] == agreed
        data_of(act(worker, pid, agreed, "submit", {"annotations": V1}))
    assert data_of(project.api.get(f"/v1/projects/{pid}/jobs/{agreed}"))["status"] == "completed"
    done = [t for t in history(project, agreed) if t["action"] == "submit"][-1]
    assert done["detail"]["agreement"] == 1.0 and done["to_status"] == "completed"
    versions = project.api.get(f"/v1/projects/{pid}/jobs/{agreed}/versions").json()
    assert [v["worker_id"] for v in versions["versions"]] == [w.worker_id for w in fresh]
