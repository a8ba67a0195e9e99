"""Page tokens for listing a batch's jobs (API.md 3.5).

A token is a keyset position: the batch sequence number of the last job a page showed. It is
MAC-ed together with the batch id and the query it was issued for, so a token cannot be forged,
edited, or replayed against another batch or filter. The encoding uses only ``[A-Za-z0-9_-]``
because the SDK appends it to the URL without encoding.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import struct
from collections.abc import Sequence

from labelyard.errors import InvalidInput, InvalidPageToken

_SMALL_NUMBER = re.compile(r"[0-9]{1,9}")
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
_VERSION = 1
_MAC_BYTES = 12
_LAYOUT = struct.Struct(">BQ")  # version, position


def _mac(key: bytes, batch_id: str, query: str, position: int) -> bytes:
    message = f"{batch_id}\n{query}\n{position}".encode()
    return hmac.new(key, message, hashlib.sha256).digest()[:_MAC_BYTES]


def query_of(statuses: Sequence[str]) -> str:
    """The canonical form of the filters a token is bound to."""
    return "status=" + ",".join(sorted(set(statuses)))


def encode_token(key: bytes, *, batch_id: str, query: str, position: int) -> str:
    """A token that resumes listing ``batch_id`` with ``query`` after ``position``."""
    raw = _LAYOUT.pack(_VERSION, position) + _mac(key, batch_id, query, position)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_token(key: bytes, token: str, *, batch_id: str, query: str) -> int:
    """The position a token resumes after; ``InvalidPageToken`` unless it was issued for this."""
    if not token:
        return 0
    if len(token) > 64 or not token.isascii():
        raise InvalidPageToken()
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        raise InvalidPageToken() from None
    if len(raw) != _LAYOUT.size + _MAC_BYTES:
        raise InvalidPageToken()
    version, position = _LAYOUT.unpack(raw[: _LAYOUT.size])
    expected = _mac(key, batch_id, query, position)
    if version != _VERSION or not hmac.compare_digest(raw[_LAYOUT.size :], expected):
        raise InvalidPageToken("page_token is malformed or belongs to another batch or query")
    # Re-encoding must give the token back: rejects non-canonical spellings of the same bytes.
    if encode_token(key, batch_id=batch_id, query=query, position=position) != token:
        raise InvalidPageToken()
    return int(position)


def parse_limit(value: str | None) -> int:
    """The page size asked for (``limit`` extension), 1..1000, default 100."""

    if value is None or value == "":
        return DEFAULT_PAGE_SIZE
    if not _SMALL_NUMBER.fullmatch(value) or not 1 <= int(value) <= MAX_PAGE_SIZE:
        raise InvalidInput(f"limit must be an integer from 1 to {MAX_PAGE_SIZE}")
    return int(value)
