"""What handlers need from a request: the database, the caller's project, the parsed body."""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from labelyard.core.audit import ADMIN, API_KEY, Actor
from labelyard.core.model import Project, ProjectKey
from labelyard.core.validation import WorkflowRef
from labelyard.errors import AuthFailure
from labelyard.http.address import client_address
from labelyard.http.body import bulk_json_body, json_body
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


async def project_key(
    project_id: str, api_key: Annotated[str | None, Security(api_key_header)] = None
) -> ProjectKey:
    """The project named in the path and the caller's ``x-api-key``, for a service that checks
    the key in the statement that reads (``services.accounts.key_lookup``)."""
    return ProjectKey(project_id=project_id, api_key=api_key)


ProjectKeyAccess = Annotated[ProjectKey, Depends(project_key)]


async def admin_access(
    state: State,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)] = None,
) -> None:
    """Allow the request only with ``Authorization: Bearer <admin token>``."""
    given = credentials.credentials.encode() if credentials else b""
    if not given or not hmac.compare_digest(given, state.admin_token.encode()):
        raise AuthFailure("missing or invalid admin token")


async def admin_actor(request: Request) -> Actor:
    """The admin, as the audit log names them (the route checks the token)."""
    return Actor(ADMIN, "", client_address(request))


async def owner_actor(request: Request, project: ProjectAccess) -> Actor:
    """The API key acting on the project, as the audit log names it."""
    return Actor(API_KEY, project.key_id, client_address(request))


AdminActor = Annotated[Actor, Depends(admin_actor)]
OwnerActor = Annotated[Actor, Depends(owner_actor)]

Body = Annotated[Any, Depends(json_body)]


async def no_workflows() -> None:
    """Not read here: the service reads the project's workflows (``api.fast`` reads them with
    the key and the project, in one statement, and hands them over)."""
    return None


Workflows = Annotated[dict[str, WorkflowRef] | None, Depends(no_workflows)]
BulkBody = Annotated[Any, Depends(bulk_json_body)]
