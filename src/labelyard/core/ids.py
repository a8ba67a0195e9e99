"""Identifier rules: every id labelyard hands out is a UUID string."""

from __future__ import annotations

import secrets
import uuid

from labelyard.errors import InvalidInput

_VARIANT = "89ab"


def new_id() -> str:
    """A fresh random (version 4) UUID string, formatted straight from 16 random bytes (three
    times faster than ``str(uuid.uuid4())``; bulk creates make two per job)."""
    h = secrets.token_hex(16)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"


_VARIANT_OF = {digit: _VARIANT[int(digit, 16) & 3] for digit in "0123456789abcdef"}


def new_ids(count: int) -> list[str]:
    """``count`` fresh random (version 4) UUID strings, as ``new_id`` makes them, from one read
    of random bytes."""
    h = secrets.token_bytes(16 * count).hex()
    variant = _VARIANT_OF
    return [
        f"{h[i : i + 8]}-{h[i + 8 : i + 12]}-4{h[i + 13 : i + 16]}-"
        f"{variant[h[i + 16]]}{h[i + 17 : i + 20]}-{h[i + 20 : i + 32]}"
        for i in range(0, 32 * count, 32)
    ]


def parse_uuid(value: object) -> str | None:
    """The canonical form of ``value`` if it is a UUID string, else None."""
    if not isinstance(value, str) or len(value) != 36:
        return None
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


def require_uuid(value: object, what: str) -> str:
    """The canonical UUID string of ``value``; ``InvalidInput`` naming ``what`` otherwise."""
    canonical = parse_uuid(value)
    if canonical is None:
        raise InvalidInput(f"{what} must be a UUID")
    return canonical
