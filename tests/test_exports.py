"""Exports end to end, on SQLite and PostgreSQL: ``labelyard export`` and the asynchronous API
run by the worker, on jobs completed through the worker API."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import uuid
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from labelyard.blobs.local import LocalBlobStore
from labelyard.exports.sizes import ImageSize
from labelyard.outbound import outbound_from_settings
from labelyard.services import export_runs
from labelyard.store import exports as export_store
from labelyard.store.engine import Database
from tests.conftest import ProjectHandle, Server, WorkerHandle
from tests.exports.images import image_bytes
from tests.exports.samples import Expected, check_coco, check_voc, check_yolo, polygon, rect
from tests.exports.seed import seed_completed

NewProject = Callable[..., ProjectHandle]
NewWorker = Callable[..., WorkerHandle]
LABELYARD = [sys.executable, "-m", "labelyard"]
PNG_SIZE = ImageSize(320, 240)
# The schema set after the jobs were done; "bike" was drawn before and is not in it.
SCHEMA = {"classes": [{"name": "person"}, {"name": "car"}, {"name": "truck"}]}
CLASSES = ["person", "car", "truck", "bike"]


def data_of(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()["data"]


def error_of(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code, error
    message: str = error["message"]
    return message


@contextmanager
def image_server() -> Iterator[str]:
    """A loopback http server answering any path with a 320x240 PNG; its base URL."""
    body = image_bytes(PNG_SIZE.width, PNG_SIZE.height)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-type", "image/png")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def complete(p: ProjectHandle, worker: WorkerHandle, annotations: dict[str, Any]) -> None:
    """Take every created job of the project through annotate and review; ``annotations`` by
    reference id."""
    work = f"/work/v1/projects/{p.project_id}"
    for step, action in (("annotate", "submit"), ("review", "review")):
        while True:
            claimed = worker.api.post(f"{work}/claim", json={"step": step})
            if claimed.status_code == 204:
                break
            job = data_of(claimed)
            body: dict[str, Any] = {"annotations": annotations[job["reference_id"]]}
            if action == "review":
                body = {"decision": "accept"}
            data_of(worker.api.post(f"{work}/jobs/{job['job_id']}/{action}", json=body))


def cli(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LABELYARD_")} | {
        "LABELYARD_DATA_DIR": str(server.settings.data_dir),
        "LABELYARD_DATABASE_URL": server.settings.database_url,
    }
    return subprocess.run(
        [*LABELYARD, *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )


def run_exports(server: Server, *, allow_private: bool = False) -> int:
    """Run queued exports in this process, as ``labelyard worker`` does; how many ran."""
    settings = server.settings.model_copy(update={"webhooks_allow_private": allow_private})

    async def run() -> int:
        db = Database(settings.resolved_database_url(), pool_size=2)
        blobs = LocalBlobStore(settings.resolved_blob_dir())
        outbound = outbound_from_settings(settings)
        ran = 0
        try:
            while await export_runs.run_next_export(db, blobs, settings, outbound):
                ran += 1
        finally:
            await outbound.aclose()
            await db.dispose()
        return ran

    return asyncio.run(run())


@pytest.fixture
def image_project(
    server: Server, new_project: NewProject, new_worker: NewWorker
) -> Iterator[tuple[ProjectHandle, dict[str, Expected], str]]:
    """An IMAGE project whose jobs were completed through the worker API, what each job's
    result is (with its image size, if it can be known), and an in-progress job's id."""
    p = new_project()
    with image_server() as images:
        jobs = {
            "street/1": {
                "image_url": "https://img.example/1.jpg",
                "image_width": 640,
                "image_height": 480,
            },
            "Street_1": {"image_url": f"{images}/2.png"},
            "meta": {
                "image_url": "https://img.example/3.jpg",
                "metadata": {"image_width": 100, "image_height": 50},
            },
            "unsized": {"image_url": "s3://bucket/4.jpg"},
        }
        annotations = {
            "street/1": {
                "rectangles": [
                    rect("r1", "car", 0.1, 0.2, 0.4, 0.5, color="red", difficult=True),
                    rect("r2", "bike", 0.5, 0.5, 0.7, 0.9),
                ],
                "polygons": [polygon("g1", "car", (0.1, 0.9), (0.9, 0.9), (0.9, 0.6), (0.5, 0.55))],
                "landmarks": [
                    {
                        "_id": "l1",
                        "label": "person",
                        "attributes": {},
                        "points": {"p1": {"x": 0.5, "y": 0.5}},
                    },
                ],
            },
            "Street_1": {"rectangles": [rect("r1", "person", 0.0, 0.0, 1.0, 1.0)]},
            "meta": {"rectangles": []},
            "unsized": {"rectangles": [rect("r1", "car", 0.2, 0.2, 0.3, 0.3)]},
        }
        url = f"/v1/projects/{p.project_id}/jobs"
        ids = {}
        for ref, data in jobs.items():
            ids[ref] = data_of(p.api.post(url, json=p.job(ref, data=data)))["job_id"]
        complete(p, new_worker(p.account_id), annotations)
        open_id = data_of(p.api.post(url, json=p.job("open")))["job_id"]
        with server.admin() as admin:
            data_of(admin.put(f"/admin/v1/projects/{p.project_id}/schema", json=SCHEMA))
        sizes = {
            "street/1": ImageSize(640, 480),
            "Street_1": PNG_SIZE,
            "meta": ImageSize(100, 50),
            "unsized": None,
        }
        expected = {}
        for ref, job_id in ids.items():
            result = p.api.get(f"/v1/projects/{p.project_id}/jobs/{job_id}/result").json()
            expected[job_id] = Expected(job_id, ref, sizes[ref], result["data"]["annotations"])
        yield p, expected, open_id


def test_cli_exports_every_format_as_its_spec_says(
    server: Server, image_project: tuple[ProjectHandle, dict[str, Expected], str], tmp_path: Path
) -> None:
    p, expected, open_id = image_project
    unsized = next(e for e in expected.values() if e.size is None)
    paths = {fmt: tmp_path / f"out-{fmt}" for fmt in ("ndjson", "coco", "yolo", "voc")}
    summaries = {}
    for fmt, path in paths.items():
        done = cli(
            server,
            "export",
            "--project",
            p.project_id,
            "--format",
            fmt,
            "--out",
            str(path),
            "--json",
        )
        assert done.returncode == 0, done.stderr
        summaries[fmt] = orjson.loads(done.stdout)
        assert summaries[fmt]["path"] == str(path) and summaries[fmt]["done_jobs"] == 4
    assert not [f for f in tmp_path.iterdir() if f.name.endswith(".partial")]

    check_coco(paths["coco"], expected, CLASSES)
    check_yolo(paths["yolo"], expected, CLASSES)
    check_voc(paths["voc"], expected, CLASSES)
    for fmt in ("coco", "voc"):
        assert summaries[fmt]["exported_jobs"] == 3 and summaries[fmt]["skipped_jobs"] == 1
        [skipped] = summaries[fmt]["report"]["skipped"]
        assert skipped["job_id"] == unsized.job_id and skipped["reference_id"] == "unsized"
        assert "s3:// images are not read" in skipped["reason"]
    assert summaries["yolo"]["skipped_jobs"] == 0  # YOLO's coordinates are normalised

    lines = [orjson.loads(line) for line in paths["ndjson"].read_bytes().splitlines()]
    assert [line["reference_id"] for line in lines] == ["street/1", "Street_1", "meta", "unsized"]
    for line in lines:
        result = p.api.get(f"/v1/projects/{p.project_id}/jobs/{line['job_id']}/result").json()
        assert line["result"] == result and line["status"] == "completed"
        assert line["batch_id"] == p.default_batch_id
        assert line["data"]["image_url"] == result["data"]["image_url"]

    every = tmp_path / "all.ndjson"
    done = cli(
        server,
        "export",
        "--project",
        p.project_id,
        "--format",
        "ndjson",
        "--out",
        str(every),
        "--status",
        "completed,created",
    )
    assert done.returncode == 0, done.stderr
    assert "5 jobs written to" in done.stdout
    last = orjson.loads(every.read_bytes().splitlines()[-1])
    assert (last["job_id"], last["status"], last["result"]) == (open_id, "created", None)


def test_cli_export_errors_are_clear(
    server: Server, project: ProjectHandle, new_project: NewProject, tmp_path: Path
) -> None:
    out = str(tmp_path / "x.json")
    video = new_project("VIDEO")
    cases = [
        (["--project", video.project_id, "--format", "coco"], "GE_0001", "use ndjson"),
        (["--project", project.project_id, "--format", "csv"], "GE_0001", "format must be"),
        (
            ["--project", project.project_id, "--format", "coco", "--status", "done"],
            "GE_0001",
            "status 'done'",
        ),
        (
            ["--project", project.project_id, "--format", "coco", "--batch", str(uuid.uuid4())],
            "resource_error",
            "no such batch",
        ),
    ]
    for args, code, text in cases:
        done = cli(server, "export", *args, "--out", out)
        assert done.returncode == 1
        assert code in done.stderr and text in done.stderr, done.stderr
    assert not list(tmp_path.iterdir())


def _download(p: ProjectHandle, url: str) -> bytes:
    redirect = p.api.get("/v1/attachments", params={"url": url})
    assert redirect.status_code == 302, redirect.text
    signed = httpx.get(redirect.headers["location"])  # no envelope: the file itself
    assert signed.status_code == 200
    return signed.content


def test_api_export_runs_on_the_worker_and_downloads_through_a_signed_link(
    server: Server,
    image_project: tuple[ProjectHandle, dict[str, Expected], str],
    new_project: NewProject,
    tmp_path: Path,
) -> None:
    p, expected, _ = image_project
    url = f"/v1/projects/{p.project_id}/exports"
    queued = data_of(p.api.post(url, json={"format": "coco"}))
    assert queued["status"] == "queued" and queued["download_url"] == ""
    assert (queued["format"], queued["statuses"], queued["batch_id"]) == (
        "coco",
        ["completed"],
        None,
    )
    assert data_of(p.api.get(f"{url}/{queued['export_id']}")) == queued

    assert run_exports(server) >= 1
    done = data_of(p.api.get(f"{url}/{queued['export_id']}"))
    assert done["status"] == "done" and done["error"] is None and done["finished_at"]
    assert (done["total_jobs"], done["done_jobs"], done["skipped_jobs"]) == (4, 4, 2)
    reasons = {s["reference_id"]: s["reason"] for s in done["report"]["skipped"]}
    assert done["report"]["skipped_total"] == 2 and not done["report"]["truncated"]
    # The worker does not probe the loopback image server unless the deployment allows it.
    assert "loopback, not allowed" in reasons["Street_1"]
    assert "s3:// images are not read" in reasons["unsized"]
    key = f"exports/{p.project_id}/{queued['export_id']}.json"
    assert done["download_url"] == f"{server.base_url}/files/{key}"

    path = tmp_path / "coco.json"
    path.write_bytes(_download(p, done["download_url"]))
    probed = {e.job_id: e for e in expected.values() if e.reference_id != "Street_1"}
    check_coco(path, probed, CLASSES)

    # Private: unsigned, or asked for by another account, it is refused.
    assert httpx.get(done["download_url"]).status_code == 403
    other = new_project()
    error_of(
        other.api.get("/v1/attachments", params={"url": done["download_url"]}), 403, "unauthorized"
    )
    error_of(
        other.api.get(f"/v1/projects/{p.project_id}/exports/{queued['export_id']}"),
        403,
        "unauthorized",
    )
    error_of(
        other.api.get(f"/v1/projects/{other.project_id}/exports/{queued['export_id']}"),
        404,
        "resource_error",
    )

    # With private addresses allowed, the worker reads the image's header.
    allowed = data_of(p.api.post(url, json={"format": "voc", "status": "completed"}))
    run_exports(server, allow_private=True)
    voc = data_of(p.api.get(f"{url}/{allowed['export_id']}"))
    assert voc["status"] == "done" and voc["skipped_jobs"] == 1
    archive = tmp_path / "voc.zip"
    archive.write_bytes(_download(p, voc["download_url"]))
    check_voc(archive, expected, CLASSES)


def test_api_export_filters_by_batch_and_status(
    server: Server, project: ProjectHandle, tmp_path: Path
) -> None:
    p = project
    batch_id = data_of(p.api.post(f"/v1/projects/{p.project_id}/batch", json={"name": "b2"}))[
        "batch_id"
    ]
    jobs = f"/v1/projects/{p.project_id}/jobs"
    data_of(p.api.post(jobs, json=p.job("in-default")))
    data_of(p.api.post(jobs, json=p.job("in-b2", batch_id=batch_id)))
    url = f"/v1/projects/{p.project_id}/exports"
    one = data_of(
        p.api.post(
            url,
            json={"format": "ndjson", "batch_id": batch_id, "status": ["created", "in_progress"]},
        )
    )
    run_exports(server)
    done = data_of(p.api.get(f"{url}/{one['export_id']}"))
    assert done["status"] == "done" and done["done_jobs"] == 1
    lines = [orjson.loads(x) for x in _download(p, done["download_url"]).splitlines()]
    assert [(x["reference_id"], x["batch_id"], x["result"]) for x in lines] == [
        ("in-b2", batch_id, None)
    ]


def test_api_export_rejects_what_it_cannot_do(
    project: ProjectHandle, new_project: NewProject
) -> None:
    url = f"/v1/projects/{project.project_id}/exports"
    error_of(project.api.post(url, json={}), 400, "GE_0002")
    error_of(project.api.post(url, json={"format": "csv"}), 400, "GE_0001")
    error_of(project.api.post(url, json=["coco"]), 400, "GE_0001")
    error_of(project.api.post(url, json={"format": "coco", "status": "finished"}), 400, "GE_0001")
    error_of(project.api.post(url, json={"format": "coco", "batch_id": "x"}), 400, "GE_0001")
    missing = "9b2f5e3c-1d4a-4f6b-8c7d-0e1f2a3b4c5d"
    error_of(
        project.api.post(url, json={"format": "coco", "batch_id": missing}), 404, "resource_error"
    )
    error_of(project.api.get(f"{url}/{missing}"), 404, "resource_error")
    error_of(project.api.get(f"{url}/not-a-uuid"), 400, "GE_0001")
    sensor = new_project("SENSOR_FUSION")
    for fmt in ("coco", "yolo", "voc"):
        message = error_of(
            sensor.api.post(f"/v1/projects/{sensor.project_id}/exports", json={"format": fmt}),
            400,
            "GE_0001",
        )
        assert "SENSOR_FUSION" in message
    ok = sensor.api.post(f"/v1/projects/{sensor.project_id}/exports", json={"format": "ndjson"})
    assert data_of(ok)["status"] == "queued"


def _set_lock(server: Server, p: ProjectHandle, export_id: str, until: datetime) -> None:
    async def run() -> None:
        db = Database(server.settings.resolved_database_url(), pool_size=1)
        try:
            async with db.write() as conn:
                await export_store.update_export(
                    conn,
                    project_id=p.project_id,
                    id=export_id,
                    status="running",
                    locked_until=until,
                    done_jobs=3,
                )
        finally:
            await db.dispose()

    asyncio.run(run())


def _update_holding(
    server: Server, p: ProjectHandle, export_id: str, holding: datetime, **values: Any
) -> bool:
    async def run() -> bool:
        db = Database(server.settings.resolved_database_url(), pool_size=1)
        try:
            async with db.write() as conn:
                return await export_store.update_export(
                    conn, project_id=p.project_id, id=export_id, holding=holding, **values
                )
        finally:
            await db.dispose()

    return asyncio.run(run())


def test_an_export_whose_worker_died_is_redone_once_its_lock_expires(
    server: Server, project: ProjectHandle
) -> None:
    p = project
    run_exports(server)  # nothing of other tests left queued
    data_of(p.api.post(f"/v1/projects/{p.project_id}/jobs", json=p.job("j")))
    url = f"/v1/projects/{p.project_id}/exports"
    export_id = data_of(p.api.post(url, json={"format": "ndjson", "status": "created"}))[
        "export_id"
    ]
    now = datetime.now(UTC)
    _set_lock(server, p, export_id, now + timedelta(minutes=5))  # a live worker holds it
    assert run_exports(server) == 0
    assert data_of(p.api.get(f"{url}/{export_id}"))["status"] == "running"
    stale = now - timedelta(seconds=1)
    _set_lock(server, p, export_id, stale)  # that worker died
    assert run_exports(server) == 1
    done = data_of(p.api.get(f"{url}/{export_id}"))
    assert (done["status"], done["done_jobs"], done["total_jobs"]) == ("done", 1, 1)
    # Were the first worker alive after all, its updates, fenced by its lock, change nothing.
    assert not _update_holding(server, p, export_id, stale, status="failed")
    assert data_of(p.api.get(f"{url}/{export_id}"))["status"] == "done"


def test_video_projects_export_ndjson_with_their_trackers(
    server: Server, new_project: NewProject, new_worker: NewWorker
) -> None:
    p = new_project("VIDEO")
    frames = [{"frame_id": f"f{i}", "src": f"https://v.example/{i}.jpg"} for i in range(2)]
    data = {"video_data": {"frames": frames}}
    data_of(p.api.post(f"/v1/projects/{p.project_id}/jobs", json=p.job("v", data=data)))
    corners = [
        {"x": 0.1, "y": 0.1},
        {"x": 0.2, "y": 0.1},
        {"x": 0.2, "y": 0.2},
        {"x": 0.1, "y": 0.2},
    ]
    trackers = [
        {
            "_id": "t1",
            "type": "rectangle",
            "label": "car",
            "attributes": {},
            "frames": {"f0": {"coordinates": corners}},
        }
    ]
    complete(p, new_worker(p.account_id), {"v": trackers})
    url = f"/v1/projects/{p.project_id}/exports"
    export_id = data_of(p.api.post(url, json={"format": "ndjson"}))["export_id"]
    run_exports(server)
    done = data_of(p.api.get(f"{url}/{export_id}"))
    [line] = [orjson.loads(x) for x in _download(p, done["download_url"]).splitlines()]
    assert line["result"]["data"]["annotation_data"]["annotations"] == trackers
    assert line["result"]["data"]["video_data"] == data["video_data"]


# Runs a command and prints its peak RSS (KiB) on stderr. The command runs under this small
# process, not under pytest: Linux counts into a child's ru_maxrss the memory of the process it
# was forked from, up to its exec (pytest's, hundreds of MB after seeding).
MEASURE = """
import resource, subprocess, sys
code = subprocess.run(sys.argv[1:]).returncode
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)
sys.exit(code)
"""


def _peak_rss_mb(server: Server, *args: str) -> tuple[float, str]:
    """Run ``labelyard *args``; its peak RSS in MB and its stdout."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LABELYARD_")} | {
        "LABELYARD_DATA_DIR": str(server.settings.data_dir),
        "LABELYARD_DATABASE_URL": server.settings.database_url,
    }
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, *LABELYARD, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return int(done.stderr.split()[-1]) / 1024, done.stdout  # ru_maxrss: KiB on Linux


@pytest.mark.slow
def test_an_export_of_200000_jobs_keeps_peak_rss_under_200_mb(
    server: Server, project: ProjectHandle, tmp_path: Path
) -> None:
    count = 200_000
    seed_completed(
        server.settings.resolved_database_url(),
        project_id=project.project_id,
        batch_id=project.default_batch_id,
        workflow_id=project.work_flow_id,
        count=count,
    )
    for fmt, name in (("coco", "big.json"), ("yolo", "big.zip")):
        path = tmp_path / name
        peak, out = _peak_rss_mb(
            server,
            "export",
            "--project",
            project.project_id,
            "--format",
            fmt,
            "--out",
            str(path),
            "--json",
        )
        summary = orjson.loads(out)
        assert summary["exported_jobs"] == count, summary
        assert peak < 200, f"{fmt}: peak RSS {peak:.0f} MB"
        print(f"{server.backend} {fmt}: {count} jobs, peak RSS {peak:.0f} MB")
    with zipfile.ZipFile(tmp_path / "big.zip") as archive:
        assert sum(1 for n in archive.namelist() if n.startswith("labels/")) == count
    tail = (tmp_path / "big.json").read_bytes()[-200:]
    assert tail.endswith(b'"categories":[{"id":1,"name":"car","supercategory":""}]}')

    # The same through the worker: dozens of fenced progress updates, then a large file moved
    # into the blob store.
    url = f"/v1/projects/{project.project_id}/exports"
    export_id = data_of(project.api.post(url, json={"format": "ndjson"}))["export_id"]
    run_exports(server)
    done = data_of(project.api.get(f"{url}/{export_id}"))
    assert (done["status"], done["done_jobs"], done["total_jobs"]) == ("done", count, count)
    stored = (
        server.settings.resolved_blob_dir() / f"exports/{project.project_id}/{export_id}.ndjson"
    )
    with stored.open("rb") as handle:
        assert sum(1 for _ in handle) == count
