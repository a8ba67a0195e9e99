"""Management under /admin/v1, for the holder of the server's admin token."""

from __future__ import annotations

from dataclasses import asdict

from starlette.responses import Response

from labelyard.api.deps import Body, State
from labelyard.errors import InvalidInput
from labelyard.http.envelope import ok
from labelyard.services import accounts, projects, storage, workers


def _fields(body: object) -> dict[str, object]:
    if not isinstance(body, dict):
        raise InvalidInput("body must be a JSON object")
    return body


async def create_account(state: State, body: Body) -> Response:
    """A new account and its first API key (shown once)."""
    issued = await accounts.create_account(state.db, name=_fields(body).get("name"))
    return ok(asdict(issued))


async def create_key(state: State, account_id: str) -> Response:
    """A new API key for the account (shown once)."""
    return ok(asdict(await accounts.create_key(state.db, account_id=account_id)))


async def revoke_key(state: State, key_id: str) -> Response:
    """Revoke an API key."""
    await accounts.revoke_key(state.db, key_id=key_id)
    return ok({"key_id": key_id, "revoked": True})


async def create_project(state: State, body: Body) -> Response:
    """A project with its default workflow and batch, and a new API key for its account."""
    fields = _fields(body)
    created = await projects.create_project(
        state.db,
        name=fields.get("name"),
        base=fields.get("base"),
        account_id=fields.get("account_id"),
    )
    return ok(created)


async def set_worker_login(state: State, worker_id: str, body: Body) -> Response:
    """Let a worker sign in to the web UI with a username and password."""
    fields = _fields(body)
    password = fields.get("password")
    if not isinstance(password, str):
        raise InvalidInput("password must be a string")
    await workers.set_login(
        state.db, worker_id=worker_id, username=fields.get("username"), password=password
    )
    return ok({"worker_id": worker_id, "username": fields.get("username")})


async def revoke_worker(state: State, worker_id: str) -> Response:
    """Revoke a worker: its token stops working and its web sign-ins end at once."""
    await workers.revoke_worker(state.db, worker_id=worker_id)
    return ok({"worker_id": worker_id, "revoked": True})


async def create_workflow(state: State, project_id: str, body: Body) -> Response:
    """A new workflow in the project."""
    fields = _fields(body)
    created = await projects.create_workflow(
        state.db,
        project_id=project_id,
        name=fields.get("name"),
        tag=fields.get("tag"),
        steps=fields.get("steps"),
    )
    return ok(created)


async def set_schema(state: State, project_id: str, body: Body) -> Response:
    """Replace the project's label schema."""
    return ok(await projects.set_label_schema(state.db, project_id=project_id, schema=body))


async def get_schema(state: State, project_id: str) -> Response:
    """The project's label schema."""
    return ok(await projects.get_label_schema(state.db, project_id=project_id))


async def create_worker(state: State, account_id: str, body: Body) -> Response:
    """A worker (annotator, reviewer or both) of the account, with its token (shown once)."""
    fields = _fields(body)
    created = await workers.create_worker(
        state.db, account_id=account_id, name=fields.get("name"), role=fields.get("role")
    )
    return ok(created)


async def add_storage(state: State, account_id: str, body: Body) -> Response:
    """A storage connection of the account (its secret is sealed and never returned)."""
    fields = _fields(body)
    created = await storage.add_connection(
        state.db,
        state.media.box,
        account_id=account_id,
        scheme=fields.get("scheme"),
        endpoint_url=fields.get("endpoint_url"),
        region=fields.get("region"),
        bucket_prefix=fields.get("bucket_prefix"),
        access_key_id=fields.get("access_key_id"),
        secret_access_key=fields.get("secret_access_key"),
    )
    return ok(created)


async def list_storage(state: State, account_id: str) -> Response:
    """The account's storage connections, without secrets."""
    return ok(await storage.list_connections(state.db, account_id=account_id))


async def remove_storage(state: State, account_id: str, connection_id: str) -> Response:
    """Remove a storage connection."""
    await storage.remove_connection(state.db, account_id=account_id, connection_id=connection_id)
    return ok({"connection_id": connection_id, "removed": True})
