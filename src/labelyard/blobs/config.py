"""The blob store the settings ask for: S3 when ``LABELYARD_BLOB_URL`` is set, else local."""

from __future__ import annotations

from labelyard.blobs import BlobStore
from labelyard.blobs.local import LocalBlobStore
from labelyard.config import Settings


def from_settings(settings: Settings) -> BlobStore:
    """A blob store for these settings."""
    if settings.blob_url:
        from labelyard.blobs.s3 import S3BlobStore

        return S3BlobStore(
            settings.blob_url,
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            access_key_id=settings.s3_access_key_id,
            secret_access_key=settings.s3_secret_access_key,
        )
    return LocalBlobStore(settings.resolved_blob_dir())
