"""Request bodies: JSON parsed once, with the checks every route relies on."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request

from labelyard.core.validation import MAX_JSON_DEPTH, has_nul, raw_json_deeper_than
from labelyard.errors import InvalidInput


async def json_body(request: Request) -> Any:
    """The request body parsed as JSON (None when empty); ``GE_0001`` if it is not JSON, holds a
    NUL character or nests deeper than ``MAX_JSON_DEPTH``."""
    return parse_json(await request.body(), depth=MAX_JSON_DEPTH)


async def bulk_json_body(request: Request) -> Any:
    """Like ``json_body`` but any depth orjson reads: a bulk create checks each item's depth,
    so one too-deep job gets its own error and the others are created."""
    return parse_json(await request.body(), depth=None)


def parse_json(raw: bytes, *, depth: int | None) -> Any:
    """``raw`` parsed, checked for NUL characters and (unless ``depth`` is None) nesting."""
    if not raw.strip():
        return None
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise InvalidInput("request body is not valid JSON") from None
    if depth is not None and raw_json_deeper_than(raw, depth):
        raise InvalidInput(f"request body is JSON nested deeper than {depth} levels")
    # A backslash first (one memchr over the body), then the escape itself (a slower search).
    if b"\\" in raw and b"\\u0000" in raw and has_nul(body):
        raise InvalidInput("strings may not contain the NUL character (\\u0000)")
    return body
