"""Results of completed jobs and signed links to them (API.md 3.6)."""

from __future__ import annotations

import re
import time

from labelyard.blobs import BlobStore
from labelyard.core import signing
from labelyard.core.ids import require_uuid
from labelyard.core.model import JobStatus, Project
from labelyard.errors import Forbidden, MissingParameter, NotFound
from labelyard.services import accounts
from labelyard.store import jobs as job_store
from labelyard.store.engine import Database

FILES_PREFIX = "/files/"
# The only files handed out: results/<project_id>/<job_id>.json and
# exports/<project_id>/<export_id>.<ndjson|json|zip>
_FILE_KEY = re.compile(
    r"(?:results/([0-9a-f-]{36})/[0-9a-f-]{36}\.json"
    r"|exports/([0-9a-f-]{36})/[0-9a-f-]{36}\.(?:ndjson|json|zip))"
)


def result_url(base_url: str, key: str | None) -> str:
    """The private URL of a stored result, ``""`` when there is none."""
    return f"{base_url}{FILES_PREFIX}{key}" if key else ""


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


async def attachment_link(
    db: Database, *, api_key: str | None, url: str | None, base_url: str, file_key: bytes, ttl: int
) -> str:
    """A short-lived signed URL for a result or export URL this server issued, if the key may
    read it."""
    await accounts.authenticate_key(db, api_key=api_key)
    if not url:
        raise MissingParameter("url is required")
    prefix = base_url + FILES_PREFIX
    match = _FILE_KEY.fullmatch(url[len(prefix) :]) if url.startswith(prefix) else None
    if match is None:
        raise Forbidden("this URL was not issued by this server")
    await accounts.authorize(db, api_key=api_key, project_id=match.group(1) or match.group(2))
    path = FILES_PREFIX + url[len(prefix) :]
    query = signing.signed_query(file_key, path, now=int(time.time()), ttl=ttl)
    return f"{base_url}{path}?{query}"


async def read_file(
    blobs: BlobStore, *, key: str, expires: str | None, signature: str | None, file_key: bytes
) -> bytes:
    """A private file, if the link's signature is valid and unexpired."""
    if _FILE_KEY.fullmatch(key) is None:
        raise Forbidden("no such file")
    signing.verify(
        file_key, FILES_PREFIX + key, expires=expires, signature=signature, now=int(time.time())
    )
    return await blobs.get(key)
