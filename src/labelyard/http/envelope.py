"""The response envelope of API.md section 1, encoded once with orjson."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from labelyard.errors import LabelyardError, RateLimited


def ok(data: Any) -> Response:
    """``{"success": true, "data": ...}`` with HTTP 200."""
    body = orjson.dumps({"success": True, "data": data})
    return Response(body, media_type="application/json")


def failure(exc: LabelyardError) -> Response:
    """``{"success": false, "error": {"code", "message"}}`` with the error's HTTP status."""
    body = orjson.dumps({"success": False, "error": {"code": exc.code, "message": exc.message}})
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimited) else None
    return Response(body, status_code=exc.status, media_type="application/json", headers=headers)
