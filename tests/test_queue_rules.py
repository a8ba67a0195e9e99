"""The queue rules under contention: two ``labelyard serve`` processes on one database, many
workers claiming through both, never review a job they annotated (both engines)."""

from __future__ import annotations

import threading
from collections import defaultdict

import httpx
import pytest

from tests.test_replicas import replicas

pytestmark = pytest.mark.slow  # several processes: run in CI (see tests/conftest.py)

__all__ = ["replicas"]  # the fixture, shared with tests/test_replicas.py

JOBS = 60
WORKERS = 8


def test_no_worker_reviews_their_own_job_across_two_servers(
    replicas: tuple[list[str], dict[str, str]],
) -> None:
    urls, _ = replicas
    admin = {"authorization": "Bearer replica-admin-token"}
    created = httpx.post(
        f"{urls[0]}/admin/v1/projects", headers=admin, json={"name": "rules", "base": "IMAGE"}
    ).json()["data"]
    pid, key = created["project_id"], created["api_key"]
    owner = {"x-api-key": key}
    jobs = [
        {
            "reference_id": f"q{i}",
            "work_flow_id": created["work_flow_id"],
            "data": {"image_url": f"https://img.example/{i}.jpg"},
        }
        for i in range(JOBS)
    ]
    reply = httpx.post(
        f"{urls[1]}/v1/projects/{pid}/jobs/bulk", headers=owner, json={"jobs": jobs}, timeout=60
    )
    assert reply.status_code == 200
    workers = [
        httpx.post(
            f"{urls[i % 2]}/admin/v1/accounts/{created['account_id']}/workers",
            headers=admin,
            json={"name": f"w{i}", "role": "both"},
        ).json()["data"]
        for i in range(WORKERS)
    ]
    annotated: dict[str, str] = {}
    reviewed: dict[str, str] = {}
    lock = threading.Lock()
    errors: list[str] = []

    def work(index: int) -> None:
        me = workers[index]["worker_id"]
        headers = {"authorization": f"Bearer {workers[index]['token']}"}
        with httpx.Client(headers=headers, timeout=60) as client:
            turn = index
            # Annotate and review interleaved: a worker asks for review work while others are
            # still submitting, the moment a self-review could slip through.
            empty = {"annotate": False, "review": False}
            rounds = 0
            while not (empty["annotate"] and empty["review"]) and rounds < 10 * JOBS:
                rounds += 1
                step = "review" if turn % 3 == 0 else "annotate"
                base = urls[turn % 2]
                turn += 1
                response = client.post(f"{base}/work/v1/projects/{pid}/claim", json={"step": step})
                if response.status_code == 204:
                    empty[step] = True
                    continue
                if response.status_code != 200:
                    errors.append(response.text)
                    return
                empty = {"annotate": False, "review": False}
                job_id = response.json()["data"]["job_id"]
                path = f"{urls[turn % 2]}/work/v1/projects/{pid}/jobs/{job_id}"
                if step == "annotate":
                    done = client.post(f"{path}/submit", json={"annotations": {}})
                    with lock:
                        annotated[job_id] = me
                else:
                    with lock:
                        if annotated.get(job_id) == me:
                            errors.append(f"{me} got their own {job_id} to review")
                        reviewed[job_id] = me
                    done = client.post(f"{path}/review", json={"decision": "accept"})
                if done.status_code != 200:
                    errors.append(done.text)
                    return

    threads = [threading.Thread(target=work, args=(i,)) for i in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not errors, errors[:5]
    # A job whose annotator was the last worker still asking may be left for review: a reviewer
    # who annotated nothing takes what remains.
    closer = httpx.post(
        f"{urls[0]}/admin/v1/accounts/{created['account_id']}/workers",
        headers=admin,
        json={"name": "closer", "role": "reviewer"},
    ).json()["data"]
    with httpx.Client(headers={"authorization": f"Bearer {closer['token']}"}) as client:
        while True:
            response = client.post(
                f"{urls[1]}/work/v1/projects/{pid}/claim", json={"step": "review"}
            )
            if response.status_code == 204:
                break
            job_id = response.json()["data"]["job_id"]
            reviewed[job_id] = closer["worker_id"]
            path = f"{urls[0]}/work/v1/projects/{pid}/jobs/{job_id}/review"
            assert client.post(path, json={"decision": "accept"}).status_code == 200
    assert len(annotated) == JOBS and len(reviewed) == JOBS
    assert all(reviewed[j] != annotated[j] for j in annotated)
    # The server's own record says the same: per job, the submitter never accepted it.
    by_job: dict[str, dict[str, str]] = defaultdict(dict)
    with httpx.Client(base_url=urls[0], headers=owner, timeout=60) as client:
        for job_id in annotated:
            for t in client.get(f"/v1/projects/{pid}/jobs/{job_id}/history").json()["data"][
                "transitions"
            ]:
                by_job[job_id][t["action"]] = t["worker_id"]
    assert all(actions["submit"] != actions["accept"] for actions in by_job.values())


def test_batch_claims_through_two_servers_hand_each_job_to_one_worker(
    replicas: tuple[list[str], dict[str, str]],
) -> None:
    """8 workers claim 10 at a time through both servers, submit and review as lists: every
    job is annotated once and reviewed once, never by its annotator, and completes."""
    urls, _ = replicas
    admin = {"authorization": "Bearer replica-admin-token"}
    created = httpx.post(
        f"{urls[0]}/admin/v1/projects", headers=admin, json={"name": "lists", "base": "IMAGE"}
    ).json()["data"]
    pid, owner = created["project_id"], {"x-api-key": created["api_key"]}
    total = 200
    jobs = [
        {
            "reference_id": f"l{i}",
            "work_flow_id": created["work_flow_id"],
            "data": {"image_url": f"https://img.example/{i}.jpg"},
        }
        for i in range(total)
    ]
    reply = httpx.post(
        f"{urls[1]}/v1/projects/{pid}/jobs/bulk", headers=owner, json={"jobs": jobs}, timeout=60
    )
    assert reply.status_code == 200
    workers = [
        httpx.post(
            f"{urls[0]}/admin/v1/accounts/{created['account_id']}/workers",
            headers=admin,
            json={"name": f"l{i}", "role": "both"},
        ).json()["data"]
        for i in range(WORKERS)
    ]
    annotated: dict[str, list[str]] = defaultdict(list)
    reviewed: dict[str, list[str]] = defaultdict(list)
    lock = threading.Lock()
    errors: list[str] = []

    def work(index: int) -> None:
        me = workers[index]["worker_id"]
        headers = {"authorization": f"Bearer {workers[index]['token']}"}
        with httpx.Client(headers=headers, timeout=60) as client:
            turn, idle = index, 0
            while idle < 6 and not errors:
                step = "review" if turn % 2 else "annotate"
                base = urls[turn % 2]
                turn += 1
                response = client.post(
                    f"{base}/work/v1/projects/{pid}/claim", json={"step": step, "count": 10}
                )
                if response.status_code != 200:
                    errors.append(response.text)
                    return
                held = [job["job_id"] for job in response.json()["data"]["jobs"]]
                idle = 0 if held else idle + 1
                if not held:
                    continue
                with lock:
                    for job_id in held:
                        (annotated if step == "annotate" else reviewed)[job_id].append(me)
                if step == "annotate":
                    items = [{"job_id": job_id, "annotations": {}} for job_id in held]
                    path = f"{urls[turn % 2]}/work/v1/projects/{pid}/submit"
                else:
                    items = [{"job_id": job_id, "decision": "accept"} for job_id in held]
                    path = f"{urls[turn % 2]}/work/v1/projects/{pid}/review"
                done = client.post(path, json={"jobs": items})
                if done.status_code != 200 or any(
                    "error" in r for r in done.json()["data"]["results"]
                ):
                    errors.append(done.text)
                    return

    threads = [threading.Thread(target=work, args=(i,)) for i in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not errors, errors[:3]
    assert len(annotated) == total
    assert all(len(by) == 1 for by in annotated.values())
    assert all(len(by) == 1 for by in reviewed.values())
    assert all(reviewed[j][0] != annotated[j][0] for j in reviewed)
    # What the workers left (their own work, once the others stopped) a fresh reviewer takes.
    closer = httpx.post(
        f"{urls[0]}/admin/v1/accounts/{created['account_id']}/workers",
        headers=admin,
        json={"name": "closer", "role": "reviewer"},
    ).json()["data"]
    with httpx.Client(headers={"authorization": f"Bearer {closer['token']}"}) as client:
        while True:
            response = client.post(
                f"{urls[1]}/work/v1/projects/{pid}/claim", json={"step": "review", "count": 100}
            )
            left = [job["job_id"] for job in response.json()["data"]["jobs"]]
            if not left:
                break
            assert not set(left) & set(reviewed)
            items = [{"job_id": job_id, "decision": "accept"} for job_id in left]
            answer = client.post(f"{urls[0]}/work/v1/projects/{pid}/review", json={"jobs": items})
            assert all("error" not in r for r in answer.json()["data"]["results"])
    stats = httpx.get(f"{urls[0]}/v1/projects/{pid}/stats", headers=owner).json()["data"]
    assert stats["completed_jobs"] == total
