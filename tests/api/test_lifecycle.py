"""Jobs through their workflow over HTTP: claim, draft, submit, review, results, leases."""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.conftest import ProjectHandle, Server, WorkerHandle

NewProject = Callable[..., ProjectHandle]
NewWorker = Callable[..., WorkerHandle]

SCHEMA = {
    "classes": [
        {
            "name": "car",
            "shapes": ["rectangle", "polygon"],
            "attributes": [
                {"name": "color", "type": "select", "options": ["red", "blue"], "required": True},
                {"name": "parked", "type": "boolean"},
                {"name": "tags", "type": "multiselect", "options": ["a", "b"]},
                {"name": "note", "type": "text"},
                {"name": "score", "type": "number"},
            ],
        },
        {"name": "person", "shapes": ["landmark", "line", "rectangle"]},
    ]
}


def rect(_id: str, x0: float, y0: float, x1: float, y1: float, **attributes: Any) -> dict[str, Any]:
    corners = [{"x": x0, "y": y0}, {"x": x1, "y": y0}, {"x": x1, "y": y1}, {"x": x0, "y": y1}]
    return {
        "_id": _id,
        "label": "car",
        "attributes": {k: {"value": v} for k, v in ({"color": "red"} | attributes).items()},
        "coordinates": corners,
    }


def image_annotations(*rects: dict[str, Any]) -> dict[str, Any]:
    return {
        "rectangles": list(rects),
        "landmarks": [
            {
                "_id": "p1",
                "label": "person",
                "attributes": {},
                "points": {"p1": {"x": 0.5, "y": 0.5}},
            }
        ],
    }


def data_of(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()["data"]


def error_of(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code, error
    message: str = error["message"]
    return message


def set_schema(server: Server, project_id: str, schema: dict[str, Any]) -> None:
    with server.admin() as admin:
        data_of(admin.put(f"/admin/v1/projects/{project_id}/schema", json=schema))


def claim(worker: WorkerHandle, project_id: str, step: str = "annotate", **extra: Any) -> Any:
    response = worker.api.post(
        f"/work/v1/projects/{project_id}/claim", json={"step": step, **extra}
    )
    if response.status_code == 204:
        return None
    return data_of(response)


def act(
    worker: WorkerHandle, project_id: str, job_id: str, action: str, body: Any = None
) -> httpx.Response:
    return worker.api.post(
        f"/work/v1/projects/{project_id}/jobs/{job_id}/{action}", json=body or {}
    )


VIDEO_FRAMES = [{"frame_id": f"f{i}", "src": f"https://v.example/{i}.jpg"} for i in range(3)]
SENSOR_DATA = {
    "sensor_meta": [
        {"id": "lidar", "name": "lidar", "modality": "lidar"},
        {"id": "cam", "name": "front", "modality": "camera"},
    ],
    "frames": [
        {
            "frame_id": f"s{i}",
            "sensors": [
                {"sensor_id": "lidar", "data_url": f"https://pc.example/{i}.pcd"},
                {"sensor_id": "cam", "data_url": f"https://img.example/{i}.jpg"},
            ],
        }
        for i in range(2)
    ],
}


def tracker(_id: str, frames: dict[str, Any], shape: str = "rectangle") -> dict[str, Any]:
    return {
        "_id": _id,
        "type": shape,
        "label": "car",
        "attributes": {"color": {"value": "blue"}},
        "frames": frames,
    }


def box(x0: float, y0: float, x1: float, y1: float, **extra: Any) -> dict[str, Any]:
    corners = [{"x": x0, "y": y0}, {"x": x1, "y": y0}, {"x": x1, "y": y1}, {"x": x0, "y": y1}]
    return {"coordinates": corners, **extra}


CASES = {
    "IMAGE": (
        {
            "image_url": "https://img.example/a.jpg",
            "maker_response": {"rectangles": [rect("pre", 0.1, 0.1, 0.2, 0.2)]},
        },
        image_annotations(rect("r1", 0.1, 0.2, 0.4, 0.5, parked=True, tags=["a"], score=3.5)),
        1,
    ),
    "VIDEO": (
        {"video_data": {"frames": VIDEO_FRAMES}},
        [tracker("t1", {"f0": box(0.1, 0.1, 0.3, 0.3), "f1": box(0.2, 0.1, 0.4, 0.3)})],
        3,
    ),
    "SENSOR_FUSION": (
        {"sensor_data": SENSOR_DATA},
        [
            tracker(
                "t1",
                {
                    "s0": box(0.1, 0.1, 0.3, 0.3, sensor_id="cam"),
                    "s1": box(0.1, 0.2, 0.3, 0.4, sensor_id="cam"),
                },
            )
        ],
        2,
    ),
}


@pytest.mark.parametrize("base", list(CASES))
def test_whole_path_create_to_completed_result(
    server: Server, new_project: NewProject, new_worker: NewWorker, base: str
) -> None:
    data, annotations, frames = CASES[base]
    p = new_project(base)
    schema = (
        SCHEMA
        if base == "IMAGE"
        else {
            "classes": [
                {
                    "name": "car",
                    "attributes": [{"name": "color", "type": "select", "options": ["red", "blue"]}],
                }
            ]
        }
    )
    set_schema(server, p.project_id, schema)
    annotator, reviewer = (
        new_worker(p.account_id, "annotator"),
        new_worker(p.account_id, "reviewer"),
    )
    job_id = data_of(p.api.post(f"/v1/projects/{p.project_id}/jobs", json=p.job("w1", data=data)))[
        "job_id"
    ]

    job = claim(annotator, p.project_id)
    assert job["job_id"] == job_id and job["step"] == "annotate" and job["comment"] is None
    assert job["data"] == data and job["schema"]["classes"][0]["name"] == "car"
    if base == "IMAGE":
        assert job["draft"]["rectangles"] == data["maker_response"]["rectangles"]
    status = data_of(p.api.get(f"/v1/projects/{p.project_id}/jobs/{job_id}"))["status"]
    assert status == "in_progress"
    assert claim(new_worker(p.account_id, "annotator"), p.project_id) is None  # leased

    data_of(act(annotator, p.project_id, job_id, "draft", {"annotations": annotations}))
    moved = data_of(act(annotator, p.project_id, job_id, "submit", {"annotations": annotations}))
    assert moved == {"job_id": job_id, "status": "in_progress", "step": "review"}

    in_review = claim(reviewer, p.project_id, "review")
    assert in_review["draft"] == annotations
    rejected = data_of(
        act(
            reviewer,
            p.project_id,
            job_id,
            "review",
            {"decision": "reject", "comment": "box too loose"},
        )
    )
    assert rejected["step"] == "annotate"

    again = claim(annotator, p.project_id)
    assert again["job_id"] == job_id and again["comment"] == "box too loose"
    assert again["draft"] == annotations
    data_of(act(annotator, p.project_id, job_id, "submit", {"annotations": annotations}))
    claim(reviewer, p.project_id, "review")
    done = data_of(act(reviewer, p.project_id, job_id, "review", {"decision": "accept"}))
    assert done == {"job_id": job_id, "status": "completed", "step": None}

    view = data_of(p.api.get(f"/v0/projects/{p.project_id}/jobs/{job_id}"))
    assert view["status"] == "completed"
    assert view["result"] == f"{server.base_url}/files/results/{p.project_id}/{job_id}.json"
    redirect = p.api.get("/v1/attachments", params={"url": view["result"]})
    assert redirect.status_code == 302
    result = httpx.get(redirect.headers["location"]).json()
    assert result == p.api.get(f"/v1/projects/{p.project_id}/jobs/{job_id}/result").json()
    if base == "IMAGE":
        assert result["data"]["image_url"] == data["image_url"]
        assert result["data"]["annotations"]["rectangles"] == annotations["rectangles"]
        assert result["data"]["annotations"]["polygons"] == []
        count = 2
    else:
        key = "video_data" if base == "VIDEO" else "sensor_data"
        assert result["data"][key] == data[key]
        assert result["data"]["annotation_data"]["annotations"] == annotations
        count = 1

    stats = data_of(p.api.get(f"/v1/projects/{p.project_id}/stats"))
    assert (stats["completed_jobs"], stats["completed_frames"], stats["annotations"]) == (
        1,
        frames,
        count,
    )
    assert stats["completed_batches"] == 1
    page = data_of(p.api.get(f"/v1/projects/{p.project_id}/batch/{p.default_batch_id}"))
    assert page["jobs"][0]["status"] == "completed" and page["jobs"][0]["annotations"] == count

    history = data_of(p.api.get(f"/v1/projects/{p.project_id}/jobs/{job_id}/history"))[
        "transitions"
    ]
    assert [h["action"] for h in history] == [
        "claim",
        "submit",
        "claim",
        "reject",
        "claim",
        "submit",
        "claim",
        "accept",
    ]
    assert (
        history[3]["comment"] == "box too loose" and history[3]["worker_id"] == reviewer.worker_id
    )
    assert (history[-1]["from_status"], history[-1]["to_status"]) == ("in_progress", "completed")
    assert (history[0]["from_status"], history[0]["to_status"]) == ("created", "in_progress")


def test_reviewer_may_correct_before_accepting(
    server: Server, project: ProjectHandle, new_worker: NewWorker
) -> None:
    set_schema(server, project.project_id, SCHEMA)
    worker = new_worker(project.account_id, "both")
    job_id = data_of(
        project.api.post(f"/v1/projects/{project.project_id}/jobs", json=project.job("c"))
    )["job_id"]
    claim(worker, project.project_id)
    act(
        worker,
        project.project_id,
        job_id,
        "submit",
        {"annotations": image_annotations(rect("a", 0, 0, 0.5, 0.5))},
    )
    claim(worker, project.project_id, "review")
    corrected = image_annotations(rect("a", 0.1, 0.1, 0.5, 0.5, color="blue"))
    data_of(
        act(
            worker,
            project.project_id,
            job_id,
            "review",
            {"decision": "accept", "annotations": corrected},
        )
    )
    result = project.api.get(f"/v1/projects/{project.project_id}/jobs/{job_id}/result").json()
    assert result["data"]["annotations"]["rectangles"] == corrected["rectangles"]


def test_claim_order_priority_then_oldest_and_empty_queue(
    project: ProjectHandle, new_worker: NewWorker
) -> None:
    url = f"/v1/projects/{project.project_id}/jobs"
    ids = {}
    for ref, priority in [("low", 1), ("old5", 5), ("high", 9), ("new5", 5)]:
        ids[ref] = data_of(project.api.post(url, json=project.job(ref, priority_weight=priority)))[
            "job_id"
        ]
    data_of(project.api.post(f"{url}/{ids['low']}/priority", json={"priority_weight": 10}))
    worker = new_worker(project.account_id)
    order = [claim(worker, project.project_id)["reference_id"] for _ in range(4)]
    assert order == ["low", "high", "old5", "new5"]
    assert claim(worker, project.project_id) is None
    error_of(
        project.api.post(f"{url}/{ids['low']}/priority", json={"priority_weight": 11}),
        400,
        "FS_00012",
    )


def test_lease_expiry_frees_the_job_and_the_old_holder_gets_409(
    project: ProjectHandle, new_worker: NewWorker
) -> None:
    url = f"/v1/projects/{project.project_id}/jobs"
    job_id = data_of(project.api.post(url, json=project.job("l", priority_weight=9)))["job_id"]
    idle_id = data_of(project.api.post(url, json=project.job("idle")))["job_id"]
    first, second = new_worker(project.account_id), new_worker(project.account_id)
    assert claim(first, project.project_id, lease_seconds=1)["job_id"] == job_id
    assert claim(first, project.project_id, lease_seconds=1)["job_id"] == idle_id
    assert claim(second, project.project_id) is None
    time.sleep(1.3)
    assert claim(second, project.project_id)["job_id"] == job_id
    body = {"annotations": {"rectangles": []}}
    message = error_of(act(first, project.project_id, job_id, "submit", body), 409, "conflict")
    assert "lease" in message
    error_of(act(first, project.project_id, job_id, "heartbeat"), 409, "conflict")
    error_of(act(first, project.project_id, job_id, "draft", body), 409, "conflict")
    data_of(act(second, project.project_id, job_id, "submit", body))
    # Expired but not yet taken by anyone: the lease is still gone.
    error_of(act(first, project.project_id, idle_id, "submit", body), 409, "conflict")
    error_of(act(first, project.project_id, idle_id, "heartbeat"), 409, "conflict")


def test_heartbeat_keeps_the_lease(project: ProjectHandle, new_worker: NewWorker) -> None:
    job_id = data_of(
        project.api.post(f"/v1/projects/{project.project_id}/jobs", json=project.job("h"))
    )["job_id"]
    first, second = new_worker(project.account_id), new_worker(project.account_id)
    claim(first, project.project_id, lease_seconds=1)
    data_of(act(first, project.project_id, job_id, "heartbeat", {"lease_seconds": 60}))
    time.sleep(1.3)
    assert claim(second, project.project_id) is None
    data_of(act(first, project.project_id, job_id, "submit", {"annotations": {}}))


def test_skip_offers_the_job_to_others_only(project: ProjectHandle, new_worker: NewWorker) -> None:
    job_id = data_of(
        project.api.post(f"/v1/projects/{project.project_id}/jobs", json=project.job("s"))
    )["job_id"]
    first, second = new_worker(project.account_id), new_worker(project.account_id)
    claim(first, project.project_id)
    data_of(act(first, project.project_id, job_id, "skip", {"reason": "blurry"}))
    assert claim(first, project.project_id) is None
    assert claim(second, project.project_id)["job_id"] == job_id


def test_roles_and_accounts(server: Server, new_project: NewProject, new_worker: NewWorker) -> None:
    p, other = new_project(), new_project(name="other")
    annotator = new_worker(p.account_id, "annotator")
    reviewer = new_worker(p.account_id, "reviewer")
    outsider = new_worker(other.account_id, "both")
    error_of(
        annotator.api.post(f"/work/v1/projects/{p.project_id}/claim", json={"step": "review"}),
        403,
        "unauthorized",
    )
    error_of(
        reviewer.api.post(f"/work/v1/projects/{p.project_id}/claim", json={"step": "annotate"}),
        403,
        "unauthorized",
    )
    error_of(
        outsider.api.post(f"/work/v1/projects/{p.project_id}/claim", json={}), 403, "unauthorized"
    )
    error_of(
        annotator.api.post(f"/work/v1/projects/{p.project_id}/claim", json={"step": "qa"}),
        400,
        "GE_0001",
    )
    with server.client(authorization="Bearer lyw_nope") as nobody:
        error_of(
            nobody.post(f"/work/v1/projects/{p.project_id}/claim", json={}), 401, "auth-failure"
        )
    with server.client(**{"x-api-key": p.api_key}) as owner_as_worker:
        error_of(
            owner_as_worker.post(f"/work/v1/projects/{p.project_id}/claim", json={}),
            401,
            "auth-failure",
        )


INVALID = [
    (
        {"rectangles": [rect("a", 0, 0, 0.5, 0.5, color="green")]},
        "annotations.rectangles[0].attributes.color",
    ),
    (
        {"rectangles": [{**rect("a", 0, 0, 0.5, 0.5), "attributes": {}}]},
        "annotations.rectangles[0].attributes.color",
    ),
    (
        {"rectangles": [rect("a", 0, 0, 0.5, 0.5), rect("b", 0, 0, 0.5, 0.5, parked="yes")]},
        "annotations.rectangles[1].attributes.parked",
    ),
    (
        {"rectangles": [rect("a", 0, 0, 0.5, 0.5, score="high")]},
        "annotations.rectangles[0].attributes.score",
    ),
    (
        {"rectangles": [rect("a", 0, 0, 0.5, 0.5, tags=["c"])]},
        "annotations.rectangles[0].attributes.tags",
    ),
    (
        {"rectangles": [rect("a", 0, 0, 0.5, 0.5, wheels=4)]},
        "annotations.rectangles[0].attributes.wheels",
    ),
    (
        {"rectangles": [{**rect("a", 0, 0, 0.5, 0.5), "label": "tree"}]},
        "annotations.rectangles[0].label",
    ),
    ({"rectangles": [rect("a", 0, 0, 1.5, 0.5)]}, "annotations.rectangles[0].coordinates[1].x"),
    (
        {"rectangles": [{**rect("a", 0, 0, 0.5, 0.5), "coordinates": [{"x": 0, "y": 0}] * 3}]},
        "annotations.rectangles[0].coordinates",
    ),
    (
        {"rectangles": [rect("a", 0, 0, 0.5, 0.5), rect("a", 0, 0, 0.2, 0.2)]},
        "annotations.rectangles[1]._id",
    ),
    (
        {
            "polygons": [
                {
                    "_id": "p",
                    "label": "car",
                    "attributes": {"color": {"value": "red"}},
                    "points": {"p1": {"x": 0, "y": 0}, "p2": {"x": 1, "y": 1}},
                }
            ]
        },
        "annotations.polygons[0].points",
    ),
    (
        {
            "landmarks": [
                {
                    "_id": "l",
                    "label": "car",
                    "attributes": {"color": {"value": "red"}},
                    "points": {"p1": {"x": 0, "y": 0}},
                }
            ]
        },
        "annotations.landmarks[0]",
    ),
    ({"circles": []}, "annotations.circles"),
]


@pytest.mark.parametrize(("annotations", "path"), INVALID)
def test_invalid_annotations_name_the_path_and_save_nothing(
    server: Server, project: ProjectHandle, new_worker: NewWorker, annotations: Any, path: str
) -> None:
    set_schema(server, project.project_id, SCHEMA)
    job_id = data_of(
        project.api.post(f"/v1/projects/{project.project_id}/jobs", json=project.job("v"))
    )["job_id"]
    worker = new_worker(project.account_id)
    claim(worker, project.project_id)
    for action in ("draft", "submit"):
        message = error_of(
            act(worker, project.project_id, job_id, action, {"annotations": annotations}),
            400,
            "GE_0001",
        )
        assert message.startswith(path + ":"), message
    history = data_of(project.api.get(f"/v1/projects/{project.project_id}/jobs/{job_id}/history"))
    assert [h["action"] for h in history["transitions"]] == ["claim"]
    assert claim(worker, project.project_id) is None  # still leased to this worker, not moved


def test_video_frame_ids_must_exist(
    server: Server, new_project: NewProject, new_worker: NewWorker
) -> None:
    p = new_project("VIDEO")
    job_id = data_of(
        p.api.post(
            f"/v1/projects/{p.project_id}/jobs",
            json=p.job("v", data={"video_data": {"frames": VIDEO_FRAMES}}),
        )
    )["job_id"]
    worker = new_worker(p.account_id)
    claim(worker, p.project_id)
    bad = [tracker("t", {"f9": box(0, 0, 0.1, 0.1)})]
    message = error_of(
        act(worker, p.project_id, job_id, "submit", {"annotations": bad}), 400, "GE_0001"
    )
    assert message.startswith("annotations[0].frames.f9:")


def test_attachment_links(server: Server, new_project: NewProject, new_worker: NewWorker) -> None:
    p, stranger = new_project(), new_project(name="stranger")
    worker = new_worker(p.account_id)
    job_id = data_of(p.api.post(f"/v1/projects/{p.project_id}/jobs", json=p.job("a")))["job_id"]
    claim(worker, p.project_id)
    act(worker, p.project_id, job_id, "submit", {"annotations": {}})
    claim(worker, p.project_id, "review")
    act(worker, p.project_id, job_id, "review", {"decision": "accept"})
    result_url = data_of(p.api.get(f"/v1/projects/{p.project_id}/jobs/{job_id}"))["result"]
    link = p.api.get("/v1/attachments", params={"url": result_url}).headers["location"]
    assert httpx.get(link).status_code == 200

    parts = urllib.parse.urlsplit(link)
    query = dict(urllib.parse.parse_qsl(parts.query))
    plain = httpx.get(result_url)
    assert plain.status_code == 403 and plain.json()["error"]["code"] == "unauthorized"
    tampered = {
        **query,
        "signature": query["signature"][:-1] + ("0" if query["signature"][-1] != "0" else "1"),
    }
    assert httpx.get(result_url, params=tampered).status_code == 403
    later = {**query, "expires": str(int(query["expires"]) + 3600)}
    assert httpx.get(result_url, params=later).status_code == 403  # expiry is signed too
    expired = signed_link(server, result_url, ttl=-10)
    response = httpx.get(expired)
    assert response.status_code == 403 and "expired" in response.json()["error"]["message"]

    error_of(stranger.api.get("/v1/attachments", params={"url": result_url}), 403, "unauthorized")
    error_of(
        p.api.get("/v1/attachments", params={"url": "https://elsewhere.example/x.json"}),
        403,
        "unauthorized",
    )
    other_path = result_url.replace(job_id, "00000000-0000-4000-8000-000000000000")
    # Only current results are signed: not a job that does not exist (or has no result).
    error_of(p.api.get("/v1/attachments", params={"url": other_path}), 403, "unauthorized")
    with server.client() as anonymous:
        error_of(anonymous.get("/v1/attachments", params={"url": result_url}), 401, "auth-failure")


def signed_link(server: Server, url: str, *, ttl: int) -> str:
    """A link signed with the server's real key (read from its database) but already expired."""
    import asyncio

    from labelyard.core import signing
    from labelyard.store.engine import Database
    from labelyard.store.secrets import get_or_create_secret

    async def key() -> bytes:
        db = Database(server.settings.resolved_database_url(), pool_size=1)
        try:
            async with db.write() as conn:
                value = await get_or_create_secret(conn, name="file_link_key", factory=lambda: "")
            return bytes.fromhex(value)
        finally:
            await db.dispose()

    path = urllib.parse.urlsplit(url).path
    return f"{url}?{signing.signed_query(asyncio.run(key()), path, now=int(time.time()), ttl=ttl)}"


def test_owner_abort_reopen_and_counters(project: ProjectHandle, new_worker: NewWorker) -> None:
    pid = project.project_id
    batch = data_of(project.api.post(f"/v1/projects/{pid}/batch", json={"name": "b"}))["batch_id"]
    jobs = [
        data_of(
            project.api.post(f"/v1/projects/{pid}/jobs", json=project.job(f"o{i}", batch_id=batch))
        )["job_id"]
        for i in range(4)
    ]
    worker = new_worker(project.account_id)
    # Complete job 0.
    claim(worker, pid)
    act(worker, pid, jobs[0], "submit", {"annotations": image_annotations()})
    claim(worker, pid, "review")
    act(worker, pid, jobs[0], "review", {"decision": "accept"})
    data_of(project.api.post(f"/v1/projects/{pid}/jobs/{jobs[1]}/abort"))
    error_of(project.api.post(f"/v1/projects/{pid}/jobs/{jobs[1]}/abort"), 409, "conflict")
    error_of(project.api.post(f"/v1/projects/{pid}/jobs/{jobs[0]}/abort"), 409, "conflict")

    def batch_row() -> dict[str, Any]:
        details = data_of(project.api.get(f"/v1/projects/{pid}/details"))
        found: dict[str, Any] = next(b for b in details["batches"] if b["id"] == batch)
        return found

    row = batch_row()
    assert (row["total_jobs"], row["completed_jobs"], row["annotations"], row["status"]) == (
        4,
        1,
        1,
        "Active",
    )
    aborted = data_of(project.api.post(f"/v1/projects/{pid}/batch/{batch}/abort"))
    assert aborted["aborted_jobs"] == 2
    assert batch_row()["status"] == "Complete"
    assert claim(worker, pid) is None

    reopened = data_of(
        project.api.post(f"/v1/projects/{pid}/jobs/{jobs[0]}/reopen", json={"step": "review"})
    )
    assert reopened == {"job_id": jobs[0], "status": "in_progress", "step": "review"}
    row = batch_row()
    assert (row["completed_jobs"], row["completed_frames"], row["annotations"], row["status"]) == (
        0,
        0,
        0,
        "Active",
    )
    assert data_of(project.api.get(f"/v1/projects/{pid}/jobs/{jobs[0]}"))["result"] == ""
    assert claim(worker, pid, "review")["job_id"] == jobs[0]
    error_of(
        project.api.post(f"/v1/projects/{pid}/jobs/{jobs[0]}/reopen", json={}), 409, "conflict"
    )
    data_of(project.api.post(f"/v1/projects/{pid}/jobs/{jobs[2]}/reopen", json={}))
    error_of(
        project.api.post(f"/v1/projects/{pid}/jobs/{jobs[3]}/reopen", json={"step": "qa"}),
        400,
        "GE_0001",
    )
    history = data_of(project.api.get(f"/v1/projects/{pid}/jobs/{jobs[2]}/history"))["transitions"]
    assert [h["action"] for h in history] == ["abort", "reopen"]


def test_schema_is_validated(server: Server, project: ProjectHandle) -> None:
    with server.admin() as admin:
        bad = {"classes": [{"name": "car", "attributes": [{"name": "c", "type": "select"}]}]}
        response = admin.put(f"/admin/v1/projects/{project.project_id}/schema", json=bad)
        assert error_of(response, 400, "GE_0001").startswith(
            "schema.classes[0].attributes[0].options"
        )
        tracked = {"classes": [{"name": "car", "tracked": True}]}
        response = admin.put(f"/admin/v1/projects/{project.project_id}/schema", json=tracked)
        assert error_of(response, 400, "GE_0001").startswith("schema.classes[0].tracked")
        saved = data_of(admin.put(f"/admin/v1/projects/{project.project_id}/schema", json=SCHEMA))
        assert data_of(admin.get(f"/admin/v1/projects/{project.project_id}/schema")) == saved
