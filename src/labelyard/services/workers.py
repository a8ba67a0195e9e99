"""Workers: the accounts of annotators, reviewers and programs, their tokens and sign-ins.

A worker belongs to an account and works in that account's projects within its role.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from dataclasses import dataclass, field

from labelyard.core import lifecycle
from labelyard.core.ids import new_id, parse_uuid, require_uuid
from labelyard.core.model import Base
from labelyard.core.passwords import MIN_LENGTH as MIN_PASSWORD_LENGTH
from labelyard.core.passwords import hash_password
from labelyard.core.quality import QualitySettings, parse_settings
from labelyard.core.schema import LabelSchema, parse_schema
from labelyard.core.validation import require_name
from labelyard.errors import AuthFailure, Forbidden, InvalidInput, NotFound
from labelyard.services import utcnow
from labelyard.store import accounts as account_store
from labelyard.store import workers as worker_store
from labelyard.store.engine import Database

WORKER_TOKEN_PREFIX = "lyw_"
ROLES = tuple(lifecycle.ROLES)


@dataclass(frozen=True, slots=True)
class WorkProject:
    """What the worker API needs of a project."""

    id: str
    base: Base
    schema: LabelSchema
    quality: QualitySettings = field(default_factory=QualitySettings)


@dataclass(frozen=True, slots=True)
class Worker:
    """An annotator, reviewer or program of an account, acting in one of its projects."""

    id: str
    account_id: str
    name: str
    role: str
    project: WorkProject


def token_digest(token: str) -> str:
    """The digest a worker token is stored and looked up by."""
    return hashlib.sha256(token.encode()).hexdigest()


async def create_worker(
    db: Database, *, account_id: object, name: object, role: object
) -> dict[str, str]:
    """A worker of the account and its token (shown once, stored as a digest)."""
    account = require_uuid(account_id, "account_id")
    label = require_name(name)
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}")
    token = WORKER_TOKEN_PREFIX + secrets.token_urlsafe(32)
    worker_id = new_id()
    async with db.write() as conn:
        if not await account_store.account_exists(conn, id=account):
            raise NotFound(f"no account {account}")
        await worker_store.insert_worker(
            conn,
            id=worker_id,
            account_id=account,
            name=label,
            role=str(role),
            token_hash=token_digest(token),
            now=utcnow(),
        )
    return {
        "worker_id": worker_id,
        "account_id": account,
        "name": label,
        "role": str(role),
        "token": token,
    }


async def authorize(db: Database, *, token: str | None, project_id: str) -> Worker:
    """The worker presenting ``token``, in a project of its account; else 401 / 403."""
    if not token:
        raise AuthFailure("missing worker token")
    return await _in_project(db, project_id, token_hash=token_digest(token))


async def worker_in_project(db: Database, *, worker_id: str, project_id: str) -> Worker:
    """A live worker (signed in to the web UI) in a project of its account; else 401 / 403."""
    return await _in_project(db, project_id, worker_id=worker_id)


async def _in_project(
    db: Database, project_id: str, *, token_hash: str | None = None, worker_id: str | None = None
) -> Worker:
    canonical = parse_uuid(project_id)
    async with db.read() as conn:
        row = await worker_store.worker_for_project(
            conn, project_id=canonical or "", token_hash=token_hash, worker_id=worker_id
        )
    if row is None:
        raise AuthFailure("unknown or revoked worker token")
    if canonical is None:
        raise InvalidInput("project_id must be a UUID")
    if row.project_id is None or row.project_account_id != row.account_id:
        raise Forbidden("this worker may not access this project")
    base = Base(row.base)
    project = WorkProject(
        id=row.project_id,
        base=base,
        schema=parse_schema(row.label_schema, base),
        quality=parse_settings(row.quality),
    )
    return Worker(
        id=row.id, account_id=row.account_id, name=row.name, role=row.role, project=project
    )


async def set_login(db: Database, *, worker_id: object, username: object, password: str) -> None:
    """Let a worker sign in to the web UI with ``username`` and ``password``."""
    worker_id = require_uuid(worker_id, "worker_id")
    name = require_name(username.strip() if isinstance(username, str) else username)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    digest = await asyncio.to_thread(hash_password, password)  # scrypt: off the event loop
    async with db.write() as conn:
        if not await worker_store.set_login(
            conn, worker_id=worker_id, username=name, password_hash=digest
        ):
            raise NotFound(f"no live worker {worker_id}")


async def revoke_worker(db: Database, *, worker_id: object) -> None:
    """Revoke a worker at once: its token stops working and its web sign-ins end."""
    worker_id = require_uuid(worker_id, "worker_id")
    async with db.write() as conn:
        if not await worker_store.revoke_worker(conn, worker_id=worker_id, now=utcnow()):
            raise NotFound(f"no live worker {worker_id}")
