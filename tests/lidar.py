"""Helpers for tests of lidar jobs: job data, running the worker's point-cloud step against the
test server's database, reading the point_cloud rows."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import httpx
import numpy as np
from sqlalchemy import update

from labelyard.blobs.local import LocalBlobStore
from labelyard.outbound import Outbound, OutboundPolicy
from labelyard.secretbox import secret_box
from labelyard.services import point_clouds, utcnow
from labelyard.services.media import MediaSigner
from labelyard.store import point_clouds as store
from labelyard.store.engine import Database
from labelyard.store.secrets import get_or_create_secret
from labelyard.store.tables import point_cloud
from tests.conftest import ProjectHandle, Server
from tests.core.pcd import kitti_bytes, pcd_bytes

NewProject = Callable[..., ProjectHandle]
HOST = "http://localhost"

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


def convert(
    server: Server,
    served: dict[str, tuple[int, bytes]],
    *,
    loopback: bool = False,
    **overrides: Any,
) -> None:
    """Run the worker's point-cloud step until nothing is due, through the outbound client (its
    network a handler; ``localhost`` allowed). Files of other tests' jobs (other hosts) cannot
    be resolved, so they wait for a retry and are left alone."""
    settings = server.settings.model_copy(update=overrides)

    def handler(request: httpx.Request) -> httpx.Response:
        if request.headers.get("host") != "localhost":
            return httpx.Response(503)
        if request.url.path in served:
            status, body = served[request.url.path]
            return httpx.Response(status, content=body)
        return httpx.Response(404)

    async def run() -> None:
        db = Database(settings.resolved_database_url(), pool_size=2)
        blobs = LocalBlobStore(settings.resolved_blob_dir())
        policy = OutboundPolicy(allow=("localhost", "127.0.0.0/8", "::1"))
        # ``loopback``: real connections to servers on this machine (a test S3 server).
        transport = None if loopback else httpx.MockTransport(handler)
        outbound = Outbound(policy, transport=transport)
        fetcher = point_clouds.OutboundFetcher(outbound)
        signer = MediaSigner(secret_box(settings), link_seconds=60)
        try:
            while await point_clouds.convert_next(db, blobs, settings, fetcher, signer=signer):
                pass
        finally:
            await outbound.aclose()
            await db.dispose()

    # In a thread of its own: browser tests' Playwright keeps an event loop in this one.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, run()).result()


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
