"""Lidar files of sensor jobs: queued with the job, fetched and converted once, served through
signed links; files that cannot be fetched or read give the job a clear FS_0007 media error.

The worker's step runs in this process against the test server's database, as ``labelyard
worker`` does; the lidar files come from an ``httpx.MockTransport`` (no network).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import numpy as np
import pytest
from sqlalchemy import update

from labelyard.blobs.local import LocalBlobStore
from labelyard.core.pointcloud import read_layout
from labelyard.services import point_clouds, utcnow
from labelyard.store import point_clouds as store
from labelyard.store.engine import Database
from labelyard.store.secrets import get_or_create_secret
from labelyard.store.tables import point_cloud
from tests.conftest import ProjectHandle, Server
from tests.core.pcd import kitti_bytes, pcd_bytes

NewProject = Callable[..., ProjectHandle]
HOST = "https://lidar.example"

XYZ = np.array([[1, 2, 3], [4, 5, 6], [np.nan, 0, 0], [7, 8, 9]], dtype=np.float32)
PCD = pcd_bytes(
    {"x": XYZ[:, 0], "y": XYZ[:, 1], "z": XYZ[:, 2], "intensity": np.arange(4, dtype=np.float32)},
    "binary_compressed",
)
KITTI = kitti_bytes(np.array([[0, 0, 0, 0.5], [1, 1, 1, 1.0]], dtype=np.float32))


def files(**extra: tuple[int, bytes]) -> dict[str, tuple[int, bytes]]:
    return {"/ok.pcd": (200, PCD), "/ok.bin": (200, KITTI), **extra}


def sensor_data(*urls: str) -> dict[str, Any]:
    return {
        "sensor_meta": [
            {"id": "lidar", "name": "lidar", "modality": "lidar"},
            {"id": "cam", "name": "front", "modality": "camera"},
        ],
        "frames": [
            {
                "frame_id": f"f{i}",
                "sensors": [
                    {"sensor_id": "cam", "data_url": f"https://img.example/{i}.jpg"},
                    {"sensor_id": "lidar", "data_url": url},
                ],
            }
            for i, url in enumerate(urls)
        ],
    }


def create_job(p: ProjectHandle, reference_id: str, *urls: str) -> str:
    body = p.job(reference_id, data={"sensor_data": sensor_data(*urls)})
    response = p.api.post(f"/v1/projects/{p.project_id}/jobs", json=body)
    assert response.status_code == 200, response.text
    job_id: str = response.json()["data"]["job_id"]
    return job_id


def convert(server: Server, served: dict[str, tuple[int, bytes]], **overrides: Any) -> None:
    """Run the worker's point-cloud step until nothing is due. Files of other tests' jobs (other
    hosts) answer 503, so they wait for a retry and are left alone."""
    settings = server.settings.model_copy(update=overrides)

    def handler(request: httpx.Request) -> httpx.Response:
        if str(request.url).startswith(HOST) and request.url.path in served:
            status, body = served[request.url.path]
            return httpx.Response(status, content=body)
        if str(request.url).startswith(HOST):
            return httpx.Response(404)
        return httpx.Response(503)

    async def run() -> None:
        db = Database(settings.resolved_database_url(), pool_size=2)
        blobs = LocalBlobStore(settings.resolved_blob_dir())
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            fetcher = point_clouds.HttpFetcher(client)
            try:
                while await point_clouds.convert_next(db, blobs, settings, fetcher):
                    pass
            finally:
                await db.dispose()

    asyncio.run(run())


def rows_of(server: Server, p: ProjectHandle, job_id: str) -> list[Any]:
    async def run() -> list[Any]:
        db = Database(server.settings.resolved_database_url(), pool_size=1)
        try:
            async with db.read() as conn:
                return await store.job_point_clouds(conn, project_id=p.project_id, job_id=job_id)
        finally:
            await db.dispose()

    return asyncio.run(run())


def make_due(server: Server, p: ProjectHandle, job_id: str) -> None:
    async def run() -> None:
        db = Database(server.settings.resolved_database_url(), pool_size=1)
        try:
            async with db.write() as conn:
                await conn.execute(
                    update(point_cloud)
                    .where(point_cloud.c.project_id == p.project_id, point_cloud.c.job_id == job_id)
                    .values(next_attempt_at=utcnow() - timedelta(seconds=1))
                )
        finally:
            await db.dispose()

    asyncio.run(run())


def editor_view(server: Server, p: ProjectHandle, job_id: str) -> dict[str, Any]:
    """What the editor's point-cloud call answers, signed with the running server's key."""

    async def run() -> dict[str, Any]:
        db = Database(server.settings.resolved_database_url(), pool_size=1)
        try:
            async with db.write() as conn:
                file_key = await get_or_create_secret(
                    conn, name="file_link_key", factory=lambda: "unused"
                )
            return await point_clouds.editor_point_clouds(
                db,
                LocalBlobStore(server.settings.resolved_blob_dir()),
                project_id=p.project_id,
                job_id=job_id,
                base_url=server.base_url,
                file_key=bytes.fromhex(file_key),
                ttl=60,
            )
        finally:
            await db.dispose()

    return asyncio.run(run())


def job_view(p: ProjectHandle, job_id: str) -> dict[str, Any]:
    response = p.api.get(f"/v1/projects/{p.project_id}/jobs/{job_id}")
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def test_lidar_files_are_converted_once_and_served_through_signed_links(
    server: Server, new_project: NewProject
) -> None:
    p = new_project("SENSOR_FUSION")
    job_id = create_job(p, "two-frames", f"{HOST}/ok.pcd", f"{HOST}/ok.bin")
    queued = rows_of(server, p, job_id)
    assert [(r.frame_id, r.sensor_id, r.status) for r in queued] == [
        ("f0", "lidar", "queued"),
        ("f1", "lidar", "queued"),
    ]
    assert queued[0].field == "data.sensor_data.frames[0].sensors[1].data_url"

    convert(server, files())

    view = editor_view(server, p, job_id)
    assert view["media_error"] is None
    first, second = view["point_clouds"]
    assert (first["status"], first["points"], first["source_points"]) == ("ready", 3, 4)
    assert (second["status"], second["points"]) == ("ready", 2)
    with server.client() as anonymous:
        layout = read_layout(anonymous.get(first["url"]).content)
        np.testing.assert_array_equal(layout.xyz, XYZ[[0, 1, 3]])
        assert layout.source_index is not None
        assert layout.source_index.tolist() == [0, 1, 3]
        unsigned = first["url"].split("?", 1)[0]
        assert anonymous.get(unsigned).status_code == 403
        attachment = p.api.get("/v1/attachments", params={"url": unsigned})
        assert attachment.status_code == 403  # converted files are for the editor only
    assert "media_error" not in job_view(p, job_id)

    convert(server, {})  # converted once: nothing is fetched again
    assert [r.status for r in rows_of(server, p, job_id)] == ["ready", "ready"]


@pytest.mark.parametrize(
    ("served", "kind", "message"),
    [
        ({}, "INVALID_POINT_CLOUD_LINK", "cannot fetch the file: the server answered HTTP 404"),
        (
            {"/bad.pcd": (200, b"VERSION 0.7\nFIELDS x y\nDATA ascii\n")},
            "INVALID_POINT_CLOUD",
            "no SIZE",
        ),
        ({"/bad.pcd": (200, PCD[:-20])}, "INVALID_POINT_CLOUD", "truncated PCD"),
        ({"/bad.pcd": (200, b"\xff" * 30)}, "INVALID_POINT_CLOUD", "no DATA line"),
    ],
)
def test_a_file_that_cannot_be_fetched_or_read_gives_the_job_a_media_error(
    server: Server,
    new_project: NewProject,
    served: dict[str, tuple[int, bytes]],
    kind: str,
    message: str,
) -> None:
    p = new_project("SENSOR_FUSION")
    job_id = create_job(p, "bad", f"{HOST}/ok.pcd", f"{HOST}/bad.pcd")
    convert(server, files(**served))

    error = job_view(p, job_id)["media_error"]
    assert error["code"] == "FS_0007"
    assert error["failures"] == [
        {
            "field": "data.sensor_data.frames[1].sensors[1].data_url",
            "type": kind,
            "message": error["failures"][0]["message"],
        }
    ]
    assert message in error["failures"][0]["message"]
    assert error["message"].startswith("data.sensor_data.frames[1].sensors[1].data_url: ")
    view = editor_view(server, p, job_id)
    assert view["media_error"] == error
    assert [f["status"] for f in view["point_clouds"]] == ["ready", "failed"]
    assert view["point_clouds"][1]["url"] is None  # nothing stored for the bad file
    assert rows_of(server, p, job_id)[1].blob_key is None


def test_unreachable_servers_are_retried_then_given_up(
    server: Server, new_project: NewProject
) -> None:
    p = new_project("SENSOR_FUSION")
    job_id = create_job(p, "flaky", f"{HOST}/flaky.pcd")
    served = files(**{"/flaky.pcd": (503, b"")})
    convert(server, served)
    row = rows_of(server, p, job_id)[0]
    assert (row.status, row.attempts) == ("queued", 1)
    assert row.error == "the server answered HTTP 503"
    assert "media_error" not in job_view(p, job_id)  # not given up yet

    for attempt in range(2, 6):
        make_due(server, p, job_id)
        convert(server, served)
        assert rows_of(server, p, job_id)[0].attempts == attempt
    row = rows_of(server, p, job_id)[0]
    assert row.status == "failed"
    assert job_view(p, job_id)["media_error"]["failures"][0]["type"] == "INVALID_POINT_CLOUD_LINK"


def test_cloud_storage_urls_need_a_storage_connection(
    server: Server, new_project: NewProject
) -> None:
    p = new_project("POINT_CLOUD_SEGMENTATION")
    data = {
        "sensor_data": {
            "sensor_meta": [{"id": "lidar", "name": "lidar", "modality": "lidar"}],
            "sensors": [{"sensor_id": "lidar", "data_url": "s3://bucket/scan.pcd"}],
        }
    }
    response = p.api.post(f"/v1/projects/{p.project_id}/jobs", json=p.job("s3", data=data))
    job_id = response.json()["data"]["job_id"]
    convert(server, files())
    error = job_view(p, job_id)["media_error"]
    assert error["failures"][0]["field"] == "data.sensor_data.sensors[0].data_url"
    assert "storage connection" in error["message"]


def test_image_jobs_queue_no_point_clouds(server: Server, new_project: NewProject) -> None:
    p = new_project("IMAGE")
    response = p.api.post(f"/v1/projects/{p.project_id}/jobs", json=p.job("img"))
    job_id = response.json()["data"]["job_id"]
    assert rows_of(server, p, job_id) == []
