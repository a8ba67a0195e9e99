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
