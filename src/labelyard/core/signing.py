"""Short-lived signed links to private files (API.md 3.6)."""

from __future__ import annotations

import hashlib
import hmac
import re
from urllib.parse import quote

from labelyard.errors import Forbidden

_EXPIRES = re.compile(r"[0-9]{1,12}")


def _signature(key: bytes, path: str, expires: int) -> str:
    return hmac.new(key, f"{path}\n{expires}".encode(), hashlib.sha256).hexdigest()


def signed_query(key: bytes, path: str, *, now: int, ttl: int) -> str:
    """The query string that makes ``path`` readable until ``now + ttl`` (epoch seconds)."""
    expires = now + ttl
    return f"expires={expires}&signature={quote(_signature(key, path, expires))}"


def verify(key: bytes, path: str, *, expires: str | None, signature: str | None, now: int) -> None:
    """``Forbidden`` unless the link is signed for ``path`` and not expired."""
    if not expires or not signature or not _EXPIRES.fullmatch(expires):
        raise Forbidden("this file needs a signed link (GET /v1/attachments?url=...)")
    expected = _signature(key, path, int(expires))
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        raise Forbidden("the link's signature is invalid")
    if int(expires) < now:
        raise Forbidden("the link has expired; ask /v1/attachments for a new one")
