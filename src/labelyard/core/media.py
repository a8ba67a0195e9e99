"""Media URLs of jobs: which are objects in a private bucket, which connection serves them, and
every media URL a job's data names (images, frames, camera images, point clouds, references).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar
from urllib.parse import unquote, urlsplit

from labelyard.errors import InvalidInput

OBJECT_SCHEMES = ("s3", "gs")
SCHEMES = ("http", "https", *OBJECT_SCHEMES)
# Keys under which job data names media (API.md 3.2, 3.7): image_url, a frame's src, a sensor's
# data_url, a raster pre-label's url.
MEDIA_KEYS = frozenset({"image_url", "src", "data_url", "url"})


@dataclass(frozen=True, slots=True)
class ObjectUrl:
    """``s3://bucket/key`` or ``gs://bucket/key``, taken apart."""

    scheme: str
    bucket: str
    key: str

    @property
    def path(self) -> str:
        """``bucket/key``, what a connection's bucket prefix is matched against."""
        return f"{self.bucket}/{self.key}"


def parse_object_url(url: str) -> ObjectUrl | None:
    """The parts of an object-store URL; None for any other URL."""
    if not isinstance(url, str) or "://" not in url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in OBJECT_SCHEMES or not parts.netloc:
        return None
    key = unquote(parts.path.lstrip("/"))
    if not key:
        return None
    return ObjectUrl(parts.scheme, parts.netloc, key)


def normalise_bucket_prefix(value: object) -> str:
    """A connection's bucket prefix: ``bucket``, ``bucket/folder/`` or ``bucket-name-start``,
    without a scheme; ``InvalidInput`` if empty or malformed."""
    if not isinstance(value, str):
        raise InvalidInput("bucket_prefix must be a string")
    prefix = value.strip()
    for scheme in OBJECT_SCHEMES:
        if prefix.startswith(f"{scheme}://"):
            prefix = prefix[len(scheme) + 3 :]
    if not prefix or prefix.startswith("/") or any(c.isspace() for c in prefix):
        raise InvalidInput("bucket_prefix must name a bucket (and optionally a folder in it)")
    if len(prefix) > 255:
        raise InvalidInput("bucket_prefix may have at most 255 characters")
    return prefix


class Prefixed(Protocol):
    """What matching needs of a storage connection."""

    @property
    def scheme(self) -> str: ...

    @property
    def bucket_prefix(self) -> str: ...


C = TypeVar("C", bound=Prefixed)


def pick_connection(connections: Sequence[C], url: ObjectUrl) -> C | None:
    """The connection of ``url``'s scheme with the longest bucket prefix that ``bucket/key``
    starts with; None if there is none."""
    best: C | None = None
    for connection in connections:
        if connection.scheme != url.scheme or not url.path.startswith(connection.bucket_prefix):
            continue
        if best is None or len(connection.bucket_prefix) > len(best.bucket_prefix):
            best = connection
    return best


def media_urls(data: Any) -> Iterator[str]:
    """Every media URL named in a job's data, in document order (duplicates included)."""
    if isinstance(data, dict):
        for key, value in data.items():
            if key in MEDIA_KEYS and isinstance(value, str):
                yield value
            elif key != "metadata":
                yield from media_urls(value)
    elif isinstance(data, list):
        for item in data:
            yield from media_urls(item)


def rewrite_media(data: Any, rewrite: Callable[[str], str]) -> Any:
    """A copy of a job's data with every media URL replaced by ``rewrite(url)``; the rest is
    shared with the original, which is never changed."""
    if isinstance(data, dict):
        return {
            key: rewrite(value)
            if key in MEDIA_KEYS and isinstance(value, str)
            else (value if key == "metadata" else rewrite_media(value, rewrite))
            for key, value in data.items()
        }
    if isinstance(data, list):
        return [rewrite_media(item, rewrite) for item in data]
    return data


# --- Media checks ------------------------------------------------------------------------------

INVALID_IMAGE_LINK = "INVALID_IMAGE_LINK"
"""The hosted API's failure type for media that cannot be read (``FS_0007``)."""
SNIFF_BYTES = 64
"""How much of a file the check reads (a ranged GET): enough for every signature below."""
# Answers that mean the media is not there (or not ours to read): the check gives up at once.
DEAD_STATUSES = frozenset({400, 401, 403, 404, 405, 410, 414, 451})

_SIGNATURES = (
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff",  # JPEG
    b"GIF87a",
    b"GIF89a",
    b"BM",  # BMP
    b"II*\x00",  # TIFF, little-endian
    b"MM\x00*",  # TIFF, big-endian
)


@dataclass(frozen=True, slots=True)
class MediaItem:
    """One media URL of a job: where in ``data`` it is, and whether it must be an image."""

    field: str
    url: str
    image: bool


def media_items(data: Any) -> list[MediaItem]:
    """Every media URL of a job's data with its field path (``video_data.frames[2].src``); a
    sensor's ``data_url`` is an image only for camera sensors (lidar files are not images)."""
    cameras: set[str] = set()
    if isinstance(data, dict) and isinstance(data.get("sensor_data"), dict):
        meta = data["sensor_data"].get("sensor_meta")
        if isinstance(meta, list):
            cameras = {
                str(m.get("id"))
                for m in meta
                if isinstance(m, dict) and m.get("modality") == "camera"
            }
    found: list[MediaItem] = []

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                where = f"{path}.{key}" if path else str(key)
                if key in MEDIA_KEYS and isinstance(value, str):
                    image = key != "data_url" or str(node.get("sensor_id")) in cameras
                    found.append(MediaItem(where, value, image))
                elif key != "metadata":
                    walk(value, where)
        elif isinstance(node, list):
            for i, item in enumerate(node):
                walk(item, f"{path}[{i}]")

    walk(data, "")
    return found


def sample_items(items: Sequence[MediaItem], limit: int) -> list[MediaItem]:
    """At most ``limit`` items with distinct URLs, spread evenly, first and last included."""
    seen: set[str] = set()
    distinct = []
    for item in items:
        if item.url not in seen:
            seen.add(item.url)
            distinct.append(item)
    if len(distinct) <= limit:
        return distinct
    if limit <= 1:
        return distinct[:limit]
    step = (len(distinct) - 1) / (limit - 1)
    return [distinct[round(i * step)] for i in range(limit)]


def looks_like_image(head: bytes) -> bool:
    """Whether the first bytes of a file are those of an image format browsers show."""
    if head.startswith(_SIGNATURES):
        return True
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return True
    return head[4:8] == b"ftyp" and head[8:12] in (b"avif", b"avis", b"heic", b"mif1")


@dataclass(frozen=True, slots=True)
class Readable:
    """The media answered as expected."""


@dataclass(frozen=True, slots=True)
class Unreadable:
    """The media is not there, or not an image: the job fails its check."""

    reason: str


@dataclass(frozen=True, slots=True)
class TryLater:
    """The store did not answer properly this time (timeout, 5xx, 429): check again later."""

    reason: str


Verdict = Readable | Unreadable | TryLater


def judge(*, status: int, head: bytes, image: bool) -> Verdict:
    """The verdict on one answer to a ranged GET of a media URL."""
    if status in (200, 206):
        if image and not looks_like_image(head):
            return Unreadable("the file is not an image (PNG, JPEG, GIF, WebP, BMP, TIFF, AVIF)")
        return Readable()
    if status in DEAD_STATUSES or (400 <= status < 500 and status not in (408, 429)):
        return Unreadable(f"HTTP {status}")
    return TryLater(f"HTTP {status}")


def media_error_text(failures: Sequence[tuple[MediaItem, str]]) -> str:
    """The job's ``media_error``: the first failures, with their fields and reasons."""
    shown = [f"{item.field} ({item.url}): {reason}" for item, reason in failures[:3]]
    more = len(failures) - len(shown)
    return "; ".join(shown) + (f"; and {more} more" if more > 0 else "")
