"""Management under /admin/v1, for the holder of the server's admin token."""

from __future__ import annotations

from dataclasses import asdict

from starlette.responses import Response

from labelyard.api.deps import AdminActor, Body, State
from labelyard.core.pull import parse_pull_request
from labelyard.errors import InvalidInput
from labelyard.http.envelope import ok
from labelyard.services import accounts, projects, pull_runs, sso, storage, workers


def _fields(body: object) -> dict[str, object]:
    if not isinstance(body, dict):
        raise InvalidInput("body must be a JSON object")
    return body


async def create_account(state: State, body: Body, actor: AdminActor) -> Response:
    """A new account and its first API key (shown once)."""
    issued = await accounts.create_account(state.db, name=_fields(body).get("name"), actor=actor)
    return ok(asdict(issued))


async def create_key(state: State, account_id: str, actor: AdminActor) -> Response:
    """A new API key for the account (shown once)."""
    return ok(asdict(await accounts.create_key(state.db, account_id=account_id, actor=actor)))


async def revoke_key(state: State, key_id: str, actor: AdminActor) -> Response:
    """Revoke an API key."""
    await accounts.revoke_key(state.db, key_id=key_id, actor=actor)
    return ok({"key_id": key_id, "revoked": True})


async def create_project(state: State, body: Body, actor: AdminActor) -> Response:
    """A project with its default workflow and batch, and a new API key for its account."""
    fields = _fields(body)
    created = await projects.create_project(
        state.db,
        name=fields.get("name"),
        base=fields.get("base"),
        account_id=fields.get("account_id"),
        actor=actor,
    )
    return ok(created)


async def set_worker_login(state: State, worker_id: str, body: Body, actor: AdminActor) -> Response:
    """Let a worker sign in to the web UI with a username and password."""
    fields = _fields(body)
    password = fields.get("password")
    if not isinstance(password, str):
        raise InvalidInput("password must be a string")
    await workers.set_login(
        state.db,
        worker_id=worker_id,
        username=fields.get("username"),
        password=password,
        actor=actor,
    )
    return ok({"worker_id": worker_id, "username": fields.get("username")})


async def revoke_worker(state: State, worker_id: str, actor: AdminActor) -> Response:
    """Revoke a worker: its token stops working and its web sign-ins end at once."""
    await workers.revoke_worker(state.db, worker_id=worker_id, actor=actor)
    return ok({"worker_id": worker_id, "revoked": True})


async def create_workflow(state: State, project_id: str, body: Body, actor: AdminActor) -> Response:
    """A new workflow in the project."""
    fields = _fields(body)
    created = await projects.create_workflow(
        state.db,
        project_id=project_id,
        name=fields.get("name"),
        tag=fields.get("tag"),
        steps=fields.get("steps"),
        actor=actor,
    )
    return ok(created)


async def set_schema(state: State, project_id: str, body: Body, actor: AdminActor) -> Response:
    """Replace the project's label schema."""
    return ok(
        await projects.set_label_schema(state.db, project_id=project_id, schema=body, actor=actor)
    )


async def get_schema(state: State, project_id: str) -> Response:
    """The project's label schema."""
    return ok(await projects.get_label_schema(state.db, project_id=project_id))


async def create_worker(state: State, account_id: str, body: Body, actor: AdminActor) -> Response:
    """A worker (annotator, reviewer or both) of the account, with its token (shown once)."""
    fields = _fields(body)
    created = await workers.create_worker(
        state.db,
        account_id=account_id,
        name=fields.get("name"),
        role=fields.get("role"),
        actor=actor,
    )
    return ok(created)


async def set_sso(state: State, account_id: str, body: Body, actor: AdminActor) -> Response:
    """Set the account's OpenID Connect provider (the client secret is kept sealed)."""
    return ok(
        await sso.configure(state.db, state.box, account_id=account_id, body=body, actor=actor)
    )


async def get_sso(state: State, account_id: str) -> Response:
    """The account's OpenID Connect provider, without its secret."""
    return ok(await sso.provider(state.db, account_id=account_id))


async def delete_sso(state: State, account_id: str, actor: AdminActor) -> Response:
    """Remove the account's provider; its sign-ins stop at once."""
    await sso.remove(state.db, account_id=account_id, actor=actor)
    return ok({"account_id": account_id, "removed": True})


async def set_worker_identity(
    state: State, worker_id: str, body: Body, actor: AdminActor
) -> Response:
    """The e-mail or subject under which the account's provider names this worker."""
    return ok(await sso.set_worker_identity(state.db, worker_id=worker_id, body=body, actor=actor))


async def add_storage(state: State, account_id: str, body: Body, actor: AdminActor) -> Response:
    """A storage connection of the account (its secret is sealed and never returned)."""
    fields = _fields(body)
    created = await storage.add_connection(
        state.db,
        state.box,
        account_id=account_id,
        scheme=fields.get("scheme"),
        endpoint_url=fields.get("endpoint_url"),
        region=fields.get("region"),
        bucket_prefix=fields.get("bucket_prefix"),
        access_key_id=fields.get("access_key_id"),
        secret_access_key=fields.get("secret_access_key"),
        actor=actor,
    )
    return ok(created)


async def list_storage(state: State, account_id: str) -> Response:
    """The account's storage connections, without secrets."""
    return ok(await storage.list_connections(state.db, account_id=account_id))


async def remove_storage(
    state: State, account_id: str, connection_id: str, actor: AdminActor
) -> Response:
    """Remove a storage connection."""
    await storage.remove_connection(
        state.db, account_id=account_id, connection_id=connection_id, actor=actor
    )
    return ok({"connection_id": connection_id, "removed": True})


async def queue_migration(state: State, body: Body) -> Response:
    """Queue a pull of a whole project from a hosted-API server, run by ``labelyard worker``."""
    request = parse_pull_request(body)
    return ok(await pull_runs.queue_pull(state.db, state.media.box, request))


async def get_migration(state: State, migration_id: str) -> Response:
    """A queued pull's status and progress (never its API key)."""
    return ok(await pull_runs.get_pull(state.db, run_id=migration_id))
