"""Pixel sizes of job images, for formats that count in pixels (COCO, Pascal VOC).

In order: ``image_width`` / ``image_height`` in the job's ``data`` (or ``data.metadata``); else
the header of the image itself, when its URL is a local file (``file://`` or an absolute path)
or http(s), read by Pillow from at most ``PROBE_MAX_BYTES`` within ``PROBE_TIMEOUT_SECONDS``;
else none, with the reason (the job is then listed in the export's report).

Local files are read only when ``local_files`` is set (the command line, run by an operator; never
the worker). http(s) images are fetched through ``labelyard.outbound``: hosts on loopback, private
or link-local addresses only when its policy allows them, each redirect checked again, and the
connection pinned to the address checked (no DNS rebinding).
"""

from __future__ import annotations

import asyncio
import io
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import unquote, urlsplit

import httpx
from PIL import Image

from labelyard.outbound import Outbound, OutboundRefused, OutboundUnreachable

PROBE_TIMEOUT_SECONDS = 5.0
PROBE_MAX_BYTES = 1024 * 1024
PROBE_CONCURRENCY = 16
MAX_REDIRECTS = 3
_CHUNK = 16 * 1024
USER_AGENT = "labelyard-export (image size probe)"
NO_SIZE = "no image_width/image_height in data"


class ImageSize(NamedTuple):
    """Width and height in pixels (a named tuple: COCO and VOC exports make one per job)."""

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
    width, height = data.get("image_width"), data.get("image_height")
    if type(width) is int and type(height) is int and width >= 1 and height >= 1:
        return ImageSize(width, height)  # the common case, without the checks below
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
        outbound: Outbound | None,
        *,
        local_files: bool,
        timeout: float = PROBE_TIMEOUT_SECONDS,
        max_bytes: int = PROBE_MAX_BYTES,
        concurrency: int = PROBE_CONCURRENCY,
    ) -> None:
        self._outbound = outbound
        self._local_files = local_files
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
        if not self._local_files:
            return NoSize(f"{NO_SIZE}, and local files are not read here")
        path = Path(unquote(urlsplit(url).path) if url.startswith("file:") else url)
        try:
            return await asyncio.to_thread(_header_size, path)
        except (OSError, ValueError, Image.DecompressionBombError) as exc:
            return NoSize(f"{NO_SIZE}, and {path} is not a readable image: {type(exc).__name__}")

    async def _probe_http(self, url: str) -> Sizing:
        if self._outbound is None:
            return NoSize(f"{NO_SIZE}, and http(s) images are not read here")
        try:
            async with self._outbound.stream(
                "GET",
                url,
                headers={"range": f"bytes=0-{self._max_bytes - 1}", "user-agent": USER_AGENT},
                timeout=self._timeout,
                max_redirects=MAX_REDIRECTS,
            ) as response:
                if response.is_redirect:
                    return NoSize(f"{NO_SIZE}, and {url} redirects too often")
                if response.status_code not in (200, 206):
                    return NoSize(f"{NO_SIZE}, and {url} answered HTTP {response.status_code}")
                return await self._read_header(url, response)
        except OutboundRefused as exc:
            return NoSize(f"{NO_SIZE}, and {url} is not read from here: {exc}")
        except OutboundUnreachable as exc:
            return NoSize(f"{NO_SIZE}, and {url} could not be read: {exc}")

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


def _size_of_prefix(prefix: bytes) -> ImageSize | None:
    try:
        return _header_size(io.BytesIO(prefix))
    except (OSError, ValueError, Image.DecompressionBombError):
        return None
