"""Responses as the OpenAPI document shows them: the envelope, and every error it may carry."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel


class ErrorBody(BaseModel):
    code: str
    message: str


class ErrorEnvelope(BaseModel):
    success: Literal[False]
    error: ErrorBody


class Envelope(BaseModel):
    success: Literal[True]
    data: dict[str, Any]


def _error(description: str) -> dict[str, Any]:
    return {"model": ErrorEnvelope, "description": description}


ERRORS: dict[int | str, dict[str, Any]] = {
    400: _error("invalid request (GE_0001, GE_0002, FS_*, BATCH_CREATION, invalid_request_error)"),
    401: _error("missing or invalid credentials (auth-failure)"),
    403: _error("not allowed (unauthorized)"),
    404: _error("not found (resource_error)"),
    405: _error("method not allowed (invalid_request_error)"),
    409: _error("the job is not in a state for this (conflict)"),
    413: _error("body too large (GE_0001)"),
    429: _error("rate limited (rate_limited), with Retry-After"),
    500: _error("unexpected fault (api_error)"),
}

ENVELOPE: dict[int | str, dict[str, Any]] = {
    200: {"model": Envelope, "description": "success"},
    **ERRORS,
}

JSON_DOCUMENT = {"content": {"application/json": {"schema": {"type": "object"}}}}

RAW_JSON: dict[int | str, dict[str, Any]] = {
    200: {"description": "the JSON document itself", **JSON_DOCUMENT},
    **ERRORS,
}

PICTURE: dict[int | str, dict[str, Any]] = {
    200: {"description": "a demo picture (PNG)", "content": {"image/png": {}}},
    **ERRORS,
}
REDIRECT: dict[int | str, dict[str, Any]] = {
    302: {"description": "Location: a short-lived signed link"},
    **ERRORS,
}

CLAIM: dict[int | str, dict[str, Any]] = {
    **ENVELOPE,
    200: {
        "model": Envelope,
        "description": "the job leased; with count, {jobs: [...]}: up to count jobs leased "
        "in one transaction (an empty list when none is free)",
    },
    204: {"description": "no free job in this step (without count)"},
}

CSV: dict[int | str, dict[str, Any]] = {
    200: {"description": "a CSV file", "content": {"text/csv": {"schema": {"type": "string"}}}},
    **ERRORS,
}
