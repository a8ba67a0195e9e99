"""Where results (and later exports) are kept: a small interface, chosen by configuration.

Keys are relative paths such as ``results/<project_id>/<job_id>.json``. Each backend turns its
provider's "not found" into ``BlobNotFound``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from labelyard.errors import NotFound


class BlobNotFound(NotFound):
    """No blob is stored under this key."""

    default_message = "file not found"


class BlobStore(Protocol):
    """Put, get and delete bytes by key."""

    async def put(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key``, replacing what was there; atomic for readers."""

    async def get(self, key: str) -> bytes:
        """The bytes under ``key``; ``BlobNotFound`` if none."""

    async def delete(self, key: str) -> None:
        """Remove ``key`` if present."""

    async def put_file(self, key: str, path: Path) -> None:
        """Move the finished file at ``path`` under ``key`` without reading it into memory."""

    def private_url(self, key: str, *, base_url: str) -> str:
        """The URL clients are given for ``key``; useless without a signed link."""

    def key_from_url(self, url: str, *, base_url: str) -> str | None:
        """The key behind a URL ``private_url`` made, or None for any other URL."""

    def signed_link(self, key: str, *, base_url: str, file_key: bytes, ttl: int, now: int) -> str:
        """A link that reads ``key`` for ``ttl`` seconds."""

    def local_path(self, key: str) -> Path | None:
        """The file of ``key`` on this machine, if the store keeps one (to stream it)."""


FILES_PREFIX = "/files/"
PUT_AT_ONCE = 16  # files a store without ``put_many`` is sent at once


async def put_all(blobs: BlobStore, items: Sequence[tuple[str, bytes]]) -> None:
    """Store each ``(key, data)`` before returning: in one go where the store can
    (``LocalBlobStore.put_many``: one flush to disk for them all), else ``PUT_AT_ONCE`` at a
    time side by side."""
    many = getattr(blobs, "put_many", None)
    if many is not None and len(items) > 1:
        await many(items)
        return
    for start in range(0, len(items), PUT_AT_ONCE):
        chunk = items[start : start + PUT_AT_ONCE]
        await asyncio.gather(*(blobs.put(key, data) for key, data in chunk))


def result_key(project_id: str, job_id: str) -> str:
    """Where a job's result JSON is kept."""
    return f"results/{project_id}/{job_id}.json"


def segmentation_key(project_id: str, job_id: str) -> str:
    """Where a point-segmentation job's result PCD (x y z label_key) is kept."""
    return f"results/{project_id}/{job_id}.pcd"


def mask_key(project_id: str, job_id: str, index: int) -> str:
    """Where the ``index``-th mask PNG of a job's result is kept (next to its result JSON)."""
    return f"results/{project_id}/{job_id}/mask-{index}.png"


def export_key(project_id: str, export_id: str, extension: str) -> str:
    """Where an export's file is kept (``extension`` without the dot)."""
    return f"exports/{project_id}/{export_id}.{extension}"


def point_cloud_key(project_id: str, job_id: str, position: int) -> str:
    """Where the browser layout of a job's ``position``-th lidar file is kept."""
    return f"pointclouds/{project_id}/{job_id}/{position}.lypc"
