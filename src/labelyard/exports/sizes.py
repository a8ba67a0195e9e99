"""Pixel sizes of job images, for formats that count in pixels (COCO, Pascal VOC).

In order: ``image_width`` / ``image_height`` in the job's ``data`` (or ``data.metadata``); else
the header of the image itself, when its URL is a local file (``file://`` or an absolute path)
or http(s), read by Pillow from at most ``PROBE_MAX_BYTES`` within ``PROBE_TIMEOUT_SECONDS``;
else none, with the reason (the job is then listed in the export's report).

Local files and http(s) hosts on loopback, private or link-local addresses are read only when
``allow_private`` is set (the command line; the worker when the deployment allows it): an API
client must not make the server probe its own network.
"""

from __future__ import annotations

import asyncio
import io
import socket
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

import httpx
from PIL import Image

from labelyard.core.events import address_allowed

PROBE_TIMEOUT_SECONDS = 5.0
PROBE_MAX_BYTES = 1024 * 1024
PROBE_CONCURRENCY = 16
MAX_REDIRECTS = 3
_CHUNK = 16 * 1024
NO_SIZE = "no image_width/image_height in data"


@dataclass(frozen=True, slots=True)
class ImageSize:
    """Width and height in pixels."""

    width: int
    height: int


@dataclass(frozen=True, slots=True)
class NoSize:
    """Why an image's size is unknown."""

    reason: str


Sizing = ImageSize | NoSize


def _positive(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value) if value >= 1 and value == int(value) else None


def size_in_data(data: Any) -> ImageSize | None:
    """The size given in the job's data (``image_width``/``image_height``), if any."""
    if not isinstance(data, dict):
        return None
    for holder in (data, data.get("metadata")):
        if isinstance(holder, dict):
            width = _positive(holder.get("image_width"))
            height = _positive(holder.get("image_height"))
            if width and height:
                return ImageSize(width, height)
    return None


def _header_size(source: Any) -> ImageSize:
    """The size in an image's header (``source``: a path or a file object); raises if none."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        with Image.open(source) as image:
            width, height = image.size
    return ImageSize(width, height)


class ImageSizer:
    """Finds image sizes, probing image headers a few at a time."""

    def __init__(
        self,
        client: httpx.AsyncClient | None,
        *,
        allow_private: bool,
        timeout: float = PROBE_TIMEOUT_SECONDS,
        max_bytes: int = PROBE_MAX_BYTES,
        concurrency: int = PROBE_CONCURRENCY,
    ) -> None:
        self._client = client
        self._allow_private = allow_private
        self._timeout = timeout
        self._max_bytes = max_bytes
        self._slots = asyncio.Semaphore(concurrency)

    async def sizes(self, datas: Sequence[Any]) -> list[Sizing]:
        """The size of each job's image, in order (probes run concurrently)."""
        found: list[Sizing | None] = [size_in_data(data) for data in datas]
        unknown = [i for i, size in enumerate(found) if size is None]
        if unknown:
            probed = await asyncio.gather(*(self.size(datas[i]) for i in unknown))
            for i, size in zip(unknown, probed, strict=True):
                found[i] = size
        return [size for size in found if size is not None]

    async def size(self, data: Any) -> Sizing:
        """The size of one job's image, or why it is unknown."""
        given = size_in_data(data)
        if given is not None:
            return given
        url = data.get("image_url") if isinstance(data, dict) else None
        if not isinstance(url, str) or not url:
            return NoSize(f"{NO_SIZE} and no image_url")
        scheme = urlsplit(url).scheme.lower()
        async with self._slots:
            try:
                async with asyncio.timeout(self._timeout):
                    if scheme in ("http", "https"):
                        return await self._probe_http(url)
                    if scheme == "file" or (not scheme and url.startswith("/")):
                        return await self._probe_file(url)
            except TimeoutError:
                return NoSize(f"{NO_SIZE}, and reading {url} took over {self._timeout:g} s")
        what = f"{scheme}:// images" if scheme else "relative paths"
        return NoSize(f"{NO_SIZE}, and {what} are not read")

    async def _probe_file(self, url: str) -> Sizing:
        if not self._allow_private:
            return NoSize(f"{NO_SIZE}, and local files are not read here")
        path = Path(unquote(urlsplit(url).path) if url.startswith("file:") else url)
        try:
            return await asyncio.to_thread(_header_size, path)
        except (OSError, ValueError, Image.DecompressionBombError) as exc:
            return NoSize(f"{NO_SIZE}, and {path} is not a readable image: {type(exc).__name__}")

    async def _probe_http(self, url: str) -> Sizing:
        if self._client is None:
            return NoSize(f"{NO_SIZE}, and http(s) images are not read here")
        for _ in range(MAX_REDIRECTS + 1):
            refused = await self._refuse(url)
            if refused is not None:
                return refused
            try:
                async with self._client.stream(
                    "GET", url, headers={"range": f"bytes=0-{self._max_bytes - 1}"}
                ) as response:
                    if response.is_redirect and "location" in response.headers:
                        url = urljoin(url, response.headers["location"])
                        continue
                    if response.status_code not in (200, 206):
                        return NoSize(f"{NO_SIZE}, and {url} answered HTTP {response.status_code}")
                    return await self._read_header(url, response)
            except httpx.HTTPError as exc:
                return NoSize(f"{NO_SIZE}, and {url} could not be read: {type(exc).__name__}")
        return NoSize(f"{NO_SIZE}, and {url} redirects too often")

    async def _read_header(self, url: str, response: httpx.Response) -> Sizing:
        buffer = bytearray()
        tried_at = 0
        async for chunk in response.aiter_bytes(_CHUNK):
            buffer += chunk
            if len(buffer) - tried_at >= _CHUNK or len(buffer) >= self._max_bytes:
                tried_at = len(buffer)
                found = _size_of_prefix(bytes(buffer))
                if found is not None:
                    return found
            if len(buffer) >= self._max_bytes:
                break
        else:
            found = _size_of_prefix(bytes(buffer))
            if found is not None:
                return found
        return NoSize(
            f"{NO_SIZE}, and {url} does not start like an image (first {len(buffer):,} bytes read)"
        )

    async def _refuse(self, url: str) -> NoSize | None:
        """Why ``url`` may not be read from here (a private or local host), or None."""
        if self._allow_private:
            return None
        parts = urlsplit(url)
        host = parts.hostname
        if not host:
            return NoSize(f"{NO_SIZE}, and {url} has no host")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            loop = asyncio.get_running_loop()
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError:
            return NoSize(f"{NO_SIZE}, and the host of {url} is unknown")
        for info in infos:
            if not address_allowed(str(info[4][0]), allow_private=False):
                return NoSize(
                    f"{NO_SIZE}, and {host} is a private or local address (not read here)"
                )
        return None


def _size_of_prefix(prefix: bytes) -> ImageSize | None:
    try:
        return _header_size(io.BytesIO(prefix))
    except (OSError, ValueError, Image.DecompressionBombError):
        return None
