"""Storage connections: an admin adds, lists and removes an account's object-store credentials.

The secret access key is sealed with the server's key before it is stored, and never returned.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from labelyard.core.ids import new_id, require_uuid
from labelyard.core.media import OBJECT_SCHEMES, normalise_bucket_prefix
from labelyard.core.model import rfc3339
from labelyard.errors import InvalidInput, NotFound
from labelyard.secretbox import SecretBox
from labelyard.services import utcnow
from labelyard.store import Record
from labelyard.store import accounts as account_store
from labelyard.store import storage as store
from labelyard.store.engine import Database

GCS_XML_ENDPOINT = "https://storage.googleapis.com"
"""GCS's S3-compatible XML API: ``gs://`` connections sign with HMAC keys against it."""
GCS_REGION = "auto"
DEFAULT_S3_REGION = "us-east-1"


def _text(value: object, what: str, *, required: bool, limit: int = 255) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise InvalidInput(f"{what} must be a non-empty string" if required else f"{what}: text")
    if len(value) > limit:
        raise InvalidInput(f"{what} may have at most {limit} characters")
    return value.strip()


def _endpoint(value: object) -> str:
    endpoint = _text(value, "endpoint_url", required=False, limit=2000)
    if endpoint:
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise InvalidInput("endpoint_url must be an http(s) URL")
    return endpoint.rstrip("/")


def connection_view(row: Record) -> dict[str, Any]:
    """A connection as the API and CLI show it: everything but the secret."""
    return {
        "connection_id": row.id,
        "account_id": row.account_id,
        "scheme": row.scheme,
        "endpoint_url": row.endpoint_url,
        "region": row.region,
        "bucket_prefix": row.bucket_prefix,
        "access_key_id": row.access_key_id,
        "created_at": rfc3339(row.created_at),
    }


async def add_connection(
    db: Database,
    box: SecretBox,
    *,
    account_id: object,
    scheme: object,
    endpoint_url: object = None,
    region: object = None,
    bucket_prefix: object,
    access_key_id: object,
    secret_access_key: object,
) -> dict[str, Any]:
    """A new connection of the account; its secret is sealed and not in the answer."""
    account = require_uuid(account_id, "account_id")
    if scheme not in OBJECT_SCHEMES:
        raise InvalidInput(f"scheme must be one of {', '.join(OBJECT_SCHEMES)}")
    endpoint = _endpoint(endpoint_url)
    where = _text(region, "region", required=False, limit=64)
    if scheme == "gs":
        endpoint, where = endpoint or GCS_XML_ENDPOINT, where or GCS_REGION
    prefix = normalise_bucket_prefix(bucket_prefix)
    key_id = _text(access_key_id, "access_key_id", required=True)
    if not isinstance(secret_access_key, str) or not secret_access_key:
        raise InvalidInput("secret_access_key must be a non-empty string")
    sealed = box.seal(secret_access_key)
    connection_id = new_id()
    async with db.write() as conn:
        if not await account_store.account_exists(conn, id=account):
            raise NotFound(f"no account {account}")
        await store.insert_connection(
            conn,
            id=connection_id,
            account_id=account,
            scheme=str(scheme),
            endpoint_url=endpoint,
            region=where or (DEFAULT_S3_REGION if not endpoint else ""),
            bucket_prefix=prefix,
            access_key_id=key_id,
            secret_sealed=sealed,
            now=utcnow(),
        )
        rows = await store.list_connections(conn, account_id=account)
    return connection_view(next(row for row in rows if row.id == connection_id))


async def list_connections(db: Database, *, account_id: object) -> dict[str, Any]:
    """The account's connections, without secrets."""
    account = require_uuid(account_id, "account_id")
    async with db.read() as conn:
        if not await account_store.account_exists(conn, id=account):
            raise NotFound(f"no account {account}")
        rows = await store.list_connections(conn, account_id=account)
    return {"connections": [connection_view(row) for row in rows]}


async def remove_connection(db: Database, *, account_id: object, connection_id: object) -> None:
    """Remove one of the account's connections; its media stops being signed at once."""
    account = require_uuid(account_id, "account_id")
    connection = require_uuid(connection_id, "connection_id")
    async with db.write() as conn:
        if not await store.delete_connection(conn, account_id=account, id=connection):
            raise NotFound(f"no storage connection {connection} in account {account}")
