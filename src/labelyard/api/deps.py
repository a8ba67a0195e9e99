"""What handlers need from a request: the database, the caller's project, the parsed body."""

from __future__ import annotations

import hmac
from typing import Annotated, Any

import orjson
from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from labelyard.core.model import Project
from labelyard.core.validation import MAX_JSON_DEPTH, has_nul, raw_json_deeper_than
from labelyard.errors import AuthFailure, InvalidInput
from labelyard.services import accounts
from labelyard.state import AppState

api_key_header = APIKeyHeader(name="x-api-key", auto_error=False)
bearer = HTTPBearer(auto_error=False)


async def app_state(request: Request) -> AppState:
    """The per-process state built at start (settings, database, keys)."""
    state: AppState = request.app.state.labelyard
    return state


State = Annotated[AppState, Depends(app_state)]


async def project_access(
    project_id: str,
    state: State,
    api_key: Annotated[str | None, Security(api_key_header)] = None,
) -> Project:
    """The project named in the path, if the caller's ``x-api-key`` may act on it."""
    return await accounts.authorize(state.db, api_key=api_key, project_id=project_id)


ProjectAccess = Annotated[Project, Depends(project_access)]


async def admin_access(
    state: State,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)] = None,
) -> None:
    """Allow the request only with ``Authorization: Bearer <admin token>``."""
    given = credentials.credentials.encode() if credentials else b""
    if not given or not hmac.compare_digest(given, state.admin_token.encode()):
        raise AuthFailure("missing or invalid admin token")


async def json_body(request: Request) -> Any:
    """The request body parsed as JSON (None when empty); ``GE_0001`` if it is not JSON, holds a
    NUL character or nests deeper than ``MAX_JSON_DEPTH``."""
    return _parse(await request.body(), depth=MAX_JSON_DEPTH)


async def bulk_json_body(request: Request) -> Any:
    """Like ``json_body`` but any depth orjson reads: a bulk create checks each item's depth,
    so one too-deep job gets its own error and the others are created."""
    return _parse(await request.body(), depth=None)


def _parse(raw: bytes, *, depth: int | None) -> Any:
    if not raw.strip():
        return None
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise InvalidInput("request body is not valid JSON") from None
    if depth is not None and raw_json_deeper_than(raw, depth):
        raise InvalidInput(f"request body is JSON nested deeper than {depth} levels")
    if b"\\u0000" in raw and has_nul(body):
        raise InvalidInput("strings may not contain the NUL character (\\u0000)")
    return body


Body = Annotated[Any, Depends(json_body)]
BulkBody = Annotated[Any, Depends(bulk_json_body)]
