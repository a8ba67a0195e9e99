"""Lidar files of sensor jobs: queued with the job, fetched and converted once by the worker,
kept in the blob store in the browser layout (``core.pointcloud``), handed to the 3D editor
through signed links; a file that cannot be fetched or read gives the job a media error
(``FS_0007``).

Failures sort into "retry" (the server did not answer, or answered 5xx/429: up to
``point_cloud_max_attempts`` fetches, 30 s, 90 s, 270 s... apart) and "give up" (4xx, too large,
not a point cloud, a scheme with no way to fetch it).

Fetching goes through a :class:`Fetcher`: :class:`OutboundFetcher` over the one pinned outbound
client for http(s) (``LABELYARD_OUTBOUND_ALLOW`` lets private hosts through). ``s3://`` and
``gs://`` URLs are presigned with the account's storage connection (``services.media``) and
fetched like any other; without a matching connection they fail with a message saying so.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol
from urllib.parse import urlsplit

import numpy as np
from sqlalchemy.ext.asyncio import AsyncConnection

from labelyard.blobs import BlobStore, point_cloud_key, segmentation_key
from labelyard.config import Settings
from labelyard.core.annotations3d import label_array
from labelyard.core.lifecycle import Change
from labelyard.core.media import parse_object_url
from labelyard.core.pointcloud import (
    browser_layout,
    encode_pcd_labels,
    lidar_files,
    parse_point_cloud,
    read_layout,
)
from labelyard.errors import InvalidInput, InvalidPointCloud, NoStorageConnection
from labelyard.outbound import Outbound, OutboundRefused, OutboundUnreachable
from labelyard.services import utcnow
from labelyard.services.media import MediaSigner
from labelyard.store import point_clouds as store
from labelyard.store import projects as project_store
from labelyard.store.engine import Database

log = logging.getLogger("labelyard.point_clouds")

LIDAR_BASES = ("SENSOR_FUSION", "POINT_CLOUD_SEGMENTATION")
RETRY_BASE_SECONDS = 30.0
CHUNK = 1 << 20


class FetchFailed(Exception):
    """A lidar file could not be fetched; ``retry`` says whether trying later may help."""

    def __init__(self, reason: str, *, retry: bool) -> None:
        self.reason = reason
        self.retry = retry
        super().__init__(reason)


class Fetcher(Protocol):
    """Gets the bytes of a lidar file's URL, raising :class:`FetchFailed`."""

    async def fetch(self, url: str, *, max_bytes: int, timeout: float | None = None) -> bytes:
        """The whole file, at most ``max_bytes`` long."""


StorageFetch = Callable[[str, int], Awaitable[bytes]]


@dataclass
class OutboundFetcher:
    """http(s) through the one pinned outbound client (``labelyard.outbound``): its policy
    refuses private and metadata addresses unless allowed; ``s3://`` and ``gs://`` through
    ``storage``, readers the account's storage connection provides (none yet: see the module)."""

    outbound: Outbound
    storage: Mapping[str, StorageFetch] | None = None
    max_redirects: int = 3

    async def fetch(self, url: str, *, max_bytes: int, timeout: float | None = None) -> bytes:
        """The file's bytes, or :class:`FetchFailed` saying why not."""
        scheme = urlsplit(url).scheme.lower()
        if scheme in ("s3", "gs"):
            reader = (self.storage or {}).get(scheme)
            if reader is None:
                raise FetchFailed(
                    f"{scheme}:// point clouds need a storage connection of the account; "
                    "none is configured",
                    retry=False,
                )
            return await reader(url, max_bytes)
        try:
            async with self.outbound.stream(
                "GET", url, timeout=timeout, max_redirects=self.max_redirects
            ) as response:
                if response.status_code != 200:
                    retry = response.status_code >= 500 or response.status_code == 429
                    raise FetchFailed(
                        f"the server answered HTTP {response.status_code}", retry=retry
                    )
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > max_bytes:
                    raise FetchFailed(f"the file is larger than {max_bytes} bytes", retry=False)
                parts = []
                size = 0
                async for chunk in response.aiter_bytes(CHUNK):
                    size += len(chunk)
                    if size > max_bytes:
                        raise FetchFailed(f"the file is larger than {max_bytes} bytes", retry=False)
                    parts.append(chunk)
                return b"".join(parts)
        except OutboundRefused as error:
            raise FetchFailed(f"refused: {error}", retry=False) from None
        except OutboundUnreachable as error:
            raise FetchFailed(f"the server could not be reached ({error})", retry=True) from None


def uses_3d_editor(base: str, data: dict[str, Any]) -> bool:
    """True for jobs the web UI opens in the 3D editor: lidar bases with a lidar file."""
    return base in LIDAR_BASES and bool(lidar_files(base, data))


def queue_rows(
    *, project_id: str, base: str, jobs: Sequence[Mapping[str, Any]], now: datetime
) -> list[dict[str, Any]]:
    """The point_cloud rows of newly created jobs (none for bases without lidar)."""
    rows = []
    for job in jobs:
        for found in lidar_files(base, job["data"]):
            rows.append(
                {
                    "project_id": project_id,
                    "job_id": job["id"],
                    "position": found.position,
                    "frame_id": found.frame_id,
                    "sensor_id": found.sensor_id,
                    "field": f"data.{found.field}",
                    "source_url": found.url,
                    "status": store.QUEUED,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                    "updated_at": now,
                }
            )
    return rows


async def convert_next(
    db: Database,
    blobs: BlobStore,
    settings: Settings,
    fetcher: Fetcher,
    *,
    signer: MediaSigner | None = None,
) -> bool:
    """Claim the next due lidar file, fetch, convert and store it; False if none was due.

    ``s3://`` and ``gs://`` URLs are presigned by ``signer`` with the storage connection of the
    job's account whose bucket prefix matches (as the media checks and the browser get them).
    """
    now = utcnow()
    holding = now + timedelta(seconds=settings.point_cloud_lock_seconds)
    async with db.write() as conn:
        row = await store.next_due(conn, now=now)
        if row is None:
            return False
        attempts = int(row.attempts) + 1
        await store.update_point_cloud(
            conn,
            project_id=row.project_id,
            job_id=row.job_id,
            position=row.position,
            status=store.RUNNING,
            locked_until=holding,
            attempts=attempts,
            updated_at=now,
        )
    ids = {"project_id": row.project_id, "job_id": row.job_id, "position": row.position}
    try:
        url = await _fetchable(db, signer, project_id=row.project_id, url=row.source_url)
        data = await fetcher.fetch(
            url,
            max_bytes=settings.point_cloud_max_bytes,
            timeout=settings.point_cloud_timeout_seconds,
        )
        started = time.perf_counter()
        layout, points, source_points = await asyncio.to_thread(_convert, data, row.source_url)
        key = point_cloud_key(row.project_id, row.job_id, row.position)
        await blobs.put(key, layout)
        outcome: dict[str, Any] = {
            "status": store.READY,
            "blob_key": key,
            "points": points,
            "source_points": source_points,
            "error": None,
        }
        log.info(
            "point cloud %s/%s #%d: %d points in %.2f s",
            row.project_id,
            row.job_id,
            row.position,
            points,
            time.perf_counter() - started,
        )
    except InvalidPointCloud as error:
        outcome = {"status": store.FAILED, "error": error.message}
    except FetchFailed as error:
        if error.retry and attempts < settings.point_cloud_max_attempts:
            delay = RETRY_BASE_SECONDS * 3 ** (attempts - 1)
            outcome = {
                "status": store.QUEUED,
                "error": error.reason,
                "next_attempt_at": utcnow() + timedelta(seconds=delay),
            }
        else:
            outcome = {"status": store.FAILED, "error": f"cannot fetch the file: {error.reason}"}
    async with db.write() as conn:
        kept = await store.update_point_cloud(
            conn, **ids, holding=holding, locked_until=None, updated_at=utcnow(), **outcome
        )
    if not kept:
        log.warning("point cloud %s: another worker took it over", ids)
    return True


async def _fetchable(db: Database, signer: MediaSigner | None, *, project_id: str, url: str) -> str:
    """``url``, or for an object URL its presigned https link; ``FetchFailed`` without one."""
    if signer is None or parse_object_url(url) is None:
        return url
    async with db.read() as conn:
        project = await project_store.get_project(conn, id=project_id)
    if project is None:
        raise FetchFailed("the job's project is gone", retry=False)
    connections = await signer.connections(db, account_id=project.account_id)
    try:
        return signer.media_url(connections, url)
    except NoStorageConnection as error:
        raise FetchFailed(error.message, retry=False) from None


def _convert(data: bytes, url: str) -> tuple[bytes, int, int]:
    cloud = parse_point_cloud(data, name=urlsplit(url).path)
    return browser_layout(cloud), cloud.count, cloud.source_count


def media_error(failed: Sequence[Any]) -> dict[str, Any] | None:
    """The ``FS_0007`` description of a job's failed lidar files, None when there are none."""
    if not failed:
        return None
    failures = [
        {
            "field": row.field,
            "type": "INVALID_POINT_CLOUD_LINK"
            if str(row.error or "").startswith("cannot fetch")
            else "INVALID_POINT_CLOUD",
            "message": row.error or "",
        }
        for row in failed
    ]
    first = failures[0]
    more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
    return {
        "code": InvalidPointCloud.code,
        "message": f"{first['field']}: {first['message']}{more}",
        "failures": failures,
    }


def media_error_text(failed: Sequence[Any]) -> str:
    """The job's ``media_error`` as the job API shows it (the media checks' format): the first
    failures with their fields, URLs and reasons; ``""`` when there are none."""
    shown = [f"{row.field} ({row.source_url}): {row.error}" for row in failed[:3]]
    more = len(failed) - len(shown)
    return "; ".join(shown) + (f"; and {more} more" if more > 0 else "")


async def editor_point_clouds(
    db: Database,
    blobs: BlobStore,
    *,
    project_id: str,
    job_id: str,
    base_url: str,
    file_key: bytes,
    ttl: int,
) -> dict[str, Any]:
    """What the 3D editor loads: every lidar file of the job with its state and, once ready, a
    signed link to its browser layout; plus the job's media error, if any."""
    async with db.read() as conn:
        rows = await store.job_point_clouds(conn, project_id=project_id, job_id=job_id)
    now = int(time.time())
    files = [
        {
            "frame_id": row.frame_id,
            "sensor_id": row.sensor_id,
            "status": row.status,
            "points": row.points,
            "source_points": row.source_points,
            "error": row.error if row.status == store.FAILED else None,
            "url": blobs.signed_link(
                row.blob_key, base_url=base_url, file_key=file_key, ttl=ttl, now=now
            )
            if row.status == store.READY and row.blob_key
            else None,
        }
        for row in rows
    ]
    failed = [row for row in rows if row.status == store.FAILED]
    return {"point_clouds": files, "media_error": media_error(failed)}


async def point_counts(
    conn: AsyncConnection, *, project_id: str, job_id: str
) -> dict[tuple[str, str], int]:
    """Points in each converted lidar file of a job, by ``(frame_id, sensor_id)`` (file order,
    NaN points included: what point-segmentation indices refer to)."""
    rows = await store.job_point_clouds(conn, project_id=project_id, job_id=job_id)
    return {
        (row.frame_id, row.sensor_id): int(row.source_points)
        for row in rows
        if row.status == store.READY and row.source_points is not None
    }


async def with_segmentation(
    conn: AsyncConnection, blobs: BlobStore, job: Any, change: Change, *, base_url: str
) -> Change:
    """A completing change of a POINT_CLOUD_SEGMENTATION job with its point labels written: a
    PCD beside the result, and the result's ``legend`` and ``url`` (API.md 3.7)."""
    assert change.result is not None
    annotations = change.columns.get("draft") or []
    segmentation = await write_segmentation(conn, blobs, job, annotations, base_url=base_url)
    result = dict(change.result)
    data = dict(result["data"])
    data["annotation_data"] = {**data["annotation_data"], **segmentation}
    result["data"] = data
    return dataclasses.replace(change, result=result)


async def write_segmentation(
    conn: AsyncConnection, blobs: BlobStore, job: Any, annotations: list[Any], *, base_url: str
) -> dict[str, Any]:
    """Write the point-segmentation PCD of a POINT_CLOUD_SEGMENTATION job (x y z label_key, one
    row per point of the input in its order) and answer ``{"legend", "url"}`` for its result."""
    rows = await store.job_point_clouds(conn, project_id=job.project_id, job_id=job.id)
    ready = [row for row in rows if row.status == store.READY and row.blob_key]
    if not ready:
        raise InvalidInput("the job's point cloud is not converted yet; it cannot be completed")
    row = ready[0]
    layout = read_layout(await blobs.get(row.blob_key))
    xyz = np.full((layout.source_count, 3), np.nan, dtype=np.float32)
    if layout.source_index is None:
        xyz[:] = layout.xyz
    else:
        xyz[layout.source_index] = layout.xyz
    labels, legend = label_array(
        annotations, frame_id=row.frame_id, sensor_id=row.sensor_id, count=layout.source_count
    )
    key = segmentation_key(job.project_id, job.id)
    await blobs.put(key, await asyncio.to_thread(encode_pcd_labels, xyz, labels))
    return {"legend": legend, "url": blobs.private_url(key, base_url=base_url)}
