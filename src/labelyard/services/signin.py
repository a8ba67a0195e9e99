"""Who a web sign-in proves: a worker (password or token), an owner (API key) or the admin.

The web UI keeps the session; this module only looks credentials up, so sign-in rules stay
out of the HTTP layer.
"""

from __future__ import annotations

from labelyard.services.accounts import hash_key
from labelyard.services.workers import token_digest
from labelyard.store import Record
from labelyard.store import accounts as account_store
from labelyard.store import workers as worker_store
from labelyard.store.engine import Database


async def worker_named(db: Database, username: str) -> Record | None:
    """The live worker that signs in as ``username`` (its password hash is checked by the
    caller, off the event loop)."""
    async with db.read() as conn:
        return await worker_store.live_worker(conn, username=username)


async def worker_with_token(db: Database, token: str) -> Record | None:
    """The live worker whose token this is."""
    async with db.read() as conn:
        return await worker_store.live_worker(conn, token_hash=token_digest(token))


async def live_worker(db: Database, worker_id: str) -> Record | None:
    """The worker, unless it was revoked."""
    async with db.read() as conn:
        return await worker_store.live_worker(conn, worker_id=worker_id)


async def live_key(db: Database, api_key: str) -> Record | None:
    """The API key row of ``api_key``, unless it was revoked."""
    async with db.read() as conn:
        return await account_store.live_key(conn, key_hash=hash_key(api_key))


async def key_is_live(db: Database, key_id: str) -> bool:
    """True while the API key ``key_id`` is not revoked."""
    async with db.read() as conn:
        return await account_store.key_is_live(conn, id=key_id)
