"""Results of completed jobs and finished exports, and short-lived links to them (API.md 3.6)."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

from labelyard.blobs import FILES_PREFIX, BlobStore
from labelyard.core import signing
from labelyard.core.ids import parse_uuid, require_uuid
from labelyard.core.model import JobStatus, Project
from labelyard.errors import Forbidden, MissingParameter, NotFound
from labelyard.services import accounts
from labelyard.store import exports as export_store
from labelyard.store import jobs as job_store
from labelyard.store.engine import Database

# The only files handed out: results/<project_id>/<job_id>.json (and .pcd, a point-segmentation
# result's labels), a result's mask PNGs results/<project_id>/<job_id>/mask-<n>.png,
# exports/<project_id>/<export_id>.<ndjson|json|zip> and the 3D editor's converted lidar files
# pointclouds/<project_id>/<job_id>/<position>.lypc (signed for the editor, never attachments)
_FILE_KEY = re.compile(
    r"(results)/([0-9a-f-]{36})/([0-9a-f-]{36})\.(?:json|pcd)"
    r"|(results)/([0-9a-f-]{36})/([0-9a-f-]{36})/mask-[0-9]{1,6}\.png"
    r"|(exports)/([0-9a-f-]{36})/([0-9a-f-]{36})\.(?:ndjson|json|zip)"
    r"|(pointclouds)/([0-9a-f-]{36})/([0-9a-f-]{36})/[0-9]{1,6}\.lypc"
)
MEDIA_TYPES = {
    ".pcd": "application/octet-stream",
    ".json": "application/json",
    ".ndjson": "application/x-ndjson",
    ".zip": "application/zip",
    ".png": "image/png",
}


def result_url(blobs: BlobStore, base_url: str, key: str | None) -> str:
    """The private URL of a stored file, ``""`` when there is none."""
    return blobs.private_url(key, base_url=base_url) if key else ""


async def read_result(db: Database, blobs: BlobStore, project: Project, *, job_id: str) -> bytes:
    """The result JSON of a completed job."""
    job_id = require_uuid(job_id, "job_id")
    async with db.read() as conn:
        row = await job_store.get_job(conn, project_id=project.id, id=job_id)
    if row is None:
        raise NotFound("no such job in this project")
    if row.status != JobStatus.COMPLETED or not row.result_key:
        raise NotFound(f"the job is {row.status}; it has no result yet")
    return await blobs.get(row.result_key)


def _parse_key(key: str) -> tuple[str, str, str] | None:
    """(kind, project id, job or export id) of a file key, if it is one labelyard issues."""
    match = _FILE_KEY.fullmatch(key)
    if match is None:
        return None
    kind, project_id, item_id = (g for g in match.groups() if g is not None)
    if key.endswith(".png"):
        kind = "masks"
    if parse_uuid(project_id) != project_id or parse_uuid(item_id) != item_id:
        return None
    return kind, project_id, item_id


async def attachment_link(
    db: Database,
    blobs: BlobStore,
    *,
    api_key: str | None,
    url: str | None,
    base_url: str,
    file_key: bytes,
    ttl: int,
) -> str:
    """A short-lived link to a result or export URL this server issued, if the key may read it
    and the file is still the job's result (or the export's file)."""
    await accounts.authenticate_key(db, api_key=api_key)
    if not url:
        raise MissingParameter("url is required")
    key = blobs.key_from_url(url, base_url=base_url)
    parsed = _parse_key(key) if key else None
    if key is None or parsed is None:
        raise Forbidden("this URL was not issued by this server")
    kind, project_id, item_id = parsed
    if kind == "pointclouds":
        raise Forbidden("this URL is not a result or export")
    project = await accounts.authorize(db, api_key=api_key, project_id=project_id)
    async with db.read() as conn:
        if kind in ("results", "masks"):
            row = await job_store.get_job(conn, project_id=project.id, id=item_id)
            current = row is not None and row.status == JobStatus.COMPLETED
        else:
            row = await export_store.get_export(conn, project_id=project.id, id=item_id)
            current = row is not None and row.status == export_store.DONE
    # A mask or a point-segmentation PCD is current while its job's result is: it is written
    # with it, under its name.
    owner_key = f"results/{project_id}/{item_id}.json" if kind in ("masks", "results") else key
    if not current or row is None or row.result_key != owner_key:
        raise Forbidden("this URL is not a current result or export of this project")
    return blobs.signed_link(
        key, base_url=base_url, file_key=file_key, ttl=ttl, now=int(time.time())
    )


@dataclass(frozen=True, slots=True)
class FileBody:
    """A private file to send: from a local path (streamed) or as bytes."""

    media_type: str
    path: Path | None = None
    content: bytes = b""


async def read_file(
    blobs: BlobStore, *, key: str, expires: str | None, signature: str | None, file_key: bytes
) -> FileBody:
    """A private file, if the link's signature is valid and unexpired."""
    if _parse_key(key) is None:
        raise Forbidden("no such file")
    signing.verify(
        file_key, FILES_PREFIX + key, expires=expires, signature=signature, now=int(time.time())
    )
    media_type = MEDIA_TYPES.get(Path(key).suffix, "application/octet-stream")
    path = blobs.local_path(key)
    if path is not None:
        if not path.is_file():
            raise NotFound("file not found")
        return FileBody(media_type=media_type, path=path)
    return FileBody(media_type=media_type, content=await blobs.get(key))
