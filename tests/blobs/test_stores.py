"""One contract for every blob store: the local directory and S3 (a real S3 HTTP server)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from labelyard.blobs import BlobNotFound, put_all
from labelyard.blobs.local import LocalBlobStore
from labelyard.blobs.s3 import S3BlobStore
from labelyard.errors import InvalidInput
from tests.s3 import s3_server


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    if request.param == "local":
        yield LocalBlobStore(tmp_path / "blobs")
        return
    with s3_server() as s3:
        yield S3BlobStore(
            f"s3://{s3.bucket}/some/prefix",
            endpoint_url=s3.endpoint_url,
            region=s3.region,
            access_key_id=s3.access_key_id,
            secret_access_key=s3.secret_access_key,
        )


def test_put_get_overwrite_delete(store: Any) -> None:
    async def run() -> None:
        await store.put("results/p/j.json", b'{"a": 1}')
        assert await store.get("results/p/j.json") == b'{"a": 1}'
        await store.put("results/p/j.json", b'{"a": 2}')
        assert await store.get("results/p/j.json") == b'{"a": 2}'
        await store.delete("results/p/j.json")
        await store.delete("results/p/j.json")  # deleting twice is fine
        with pytest.raises(BlobNotFound):
            await store.get("results/p/j.json")

    asyncio.run(run())


def test_put_file_moves_a_finished_file_in(store: Any, tmp_path: Path) -> None:
    big = tmp_path / "export.ndjson"
    big.write_bytes(b"x" * (6 * 1024 * 1024 + 7))  # over S3's multipart threshold

    async def run() -> None:
        await store.put_file("exports/p/e.ndjson", big)
        assert len(await store.get("exports/p/e.ndjson")) == 6 * 1024 * 1024 + 7

    asyncio.run(run())
    assert not big.exists()


@pytest.mark.parametrize("key", ["", "../escape", "/abs", "results/../../x"])
def test_keys_cannot_escape(store: Any, key: str) -> None:
    with pytest.raises(InvalidInput):
        asyncio.run(store.put(key, b"x"))


def test_put_all_stores_every_file_and_keeps_keys_inside(store: Any) -> None:
    """``put_all``: a page of results in one go (the local store's ``put_many``: one thread
    hop, the files flushed side by side, renamed into place), each readable as if ``put``."""
    files = [(f"results/p/{i}.json", b'{"n": %d}' % i) for i in range(300)]
    files += [("results/q/only.json", b"{}"), ("top.json", b"[]")]

    async def run() -> None:
        await store.put("results/p/7.json", b"old")
        await put_all(store, files)
        for key, data in files:
            assert await store.get(key) == data
        for key in ("results/../../x", "../escape", "/abs"):
            with pytest.raises(InvalidInput):
                await put_all(store, [("results/p/fine.json", b"{}"), (key, b"x")])

    asyncio.run(run())
    if isinstance(store, LocalBlobStore):  # no temporary file is left behind
        assert not [p for p in store.root.rglob(".tmp-*")]


def test_s3_presigned_links_read_the_object_over_http() -> None:
    with s3_server() as s3:
        store = S3BlobStore(
            f"s3://{s3.bucket}",
            endpoint_url=s3.endpoint_url,
            region=s3.region,
            access_key_id=s3.access_key_id,
            secret_access_key=s3.secret_access_key,
        )
        asyncio.run(store.put("results/p/j.json", b"{}"))
        link = store.presigned_url("results/p/j.json", ttl=60)
        assert "Signature" in link or "X-Amz-Signature" in link
        assert httpx.get(link).content == b"{}"
