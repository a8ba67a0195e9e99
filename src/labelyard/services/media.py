"""Job media for browsers: ``s3://`` and ``gs://`` URLs become short-lived presigned links,
made with the storage connection of the job's own account whose bucket prefix matches.

Presigning is local computation (no request to the store). The stored job data is never
changed: ``browser_data`` returns a rewritten copy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from labelyard.core.media import (
    ObjectUrl,
    media_urls,
    parse_object_url,
    pick_connection,
    rewrite_media,
)
from labelyard.errors import NoStorageConnection
from labelyard.secretbox import SecretBox
from labelyard.store import storage as store
from labelyard.store.engine import Database

PRESIGN_TIMEOUT_SECONDS = 10  # only bounds the client's config; presigning sends nothing


@dataclass(frozen=True, slots=True)
class Connection:
    """A storage connection with its secret opened, for signing; never shown or logged."""

    id: str
    scheme: str
    endpoint_url: str
    region: str
    bucket_prefix: str
    access_key_id: str
    secret_access_key: str = field(repr=False)


class MediaSigner:
    """Presigns object URLs; keeps one boto3 client per connection (making one costs ~ms)."""

    def __init__(self, box: SecretBox, *, link_seconds: int) -> None:
        self.box = box
        self.link_seconds = link_seconds
        self._clients: dict[tuple[str, str], Any] = {}

    def __repr__(self) -> str:
        return f"MediaSigner(link_seconds={self.link_seconds})"

    async def connections(self, db: Database, *, account_id: str) -> list[Connection]:
        """The account's connections, secrets opened."""
        async with db.read() as conn:
            rows = await store.connections_with_secrets(conn, account_id=account_id)
        return [
            Connection(
                id=row.id,
                scheme=row.scheme,
                endpoint_url=row.endpoint_url,
                region=row.region,
                bucket_prefix=row.bucket_prefix,
                access_key_id=row.access_key_id,
                secret_access_key=self.box.open(row.secret_sealed),
            )
            for row in rows
        ]

    def _client(self, connection: Connection) -> Any:
        cache_key = (connection.id, connection.access_key_id)
        client = self._clients.get(cache_key)
        if client is None:
            import boto3
            from botocore.config import Config

            client = boto3.client(
                "s3",
                endpoint_url=connection.endpoint_url or None,
                region_name=connection.region or None,
                aws_access_key_id=connection.access_key_id,
                aws_secret_access_key=connection.secret_access_key,
                config=Config(
                    signature_version="s3v4",
                    connect_timeout=PRESIGN_TIMEOUT_SECONDS,
                    read_timeout=PRESIGN_TIMEOUT_SECONDS,
                    s3={"addressing_style": "path" if connection.endpoint_url else "auto"},
                ),
            )
            self._clients[cache_key] = client
        return client

    def presign(self, connection: Connection, url: ObjectUrl, *, method: str = "GET") -> str:
        """A link to the object valid for ``link_seconds``."""
        operation = "head_object" if method == "HEAD" else "get_object"
        link: str = self._client(connection).generate_presigned_url(
            operation,
            Params={"Bucket": url.bucket, "Key": url.key},
            ExpiresIn=self.link_seconds,
            HttpMethod=method,
        )
        return link

    def media_url(self, connections: Sequence[Connection], url: str, *, method: str = "GET") -> str:
        """A URL a browser (or the media check) can fetch: object URLs presigned with the
        matching connection, any other URL as it is; ``NoStorageConnection`` if none matches."""
        parsed = parse_object_url(url)
        if parsed is None:
            return url
        connection = pick_connection(connections, parsed)
        if connection is None:
            raise NoStorageConnection(
                f"no {parsed.scheme} storage connection of this account has a bucket prefix "
                f"matching {parsed.scheme}://{parsed.bucket}/..."
            )
        return self.presign(connection, parsed, method=method)

    async def browser_data(self, db: Database, *, account_id: str, data: Any) -> Any:
        """A copy of a job's data for the web UI, every object URL presigned with the account's
        connections. A URL no connection serves stays as it is (the editor then says it cannot
        load it; the media check flags such jobs before anyone claims them)."""
        if not any(parse_object_url(url) for url in media_urls(data)):
            return data  # nothing to sign: no database read
        connections = await self.connections(db, account_id=account_id)

        def rewrite(url: str) -> str:
            if parse_object_url(url) is None:
                return url
            try:
                return self.media_url(connections, url)
            except NoStorageConnection:
                return url

        return rewrite_media(data, rewrite)

    async def browser_urls(self, db: Database, *, account_id: str, urls: list[str]) -> list[str]:
        """``urls`` as ``browser_data`` would give them."""
        if not any(parse_object_url(url) for url in urls):
            return urls
        wrapped = [{"src": url} for url in urls]
        rewritten = await self.browser_data(db, account_id=account_id, data=wrapped)
        return [str(item["src"]) for item in rewritten]
