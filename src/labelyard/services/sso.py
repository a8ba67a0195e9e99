"""Single sign-on by OpenID Connect: the admin's configuration, and a browser's sign-in.

Every call to the provider (discovery, keys, token) goes through ``labelyard.outbound``: the
provider's host must be allowed like any other (``LABELYARD_OUTBOUND_ALLOW`` for one on the
local network). The client secret is kept sealed (``labelyard.secretbox``) and never returned.
"""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import orjson
from authlib.common.security import generate_token
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from labelyard.core import sso as rules
from labelyard.core.audit import Actor
from labelyard.core.ids import require_uuid
from labelyard.core.model import rfc3339
from labelyard.errors import AuthFailure, InvalidInput, NotFound
from labelyard.outbound import Outbound, OutboundError
from labelyard.secretbox import SecretBox
from labelyard.services import audit, utcnow
from labelyard.store import Record
from labelyard.store import accounts as account_store
from labelyard.store import sso as store
from labelyard.store import workers as worker_store
from labelyard.store.engine import Database

MAX_DOCUMENT_BYTES = 256 * 1024
ALGORITHMS = ["RS256", "ES256", "PS256"]


def _view(row: Record) -> dict[str, Any]:
    return {
        "account_id": row.account_id,
        "name": row.name,
        "issuer": row.issuer,
        "client_id": row.client_id,
        "match": row.match,
        "owners": list(row.owners),
        "has_client_secret": bool(row.client_secret_sealed),
        "updated_at": rfc3339(row.updated_at),
    }


async def configure(
    db: Database, box: SecretBox, *, account_id: object, body: object, actor: Actor
) -> dict[str, Any]:
    """Set the account's provider; the client secret is required the first time only."""
    account = require_uuid(account_id, "account_id")
    config, secret = rules.parse_config(body)
    now = utcnow()
    async with db.write() as conn:
        if not await account_store.account_exists(conn, id=account):
            raise NotFound(f"no account {account}")
        found = await store.get_provider(conn, account_id=account)
        if secret is None and found is None:
            raise InvalidInput("client_secret is required when a provider is first set")
        if secret is not None:
            sealed = box.seal(secret)
        else:
            assert found is not None
            sealed = found.client_secret_sealed
        await store.put_provider(
            conn,
            account_id=account,
            now=now,
            name=config.name,
            issuer=config.issuer,
            client_id=config.client_id,
            client_secret_sealed=sealed,
            match=config.match,
            owners=list(config.owners),
        )
        summary = {
            "issuer": config.issuer,
            "client_id": config.client_id,
            "match": config.match,
            "owners": len(config.owners),
            "client_secret_changed": secret is not None,
        }
        await audit.record(
            conn,
            actor,
            action="sso.configure",
            account_id=account,
            target_type="account",
            target_id=account,
            summary=summary,
            now=now,
        )
        row = await store.get_provider(conn, account_id=account)
    assert row is not None
    return _view(row)


async def provider(db: Database, *, account_id: object) -> dict[str, Any]:
    """The account's provider (without its secret)."""
    account = require_uuid(account_id, "account_id")
    async with db.read() as conn:
        row = await store.get_provider(conn, account_id=account)
    if row is None:
        raise NotFound("this account has no single sign-on provider")
    return _view(row)


async def remove(db: Database, *, account_id: object, actor: Actor) -> None:
    """Remove the account's provider: its sign-ins stop at once."""
    account = require_uuid(account_id, "account_id")
    now = utcnow()
    async with db.write() as conn:
        if not await store.delete_provider(conn, account_id=account):
            raise NotFound("this account has no single sign-on provider")
        await audit.record(
            conn,
            actor,
            action="sso.remove",
            account_id=account,
            target_type="account",
            target_id=account,
            now=now,
        )


async def set_worker_identity(
    db: Database, *, worker_id: object, body: object, actor: Actor
) -> dict[str, Any]:
    """The e-mail and/or subject by which the account's provider names a worker."""
    worker = require_uuid(worker_id, "worker_id")
    if not isinstance(body, dict):
        raise InvalidInput("body must be a JSON object")
    email, subject = body.get("email"), body.get("subject")
    for value, what in ((email, "email"), (subject, "subject")):
        if value is not None and (not isinstance(value, str) or not 0 < len(value) <= 255):
            raise InvalidInput(f"{what} must be a string of 1..255 characters, or null")
    email = rules.identity_key("email", email) if email else None
    async with db.write() as conn:
        if not await store.set_identity(conn, worker_id=worker, email=email, subject=subject):
            raise NotFound(f"no live worker {worker}")
        account = await worker_store.worker_account(conn, worker_id=worker)
        await audit.record(
            conn,
            actor,
            action="worker.set_identity",
            account_id=account,
            target_type="worker",
            target_id=worker,
            summary={"email": email, "subject": subject},
            now=utcnow(),
        )
    return {"worker_id": worker, "email": email, "subject": subject}


async def sign_in_choices(db: Database) -> list[Record]:
    """The providers the sign-in page offers."""
    async with db.read() as conn:
        return await store.list_providers(conn)


async def _document(outbound: Outbound, url: str, what: str) -> dict[str, Any]:
    try:
        reply = await outbound.request("GET", url, max_bytes=MAX_DOCUMENT_BYTES)
    except OutboundError as exc:
        raise AuthFailure(f"the sign-on provider's {what} cannot be fetched: {exc}") from None
    if reply.status_code != 200:
        raise AuthFailure(f"the sign-on provider's {what} answered {reply.status_code}")
    try:
        found = orjson.loads(reply.content)
    except orjson.JSONDecodeError:
        found = None
    if not isinstance(found, dict):
        raise AuthFailure(f"the sign-on provider's {what} is not a JSON object")
    return found


async def _metadata(outbound: Outbound, issuer: str) -> dict[str, Any]:
    found = await _document(
        outbound, f"{issuer}/.well-known/openid-configuration", "discovery document"
    )
    if str(found.get("issuer", "")).rstrip("/") != issuer:
        raise AuthFailure("the sign-on provider's discovery document names another issuer")
    for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not isinstance(found.get(name), str):
            raise AuthFailure(f"the sign-on provider's discovery document has no {name}")
    return found


async def _provider_row(db: Database, account_id: str) -> Record:
    async with db.read() as conn:
        row = await store.get_provider(conn, account_id=account_id)
    if row is None:
        raise NotFound("this account has no single sign-on provider")
    return row


async def start(
    db: Database, outbound: Outbound, *, account_id: str, role: str, redirect_uri: str
) -> tuple[str, rules.Pending]:
    """Where to send the browser, and what to keep until it comes back."""
    if role not in rules.ROLES:
        raise InvalidInput("as must be worker or owner")
    account = require_uuid(account_id, "account_id")
    row = await _provider_row(db, account)
    found = await _metadata(outbound, row.issuer)
    pending = rules.Pending(
        account_id=account,
        role=role,
        state=generate_token(32),
        nonce=generate_token(32),
        verifier=generate_token(64),
        expires=int(time.time()) + rules.PENDING_SECONDS,
    )
    url = prepare_grant_uri(
        found["authorization_endpoint"],
        row.client_id,
        "code",
        redirect_uri=redirect_uri,
        scope="openid email profile",
        state=pending.state,
        nonce=pending.nonce,
        code_challenge=create_s256_code_challenge(pending.verifier),
        code_challenge_method="S256",
    )
    return url, pending


@dataclass(frozen=True, slots=True)
class SignedOn:
    """Who the provider vouched for: a worker (its row) or an owner of the account."""

    role: str
    account_id: str
    identity: str
    worker: Record | None = None


async def finish(
    db: Database,
    outbound: Outbound,
    box: SecretBox,
    *,
    pending: rules.Pending,
    state: str | None,
    code: str | None,
    redirect_uri: str,
) -> SignedOn:
    """Exchange the code for an ID token, check it, and find whom it names."""
    if not state or state != pending.state or not code:
        raise AuthFailure("this sign-in did not start here, or took too long; try again")
    row = await _provider_row(db, pending.account_id)
    found = await _metadata(outbound, row.issuer)
    form = urlencode(
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": pending.verifier,
            "client_id": row.client_id,
        }
    ).encode()
    basic = base64.b64encode(f"{row.client_id}:{box.open(row.client_secret_sealed)}".encode())
    headers = {
        "content-type": "application/x-www-form-urlencoded",
        "accept": "application/json",
        "authorization": "Basic " + basic.decode(),
    }
    try:
        reply = await outbound.request(
            "POST",
            found["token_endpoint"],
            headers=headers,
            content=form,
            max_bytes=MAX_DOCUMENT_BYTES,
        )
    except OutboundError as exc:
        raise AuthFailure(f"the sign-on provider cannot be reached: {exc}") from None
    try:
        tokens = orjson.loads(reply.content)
    except orjson.JSONDecodeError:
        tokens = None
    if reply.status_code != 200 or not isinstance(tokens, dict) or "id_token" not in tokens:
        raise AuthFailure("the sign-on provider refused the sign-in")
    keys = await _document(outbound, found["jwks_uri"], "keys")
    claims = _checked_claims(str(tokens["id_token"]), keys, row, pending)
    identity = rules.identity_of(claims, row.match)
    if identity is None:
        raise AuthFailure(f"the sign-on provider did not vouch for an {row.match}")
    if pending.role == "owner":
        if identity not in row.owners:
            raise AuthFailure("this identity is not an owner of the account")
        return SignedOn("owner", pending.account_id, identity)
    async with db.read() as conn:
        workers = await store.workers_with_identity(
            conn, account_id=pending.account_id, match=row.match, identity=identity
        )
    if len(workers) != 1:
        raise AuthFailure("no worker of the account (or more than one) has this identity")
    return SignedOn("worker", pending.account_id, identity, workers[0])


def _checked_claims(
    token: str, keys: dict[str, Any], row: Record, pending: rules.Pending
) -> dict[str, Any]:
    try:
        key_set = KeySet.import_key_set(keys)  # type: ignore[arg-type]
        decoded = jwt.decode(token, key_set, algorithms=ALGORITHMS)
        jwt.JWTClaimsRegistry(
            leeway=60,
            iss={"essential": True, "value": row.issuer},
            aud={"essential": True, "value": row.client_id},
            nonce={"essential": True, "value": pending.nonce},
            exp={"essential": True},
            sub={"essential": True},
        ).validate(decoded.claims)
    except (JoseError, ValueError, KeyError, TypeError) as exc:
        raise AuthFailure(f"the sign-on provider's ID token is not valid: {exc}") from None
    return dict(decoded.claims)


async def owner_still_listed(db: Database, *, account_id: str, identity: str) -> bool:
    """Whether an SSO owner's identity is still listed by the account's provider."""
    async with db.read() as conn:
        row = await store.get_provider(conn, account_id=account_id)
    return row is not None and identity in row.owners
