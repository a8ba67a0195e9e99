"""``labelyard pull``: the session's labelyard server plays the hosted service; ``labelyard
pull`` runs as a real process with its own data dir and database (same backend) and brings
whole projects in: every job once, with its data and its result byte-for-byte (mask PNGs
too), counters equal to COUNT(*); a pull SIGKILLed midway and run again ends identical to a
clean one; a source that answers 429 and 503 at times is waited out."""

from __future__ import annotations

import asyncio
import atexit
import functools
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from labelyard.store.engine import Database
from labelyard.store.tables import batch, job, job_transition
from tests.api.test_lifecycle import act, claim, data_of, set_schema
from tests.api.test_masks import LEGEND, png
from tests.client.conftest import BOX
from tests.conftest import PG_URL, ProjectHandle, Server, make_project, make_worker, pg_admin

pytestmark = pytest.mark.slow  # several processes: run in CI (see tests/conftest.py)

LABELYARD = [sys.executable, "-m", "labelyard"]
FRAMES = [{"frame_id": f"f{i}", "src": f"https://v.example/{i}.jpg"} for i in range(3)]
TRACK = {
    "_id": "t1",
    "type": "rectangle",
    "label": "car",
    "attributes": {},
    "frames": {"f1": {"coordinates": BOX["coordinates"]}},
}


@dataclass
class Source:
    """A source project: its handle and every job's create body, by reference id."""

    project: ProjectHandle
    bodies: dict[str, dict[str, Any]]
    completed: set[str]


def _complete(server: Server, p: ProjectHandle, count: int, annotations: Any) -> set[str]:
    """Claim, submit and accept ``count`` jobs; the job ids completed."""
    worker = make_worker(server, p.account_id)
    done = set()
    for _ in range(count):
        job_id = claim(worker, p.project_id)["job_id"]
        submitted = data_of(
            act(worker, p.project_id, job_id, "submit", {"annotations": annotations})
        )
        done.add(job_id)
        if submitted["status"] == "completed":  # a workflow of one annotate step
            continue
        claim(worker, p.project_id, "review")
        reply = act(worker, p.project_id, job_id, "review", {"decision": "accept"})
        assert reply.is_success, reply.text
    worker.api.close()
    return done


def _create(p: ProjectHandle, bodies: list[dict[str, Any]]) -> None:
    reply = p.api.post(f"/v1/projects/{p.project_id}/jobs/bulk", json={"jobs": bodies})
    assert all("job_id" in r for r in data_of(reply)["results"])


def _references(p: ProjectHandle, job_ids: set[str]) -> set[str]:
    return {
        data_of(p.api.get(f"/v1/projects/{p.project_id}/jobs/{job_id}"))["reference_id"]
        for job_id in job_ids
    }


@pytest.fixture(scope="module")
def image_source(server: Server) -> Iterator[Source]:
    """An IMAGE project: 300 jobs in the default batch and two named ones, half completed,
    two aborted, priorities and two workflows' tags."""
    p = make_project(server, "IMAGE", name="pulled images")
    with server.admin() as admin:
        data_of(
            admin.post(
                f"/admin/v1/projects/{p.project_id}/workflows",
                json={"name": "Quick", "tag": "quick", "steps": ["annotate"]},
            )
        )
    bodies: dict[str, dict[str, Any]] = {}
    for name, size in (("", 150), ("second", 100), ("third", 50)):
        batch_id = (
            data_of(p.api.post(f"/v1/projects/{p.project_id}/batch", json={"name": name}))[
                "batch_id"
            ]
            if name
            else ""
        )
        made = []
        for i in range(size):
            reference = f"{name or 'default'}-{i:04d}"
            body = {
                "reference_id": reference,
                "data": {"image_url": f"https://img.example/{reference}.jpg"},
                "batch_id": batch_id,
                "priority_weight": 1 + i % 10,
            }
            body["tag" if i % 7 == 0 else "work_flow_id"] = (
                "quick" if i % 7 == 0 else p.work_flow_id
            )
            made.append(body)
            bodies[reference] = body
        _create(p, made)
    completed = _references(p, _complete(server, p, 150, {"rectangles": [BOX]}))
    aborted = [r for r in bodies if r not in completed][:2]
    for reference in aborted:
        found = data_of(
            p.api.get(f"/v1/projects/{p.project_id}/jobs", params={"reference_id": reference})
        )
        data_of(p.api.post(f"/v1/projects/{p.project_id}/jobs/{found['job_id']}/abort"))
    yield Source(project=p, bodies=bodies, completed=completed)
    p.api.close()


@pytest.fixture(scope="module")
def media_source(server: Server) -> Iterator[tuple[Source, Source]]:
    """A VIDEO project (30 jobs, 15 completed with a track) and a SEGMENTATION project (10
    jobs, 5 completed with a mask PNG)."""
    video = make_project(server, "VIDEO", name="pulled video")
    bodies = {
        f"v-{i}": {
            "reference_id": f"v-{i}",
            "work_flow_id": video.work_flow_id,
            "data": {"video_data": {"frames": FRAMES}},
        }
        for i in range(30)
    }
    _create(video, list(bodies.values()))
    done = _references(video, _complete(server, video, 15, [TRACK]))
    seg = make_project(server, "SEGMENTATION", name="pulled masks")
    set_schema(server, seg.project_id, {"classes": [{"name": "car"}, {"name": "road"}]})
    seg_bodies = {
        f"s-{i}": {
            "reference_id": f"s-{i}",
            "work_flow_id": seg.work_flow_id,
            "data": {"image_url": f"https://img.example/s-{i}.png"},
        }
        for i in range(10)
    }
    _create(seg, list(seg_bodies.values()))
    mask = {"_id": "m1", "frame_id": "0", "legend": LEGEND, "png": png()}
    seg_done = _references(seg, _complete(server, seg, 5, {"rectangles": [], "masks": [mask]}))
    yield Source(video, bodies, done), Source(seg, seg_bodies, seg_done)
    video.api.close()
    seg.api.close()


@dataclass
class Destination:
    """A labelyard data dir and database that ``labelyard pull`` writes to."""

    env: dict[str, str]
    data_dir: Path
    url: str

    def pull(
        self, source_url: str, src: Source, *extra: str, wait: bool = True
    ) -> subprocess.Popen[str]:
        data_from = self.data_dir / f"{src.project.project_id}.jsonl"
        # The team's own create payloads, except two never completed (reported, not guessed).
        lacking = sorted(r for r in src.bodies if r not in src.completed)[:2]
        data_from.write_text(
            "".join(json.dumps(b) + "\n" for r, b in src.bodies.items() if r not in lacking)
        )
        args = [
            *LABELYARD,
            "pull",
            "--from",
            source_url,
            "--api-key",
            src.project.api_key,
            "--project",
            src.project.project_id,
            "--data-from",
            str(data_from),
            "--report-dir",
            str(self.data_dir),
            "--json",
            *extra,
        ]
        process = subprocess.Popen(
            args, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        if wait:
            process.wait(timeout=300)
        return process

    def summary(self, process: subprocess.Popen[str]) -> dict[str, Any]:
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
        summary: dict[str, Any] = json.loads(out)
        return summary

    def rows(self, project_id: str) -> dict[str, Any]:
        """Every job of the project (by reference id), the batches' counters and COUNT(*)s."""

        async def read() -> dict[str, Any]:
            db = Database(self.url)
            try:
                async with db.read() as conn:
                    jobs = (
                        await conn.execute(
                            select(job, batch.c.name.label("batch_name"))
                            .join(
                                batch,
                                (batch.c.project_id == job.c.project_id)
                                & (batch.c.id == job.c.batch_id),
                            )
                            .where(job.c.project_id == project_id)
                        )
                    ).all()
                    batches = (
                        await conn.execute(select(batch).where(batch.c.project_id == project_id))
                    ).all()
                    counted = (
                        await conn.execute(
                            select(
                                job.c.batch_id,
                                func.count(),
                                func.sum(job.c.frames),
                                job.c.status,
                                func.sum(job.c.annotations),
                            )
                            .where(job.c.project_id == project_id)
                            .group_by(job.c.batch_id, job.c.status)
                        )
                    ).all()
                    imported = (
                        await conn.execute(
                            select(job_transition.c.job_id, func.count())
                            .where(
                                job_transition.c.project_id == project_id,
                                job_transition.c.action == "imported",
                            )
                            .group_by(job_transition.c.job_id)
                        )
                    ).all()
            finally:
                await db.dispose()
            return {
                "jobs": {row.reference_id: row for row in jobs},
                "batches": batches,
                "counted": counted,
                "imported": dict(imported),
            }

        return asyncio.run(read())


@pytest.fixture
def destination(server: Server, tmp_path: Path) -> Iterator[Any]:
    """A factory of destinations on the server's backend."""
    made: list[str] = []

    def make() -> Destination:
        folder = tmp_path / f"dest-{uuid.uuid4().hex[:8]}"
        folder.mkdir()
        if server.backend == "sqlite":
            url = f"sqlite+aiosqlite:///{folder / 'labelyard.db'}"
            env_url = ""
        else:
            name = f"pull_{uuid.uuid4().hex[:12]}"
            pg_admin(PG_URL, f'CREATE DATABASE "{name}"')
            made.append(name)
            env_url = f"{PG_URL.rpartition('/')[0]}/{name}"
            url = env_url.replace("postgresql://", "postgresql+asyncpg://", 1)
        env = {
            **os.environ,
            "LABELYARD_DATA_DIR": str(folder),
            "LABELYARD_DATABASE_URL": env_url,
            "LABELYARD_PUBLIC_BASE_URL": "http://127.0.0.1:9",
        }
        return Destination(env=env, data_dir=folder, url=url)

    yield make
    for name in made:
        pg_admin(PG_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@functools.cache
def _fetcher() -> httpx.Client:
    """One client for the signed links (a new client builds a TLS context each time)."""
    client = httpx.Client()
    atexit.register(client.close)
    return client


def _file(p: ProjectHandle, private_url: str) -> bytes:
    link = p.api.get("/v1/attachments", params={"url": private_url})
    assert link.status_code == 302, link.text
    return _fetcher().get(link.headers["location"]).content


def _source_jobs(p: ProjectHandle) -> dict[str, dict[str, Any]]:
    """Every job of the source project as its batch pages list it, with its batch's name."""
    details = data_of(p.api.get(f"/v1/projects/{p.project_id}/details"))
    jobs = {}
    for b in details["batches"]:
        token = ""
        while True:
            page = data_of(
                p.api.get(
                    f"/v1/projects/{p.project_id}/batch/{b['id']}", params={"page_token": token}
                )
            )
            for item in page["jobs"]:
                jobs[item["reference_id"]] = {**item, "batch_name": b["name"]}
            token = page["next_page_token"]
            if not token:
                break
    return jobs


def _local_file(dest: Destination, key: str) -> bytes:
    return (dest.data_dir / "blobs" / key).read_bytes()


def check_pulled(dest: Destination, src: Source, summary: dict[str, Any]) -> dict[str, Any]:
    """Every source job is there once with its data, tag, priority, status and result bytes
    (mask PNGs too); the two without data are in the report; counters equal COUNT(*)."""
    p = src.project
    state = dest.rows(summary["project_id"])
    here = state["jobs"]
    listed = _source_jobs(p)
    lacking = set(sorted(r for r in src.bodies if r not in src.completed)[:2])
    assert set(here) == set(listed) - lacking
    report = Path(summary["report"]).read_text().splitlines()
    assert {json.loads(line)["reference_id"] for line in report} == lacking
    assert all("no data" in json.loads(line)["why"] for line in report)
    for reference, row in here.items():
        source = listed[reference]
        assert row.data == src.bodies[reference]["data"]
        assert (row.priority_weight, row.tag, row.batch_name) == (
            source["priority_weight"],
            source["tag"],
            source["batch_name"],
        )
        expected_status = source["status"]
        if expected_status == "in_progress":
            expected_status = "created"  # work in progress at the source starts over here
        assert row.status == expected_status
        if row.status != "completed":
            assert row.result_key is None
            continue
        assert state["imported"][row.id] == 1
        view = data_of(p.api.get(f"/v1/projects/{p.project_id}/jobs/{source['id']}"))
        theirs = _file(p, view["result"])
        ours = _local_file(dest, row.result_key)
        if "masks" not in (row.draft or {}):
            assert ours == theirs
            continue
        # Mask links differ (each server links its own copy); the PNGs are the same bytes.
        mine, their = json.loads(ours), json.loads(theirs)
        a = mine["data"]["annotation_data"]["annotations"]
        b = their["data"]["annotation_data"]["annotations"]
        assert [{k: v for k, v in e.items() if k != "url"} for e in a] == [
            {k: v for k, v in e.items() if k != "url"} for e in b
        ]
        for entry_here, entry_there in zip(a, b, strict=True):
            key = entry_here["url"].split("/files/", 1)[1]
            assert _local_file(dest, key) == _file(p, entry_there["url"])
        assert mine["data"]["annotations"] == their["data"]["annotations"]
    for b in state["batches"]:
        rows = [c for c in state["counted"] if c[0] == b.id]
        assert b.total_jobs == sum(c[1] for c in rows)
        assert b.total_frames == sum(c[2] for c in rows)
        assert b.completed_jobs == sum(c[1] for c in rows if c[3] == "completed")
        assert b.aborted_jobs == sum(c[1] for c in rows if c[3] == "aborted")
        assert b.annotations == sum(c[4] for c in rows if c[3] == "completed")
    return state


def _fingerprint(dest: Destination, state: dict[str, Any]) -> dict[str, Any]:
    """What must be identical between two pulls of one source (ids and times aside)."""
    return {
        reference: (
            row.batch_name,
            row.status,
            row.priority_weight,
            row.tag,
            row.data,
            row.annotations,
            _local_file(dest, row.result_key) if row.result_key else None,
        )
        for reference, row in state["jobs"].items()
    } | {
        "batches": sorted(
            (b.name, b.total_jobs, b.completed_jobs, b.aborted_jobs, b.annotations)
            for b in state["batches"]
        )
    }


def test_a_project_is_pulled_whole_and_a_second_run_changes_nothing(
    server: Server, image_source: Source, destination: Any
) -> None:
    dest = destination()
    summary = dest.summary(dest.pull(server.base_url, image_source, wait=False))
    assert summary["imported"] == summary["this_run"] == 298 and summary["completed"] == 150
    state = check_pulled(dest, image_source, summary)
    before = _fingerprint(dest, state)

    again = dest.summary(dest.pull(server.base_url, image_source, wait=False))
    assert again["project_id"] == summary["project_id"] and again["this_run"] == 0
    assert _fingerprint(dest, dest.rows(summary["project_id"])) == before


def test_a_dry_run_counts_and_writes_nothing(
    server: Server, image_source: Source, destination: Any
) -> None:
    dest = destination()
    summary = dest.summary(dest.pull(server.base_url, image_source, "--dry-run", wait=False))
    assert summary["jobs"] == 300 and summary["would_skip"] == 2
    assert summary["by_status"]["completed"] == 150
    assert not (dest.data_dir / "pulls").exists()


@contextmanager
def front(
    server: Server,
    *,
    delay: float = 0.0,
    every_429: int = 0,
    every_503: int = 0,
    hosted: bool = False,
    paths: list[str] | None = None,
) -> Iterator[tuple[str, list[int]]]:
    """A loopback proxy in front of ``server``: it waits ``delay`` before each answer and
    answers 429 (Retry-After: 1) to every ``every_429``-th request and 503 to every
    ``every_503``-th; the statuses it sent are recorded (and the paths asked, in ``paths``).
    ``hosted``: it speaks only API.md section 3 (404 for labelyard's extensions:
    ``/openapi.json``, ``/result``, ``/results``, ``limit``)."""
    sent: list[int] = []
    lock = threading.Lock()

    class Front(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            path = self.path.partition("?")[0]
            if paths is not None:
                with lock:
                    paths.append(path)
            if hosted and (
                path == "/openapi.json"
                or path.endswith(("/result", "/results"))
                or "limit=" in self.path
            ):
                with lock:
                    sent.append(404)
                self.send_response(404)
                self.send_header("content-length", "0")
                self.end_headers()
                return
            with lock:
                n = len(sent) + 1
                status = (
                    429
                    if every_429 and n % every_429 == 0
                    else 503
                    if every_503 and n % every_503 == 0
                    else 0
                )
                sent.append(status)
            time.sleep(delay)
            if status:
                self.send_response(status)
                if status == 429:
                    self.send_header("retry-after", "1")
                self.send_header("content-length", "0")
                self.end_headers()
                return
            forwarded = {k: v for k, v in self.headers.items() if k.lower() != "host"}
            with httpx.Client() as client:
                answer = client.get(f"{server.base_url}{self.path}", headers=forwarded)
            with lock:
                sent[n - 1] = answer.status_code
            self.send_response(answer.status_code)
            for name in ("content-type", "location", "retry-after"):
                if name in answer.headers:
                    self.send_header(name, answer.headers[name])
            self.send_header("content-length", str(len(answer.content)))
            self.end_headers()
            self.wfile.write(answer.content)

        def log_message(self, *args: Any) -> None:
            pass

    proxy = ThreadingHTTPServer(("127.0.0.1", 0), Front)
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{proxy.server_address[1]}", sent
    finally:
        proxy.shutdown()
        proxy.server_close()


def test_a_pull_killed_midway_and_run_again_ends_identical(
    server: Server, image_source: Source, destination: Any
) -> None:
    clean = destination()
    reference = _fingerprint(
        clean,
        clean.rows(
            clean.summary(clean.pull(server.base_url, image_source, wait=False))["project_id"]
        ),
    )

    dest = destination()
    with front(server, delay=0.004) as (url, _):
        process = dest.pull(url, image_source, "--concurrency", "2", wait=False)
        deadline = time.monotonic() + 120
        # Killed once a page is in (a checkpoint written) but the pull is not finished.
        while time.monotonic() < deadline:
            points = list((dest.data_dir / "pulls").glob("*/batch-*.json"))
            if points:
                break
            time.sleep(0.01)
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=30)
    assert process.returncode == -signal.SIGKILL
    points = list((dest.data_dir / "pulls").glob("*/batch-*.json"))
    finished = [json.loads(p.read_text())["finished"] for p in points]
    assert points and (len(points) < 3 or not all(finished))  # not every batch was done

    summary = dest.summary(dest.pull(server.base_url, image_source, wait=False))
    state = check_pulled(dest, image_source, summary)
    assert _fingerprint(dest, state) == reference


def test_a_source_answering_429_and_503_is_waited_out(
    server: Server, media_source: tuple[Source, Source], destination: Any
) -> None:
    # A labelyard source (a page of results a request: few requests) and one read as the
    # hosted API allows (requests of each job's own).
    for src, hosted in [(src, hosted) for src in media_source for hosted in (False, True)]:
        dest = destination()
        with front(server, every_429=3, every_503=4, hosted=hosted) as (url, sent):
            summary = dest.summary(dest.pull(url, src, wait=False))
        assert 429 in sent and 503 in sent
        assert summary["waits"] >= sent.count(429) + sent.count(503) - 1
        check_pulled(dest, src, summary)


def test_a_source_without_labelyard_extensions_is_read_as_the_hosted_api_allows(
    server: Server, media_source: tuple[Source, Source], destination: Any
) -> None:
    for src in media_source:
        dest = destination()
        with front(server, hosted=True) as (url, sent):
            summary = dest.summary(dest.pull(url, src, wait=False))
        assert sent.count(404) == 1  # the one look for /openapi.json; no result was missed
        check_pulled(dest, src, summary)


def test_a_labelyard_source_is_read_a_page_of_results_at_a_time(
    server: Server, media_source: tuple[Source, Source], destination: Any
) -> None:
    """The results extension: one request a page, no request of a job's own; the results (and
    mask PNGs, still copied through /v1/attachments) byte for byte as the hosted-API way reads
    them."""
    for src in media_source:
        fast, hosted = destination(), destination()
        asked: list[str] = []
        with front(server, paths=asked) as (url, _):
            summary = fast.summary(fast.pull(url, src, wait=False))
        state = check_pulled(fast, src, summary)
        assert [p for p in asked if p.endswith("/results")]
        assert not [p for p in asked if p.endswith("/result") or "/jobs/" in p]
        masks = sum(
            len(row.draft.get("masks", []))
            for row in state["jobs"].values()
            if isinstance(row.draft, dict)
        )
        assert masks == (5 if src is media_source[1] else 0)
        assert asked.count("/v1/attachments") == masks  # a mask PNG: its signed link
        with front(server, hosted=True) as (url, _):
            other = hosted.summary(hosted.pull(url, src, wait=False))
        assert _masked(_fingerprint(fast, state)) == _masked(
            _fingerprint(hosted, hosted.rows(other["project_id"]))
        )


def _masked(print_: dict[str, Any]) -> dict[str, Any]:
    """A fingerprint with each result's mask links (each destination links its own copy)
    replaced by the PNGs' places."""
    out: dict[str, Any] = {}
    for key, value in print_.items():
        if isinstance(value, tuple) and isinstance(value[-1], bytes) and b"/files/" in value[-1]:
            result = json.loads(value[-1])
            for entry in result["data"].get("annotation_data", {}).get("annotations", []):
                if isinstance(entry, dict) and "url" in entry:
                    entry["url"] = entry["url"].rsplit("/", 1)[-1]
            value = (*value[:-1], json.dumps(result).encode())
        out[key] = value
    return out


def test_a_point_segmentation_pcd_is_copied_byte_for_byte_and_linked_here(
    server: Server, destination: Any
) -> None:
    from tests.api.test_lidar_results import SEG_PCD, points
    from tests.lidar import HOST, convert, files

    p = make_project(server, "POINT_CLOUD_SEGMENTATION", name="pulled points")
    set_schema(server, p.project_id, {"classes": [{"name": "car"}, {"name": "road"}]})
    data = {
        "sensor_data": {
            "sensor_meta": [{"id": "lidar", "name": "lidar", "modality": "lidar"}],
            "sensors": [{"sensor_id": "lidar", "data_url": f"{HOST}/pulled.pcd"}],
        }
    }
    body = {"reference_id": "cloud-1", "work_flow_id": p.work_flow_id, "data": data}
    _create(p, [body])
    convert(server, files(**{"/pulled.pcd": (200, SEG_PCD)}))
    labelled = [points("car-1", "car", [0, 1]), points("road-1", "road", [3, 4, 5])]
    job_id = _complete(server, p, 1, labelled).pop()
    source_result = p.api.get(f"/v1/projects/{p.project_id}/jobs/{job_id}/result").json()
    source_pcd = _file(p, source_result["data"]["annotation_data"]["url"])

    dest = destination()
    summary = dest.summary(dest.pull(server.base_url, Source(p, {"cloud-1": body}, {"cloud-1"})))
    assert summary["completed"] == 1
    row = dest.rows(summary["project_id"])["jobs"]["cloud-1"]
    result = json.loads(_local_file(dest, row.result_key))
    pcd_key = f"results/{summary['project_id']}/{row.id}.pcd"
    assert result["data"]["annotation_data"]["url"] == f"http://127.0.0.1:9/files/{pcd_key}"
    assert (
        result["data"]["annotation_data"]["legend"]
        == (source_result["data"]["annotation_data"]["legend"])
    )
    assert _local_file(dest, pcd_key) == source_pcd
    p.api.close()


def test_a_wrong_key_is_a_clear_error_and_writes_nothing(
    server: Server, image_source: Source, destination: Any
) -> None:
    dest = destination()
    wrong = Source(
        project=ProjectHandle(**{**image_source.project.__dict__, "api_key": "nope"}),
        bodies=image_source.bodies,
        completed=image_source.completed,
    )
    process = dest.pull(server.base_url, wrong, wait=False)
    _, err = process.communicate(timeout=300)
    assert process.returncode == 1
    assert "auth-failure" in err
    assert not list((dest.data_dir / "pulls").glob("*/pull.json"))


def test_a_migration_queued_through_the_admin_api_is_run_by_a_worker(
    server: Server, image_source: Source
) -> None:
    src = image_source
    lacking = sorted(r for r in src.bodies if r not in src.completed)[:2]
    body = {
        "source_url": server.base_url,
        "api_key": src.project.api_key,
        "project": src.project.project_id,
        "data_from": [b for r, b in src.bodies.items() if r not in lacking],
    }
    with server.admin() as admin:
        refused = admin.post("/admin/v1/migrations", json={**body, "source_url": "ftp://x"})
        assert refused.status_code == 400
        queued = data_of(admin.post("/admin/v1/migrations", json=body))
        assert queued["status"] == "queued" and "api_key" not in json.dumps(queued)
        env = {k: v for k, v in os.environ.items() if not k.startswith("LABELYARD_")} | {
            "LABELYARD_DATA_DIR": str(server.settings.data_dir),
            "LABELYARD_DATABASE_URL": server.settings.database_url,
            "LABELYARD_PUBLIC_BASE_URL": server.base_url,
            "LABELYARD_WORKER_POLL_SECONDS": "0.05",
        }
        worker = subprocess.Popen(
            [*LABELYARD, "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            seen = set()
            deadline = time.monotonic() + 240
            while time.monotonic() < deadline:
                view = data_of(admin.get(f"/admin/v1/migrations/{queued['migration_id']}"))
                seen.add(view["status"])
                if view["status"] in ("done", "failed"):
                    break
                time.sleep(0.2)
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=60)
    assert view["status"] == "done", view
    # Only the pull's own states (a pull of 300 jobs can finish between two polls, so
    # "running" may go unseen).
    assert seen <= {"queued", "running", "done"}, seen
    assert view["done_jobs"] == view["total_jobs"] == 300
    assert view["summary"]["imported"] == 298 and "api_key" not in view["summary"]
    dest = Destination(
        env=env, data_dir=server.settings.data_dir, url=server.settings.resolved_database_url()
    )
    check_pulled(dest, src, view["summary"])
