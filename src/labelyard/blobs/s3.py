"""Blobs in an S3-compatible object store (AWS S3, MinIO, Ceph...), for many replicas.

boto3 is synchronous; each call runs on a worker thread. Keys live under the configured
prefix; the store's "no such key" becomes ``BlobNotFound`` here.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from labelyard.blobs import BlobNotFound
from labelyard.errors import InvalidInput

S3_TIMEOUT_SECONDS = 30


def parse_blob_url(url: str) -> tuple[str, str]:
    """``s3://bucket/prefix`` → (bucket, prefix without slashes at either end)."""
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc:
        raise InvalidInput("LABELYARD_BLOB_URL must look like s3://bucket/prefix")
    return parts.netloc, parts.path.strip("/")


class S3BlobStore:
    """Objects ``<prefix>/<key>`` in one bucket."""

    def __init__(
        self,
        url: str,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
    ) -> None:
        import boto3
        from botocore.config import Config

        self.bucket, self.prefix = parse_blob_url(url)
        self.client: Any = boto3.client(
            "s3",
            endpoint_url=endpoint_url or None,
            region_name=region or None,
            aws_access_key_id=access_key_id or None,
            aws_secret_access_key=secret_access_key or None,
            config=Config(
                connect_timeout=S3_TIMEOUT_SECONDS,
                read_timeout=S3_TIMEOUT_SECONDS,
                retries={"max_attempts": 3, "mode": "standard"},
                s3={"addressing_style": "path"},
            ),
        )

    def object_key(self, key: str) -> str:
        """The object's name in the bucket."""
        if not key or ".." in key.split("/") or key.startswith("/"):
            raise InvalidInput("invalid file key")
        return f"{self.prefix}/{key}" if self.prefix else key

    async def put(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key`` (S3 puts are atomic for readers)."""
        name = self.object_key(key)
        await asyncio.to_thread(self.client.put_object, Bucket=self.bucket, Key=name, Body=data)

    async def put_file(self, key: str, path: Path) -> None:
        """Upload a finished file (multipart for large ones), then remove the local copy."""
        name = self.object_key(key)
        await asyncio.to_thread(self.client.upload_file, str(path), self.bucket, name)
        path.unlink(missing_ok=True)

    async def get(self, key: str) -> bytes:
        """The bytes under ``key``."""
        name = self.object_key(key)

        def read() -> bytes:
            try:
                response = self.client.get_object(Bucket=self.bucket, Key=name)
            except self.client.exceptions.NoSuchKey:
                raise BlobNotFound() from None
            body: bytes = response["Body"].read()
            return body

        return await asyncio.to_thread(read)

    async def delete(self, key: str) -> None:
        """Remove ``key`` if present."""
        name = self.object_key(key)
        await asyncio.to_thread(self.client.delete_object, Bucket=self.bucket, Key=name)

    def private_url(self, key: str, *, base_url: str) -> str:
        """The object's S3 URL (``s3://bucket/prefix/key``)."""
        return f"s3://{self.bucket}/{self.object_key(key)}"

    def key_from_url(self, url: str, *, base_url: str) -> str | None:
        """The key of an S3 URL of this store's bucket and prefix."""
        prefix = f"s3://{self.bucket}/{self.prefix + '/' if self.prefix else ''}"
        return url[len(prefix) :] if url.startswith(prefix) else None

    def signed_link(self, key: str, *, base_url: str, file_key: bytes, ttl: int, now: int) -> str:
        """A presigned GET of the object, straight from the store."""
        return self.presigned_url(key, ttl=ttl)

    def local_path(self, key: str) -> Path | None:
        """None: objects are not on this machine."""
        return None

    def presigned_url(self, key: str, *, ttl: int) -> str:
        """A short-lived URL that reads the object directly from the store."""
        url: str = self.client.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": self.object_key(key)},
            ExpiresIn=ttl,
        )
        return url
