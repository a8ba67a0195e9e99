"""Identifier rules: every id labelyard hands out is a UUID string."""

from __future__ import annotations

import uuid

from labelyard.errors import InvalidInput


def new_id() -> str:
    """A fresh random UUID string."""
    return str(uuid.uuid4())


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
