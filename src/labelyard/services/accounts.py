"""Accounts, API keys, and deciding what a key may touch."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import NoReturn

from sqlalchemy.ext.asyncio import AsyncConnection

from labelyard.core.audit import Actor
from labelyard.core.ids import new_id, parse_uuid, require_uuid
from labelyard.core.model import Base, Project, ProjectKey
from labelyard.core.validation import require_name
from labelyard.errors import AuthFailure, InvalidInput, NotFound, Unauthorized
from labelyard.services import audit, utcnow
from labelyard.store import accounts as store
from labelyard.store import projects as project_store
from labelyard.store.engine import Database

KEY_PREFIX = "ly_"
DEFAULT_ACCOUNT_NAME = "default"


def hash_key(key: str) -> str:
    """The digest under which a key is stored (keys are random, so a plain hash suffices)."""
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """A freshly made key; ``api_key`` is the only time the plaintext exists."""

    key_id: str
    account_id: str
    api_key: str


def _new_key() -> tuple[str, str, str]:
    plaintext = KEY_PREFIX + secrets.token_urlsafe(32)
    return plaintext, hash_key(plaintext), plaintext[: len(KEY_PREFIX) + 5]


async def create_account(db: Database, *, name: object, actor: Actor) -> IssuedKey:
    """A new account with its first API key."""
    label = require_name(name)
    account_id = new_id()
    now = utcnow()
    async with db.write() as conn:
        await store.insert_account(conn, id=account_id, name=label, now=now)
        await audit.record(
            conn,
            actor,
            action="account.create",
            account_id=account_id,
            target_type="account",
            target_id=account_id,
            summary={"name": label},
            now=now,
        )
        return await _issue_key(conn, account_id, actor)


async def default_account(db: Database) -> str:
    """The id of the account named ``default``, created if needed."""
    async with db.write() as conn:
        found = await store.find_account_by_name(conn, name=DEFAULT_ACCOUNT_NAME)
        if found is not None:
            return found
        account_id = new_id()
        await store.insert_account(conn, id=account_id, name=DEFAULT_ACCOUNT_NAME, now=utcnow())
        return account_id


async def create_key(db: Database, *, account_id: object, actor: Actor) -> IssuedKey:
    """A new API key for an existing account."""
    account = require_uuid(account_id, "account_id")
    async with db.write() as conn:
        if not await store.account_exists(conn, id=account):
            raise NotFound(f"no account {account}")
        return await _issue_key(conn, account, actor)


async def _issue_key(conn: AsyncConnection, account_id: str, actor: Actor) -> IssuedKey:
    plaintext, digest, prefix = _new_key()
    key_id = new_id()
    now = utcnow()
    await store.insert_api_key(
        conn, id=key_id, account_id=account_id, key_hash=digest, prefix=prefix, now=now
    )
    await audit.record(
        conn,
        actor,
        action="key.create",
        account_id=account_id,
        target_type="api_key",
        target_id=key_id,
        summary={"prefix": prefix},
        now=now,
    )
    return IssuedKey(key_id=key_id, account_id=account_id, api_key=plaintext)


async def revoke_key(db: Database, *, key_id: object, actor: Actor) -> None:
    """Revoke a key at once; later requests with it get 401."""
    key = require_uuid(key_id, "key_id")
    now = utcnow()
    async with db.write() as conn:
        account_id = await store.revoke_api_key(conn, id=key, now=now)
        if account_id is None:
            raise NotFound(f"no live key {key}")
        await audit.record(
            conn,
            actor,
            action="key.revoke",
            account_id=account_id,
            target_type="api_key",
            target_id=key,
            now=now,
        )


async def authenticate_key(db: Database, *, api_key: str | None) -> str:
    """The account of a live key; ``AuthFailure`` otherwise."""
    if not api_key:
        raise AuthFailure()
    async with db.read() as conn:
        account_id = await store.account_of_key(conn, key_hash=hash_key(api_key))
    if account_id is None:
        raise AuthFailure()
    return account_id


def key_lookup(key: ProjectKey) -> tuple[str, str] | None:
    """The key's digest and the canonical project id, for reads that check the key in their
    own statement; ``None`` when only ``authorize`` can answer (no key, a malformed id)."""
    project_id = parse_uuid(key.project_id)
    if not key.api_key or project_id is None:
        return None
    return hash_key(key.api_key), project_id


def refuse(*, key_found: bool) -> NoReturn:
    """``authorize``'s refusal for a read that checked the key itself: 401 for a key unknown or
    revoked, else 403 (the key's account has no such project)."""
    if not key_found:
        raise AuthFailure()
    raise Unauthorized()


async def authorize(db: Database, *, api_key: str | None, project_id: str) -> Project:
    """The project, if ``api_key`` may act on it; else the documented 401/403/400."""
    if not api_key:
        raise AuthFailure()
    digest = hash_key(api_key)
    canonical = parse_uuid(project_id)
    async with db.read() as conn:
        if canonical is None:
            if await store.account_of_key(conn, key_hash=digest) is None:
                raise AuthFailure()
            raise InvalidInput("project_id must be a UUID")
        row = await project_store.project_for_key(conn, key_hash=digest, project_id=canonical)
    if row is None:
        raise AuthFailure()
    if row.id is None or row.account_id != row.key_account_id:
        raise Unauthorized()
    return Project(
        id=row.id, account_id=row.account_id, name=row.name, base=Base(row.base), key_id=row.key_id
    )
