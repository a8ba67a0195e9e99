"""Request bodies: JSON parsed once, with the checks every route relies on."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request

from labelyard.errors import InvalidInput


async def json_body(request: Request) -> Any:
    """The request body parsed as JSON (None when empty); ``GE_0001`` if it is not JSON."""
    raw = await request.body()
    if not raw.strip():
        return None
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise InvalidInput("request body is not valid JSON") from None
    if b"\\u0000" in raw and _has_nul(body):
        raise InvalidInput("strings may not contain the NUL character (\\u0000)")
    return body


def _has_nul(value: Any) -> bool:
    """True if a NUL character is in any string (key or value) of a parsed JSON document."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False
