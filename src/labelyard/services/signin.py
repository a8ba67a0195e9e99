"""Who a web sign-in proves: a worker (password or token), an owner (API key) or the admin.

The web UI keeps the session; this module only looks credentials up, so sign-in rules stay
out of the HTTP layer.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from datetime import datetime

from labelyard.core.buckets import TokenBuckets
from labelyard.core.passwords import verify_password
from labelyard.errors import RateLimited
from labelyard.services.accounts import hash_key
from labelyard.services.workers import token_digest
from labelyard.store import Record, keyed
from labelyard.store import accounts as account_store
from labelyard.store import sessions as session_store
from labelyard.store import workers as worker_store
from labelyard.store.engine import Database
from labelyard.store.keyed import SessionWorker as SessionWorker

# A well-formed hash no password matches: checked for unknown names, so they cost the same time.
_DUMMY_HASH = "scrypt$16384$8$1$" + "A" * 22 + "==$" + "A" * 43 + "="


class Passwords:
    """Worker sign-in by username and password, throttled; one per app (its state is per
    process).

    Guesses: per username, from whatever address, 10 at once then one every 6 seconds (so
    rotating addresses does not help); per address, whatever the names, 60 at once then two a
    second (so one address cannot try many names). Tokens and keys are long random strings, so
    only passwords need this. Checks run off the event loop (scrypt takes tens of
    milliseconds), two at a time.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.by_name = TokenBuckets(rate=1 / 6, burst=10, clock=clock)
        self.by_address = TokenBuckets(rate=2.0, burst=60, clock=clock)
        self._checks = asyncio.Semaphore(2)

    async def worker(
        self, db: Database, *, username: str, password: str, address: str
    ) -> Record | None:
        """The worker whose username and password these are; ``RateLimited`` while the
        throttles hold the try back."""
        for buckets, caller in ((self.by_name, f"name\n{username}"), (self.by_address, address)):
            if wait := buckets.take(caller.encode()):
                raise RateLimited(math.ceil(wait), "too many sign-in attempts; wait a little")
        async with db.read() as conn:
            row = await worker_store.live_worker(conn, username=username)
        stored = row.password_hash if row is not None and row.password_hash else _DUMMY_HASH
        async with self._checks:
            # Checked even for an unknown name, so timing does not tell which names exist.
            matches = await asyncio.to_thread(verify_password, password, stored)
        return row if matches and row is not None else None


async def worker_with_token(db: Database, token: str) -> Record | None:
    """The live worker whose token this is."""
    async with db.read() as conn:
        return await worker_store.live_worker(conn, token_hash=token_digest(token))


async def live_key(db: Database, api_key: str) -> Record | None:
    """The API key row of ``api_key``, unless it was revoked."""
    async with db.read() as conn:
        return await account_store.live_key(conn, key_hash=hash_key(api_key))


async def end_session(db: Database, *, nonce: str, expires_at: datetime, now: datetime) -> None:
    """Sign the session ``nonce`` out on the server: its cookie (and any copy) stops working."""
    async with db.write() as conn:
        await session_store.revoke_session(conn, nonce=nonce, expires_at=expires_at, now=now)


async def worker_session(
    db: Database, *, worker_id: str, nonce: str
) -> tuple[SessionWorker | None, bool]:
    """The signed-in worker unless it was revoked, and whether its session ``nonce`` was signed
    out: one read for every page a worker opens."""
    return await keyed.worker_session(db, worker_id=worker_id, nonce=nonce)


async def key_session(db: Database, *, key_id: str, nonce: str) -> tuple[bool, bool]:
    """Whether an owner's API key is still live, and whether its session ``nonce`` was signed
    out: one read for every page an owner opens."""
    return await keyed.key_session(db, key_id=key_id, nonce=nonce)


async def session_ended(db: Database, nonce: str) -> bool:
    """True if the session ``nonce`` was signed out."""
    async with db.read() as conn:
        return await session_store.session_revoked(conn, nonce=nonce)
