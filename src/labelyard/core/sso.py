"""Single sign-on by OpenID Connect (authorization code with PKCE): the rules, without I/O.

An account's provider is configured by the admin (``SsoConfig``). A sign-in starts by sending
the browser to the provider with a fresh ``state``, ``nonce`` and PKCE verifier, kept in a
short-lived signed cookie (``seal_pending``/``open_pending``); it ends when the provider sends
the browser back with a code, which the server exchanges for an ID token and checks. The
token's ``email`` (only if ``email_verified`` is not false) or ``sub`` then names a worker of
the account, or one of the account's owners listed in the config.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import orjson

from labelyard.core.validation import require_name
from labelyard.errors import InvalidInput, MissingParameter

MATCH_BY = ("email", "subject")
ROLES = ("worker", "owner")
PENDING_SECONDS = 600
MAX_OWNERS = 1000


@dataclass(frozen=True, slots=True)
class SsoConfig:
    """An account's OpenID Connect provider, as the admin set it (the secret apart)."""

    name: str
    issuer: str
    client_id: str
    match: str
    owners: tuple[str, ...]


def _issuer(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise MissingParameter("issuer is required")
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.query or parts.fragment:
        raise InvalidInput("issuer must be an http(s) URL without query or fragment")
    return value.rstrip("/")


def parse_config(body: object) -> tuple[SsoConfig, str | None]:
    """The config in an admin's ``PUT`` body, and the client secret if one was given."""
    if not isinstance(body, dict):
        raise InvalidInput("body must be a JSON object")
    client_id = body.get("client_id")
    if not isinstance(client_id, str) or not client_id or len(client_id) > 255:
        raise MissingParameter("client_id is required (1..255 characters)")
    match = body.get("match", "email")
    if match not in MATCH_BY:
        raise InvalidInput("match must be email or subject")
    owners = body.get("owners", [])
    if not isinstance(owners, list) or len(owners) > MAX_OWNERS:
        raise InvalidInput(f"owners must be a list of at most {MAX_OWNERS} e-mails or subjects")
    if not all(isinstance(o, str) and 0 < len(o) <= 255 for o in owners):
        raise InvalidInput("each owner is an e-mail or subject of 1..255 characters")
    secret = body.get("client_secret")
    if secret is not None and (not isinstance(secret, str) or not secret or len(secret) > 1024):
        raise InvalidInput("client_secret must be a non-empty string")
    name = require_name(body.get("name", "Single sign-on"), "name")
    folded = tuple(identity_key(match, o) for o in owners)
    return SsoConfig(name, _issuer(body.get("issuer")), client_id, str(match), folded), secret


def identity_key(match: str, value: str) -> str:
    """How an identity is compared: e-mails without case, subjects exactly."""
    return value.strip().lower() if match == "email" else value


def identity_of(claims: Mapping[str, Any], match: str) -> str | None:
    """The identity an ID token's claims prove under ``match``; None when they prove none."""
    if match == "email":
        email = claims.get("email")
        if not isinstance(email, str) or not email or claims.get("email_verified") is False:
            return None
        return identity_key(match, email)
    subject = claims.get("sub")
    return subject if isinstance(subject, str) and subject else None


@dataclass(frozen=True, slots=True)
class Pending:
    """A sign-in under way: kept in the browser, signed, until the provider sends it back."""

    account_id: str
    role: str
    state: str
    nonce: str
    verifier: str
    expires: int


def _mac(key: bytes, raw: bytes) -> bytes:
    return hmac.new(key, b"sso-pending\n" + raw, hashlib.sha256).digest()


def seal_pending(key: bytes, pending: Pending) -> str:
    """The cookie value carrying ``pending`` (signed, not secret: the verifier alone is useless
    without the code, which only the provider's redirect carries)."""
    raw = orjson.dumps(
        [
            pending.account_id,
            pending.role,
            pending.state,
            pending.nonce,
            pending.verifier,
            pending.expires,
        ]
    )
    encode = base64.urlsafe_b64encode
    return encode(raw).decode().rstrip("=") + "." + encode(_mac(key, raw)).decode().rstrip("=")


def open_pending(key: bytes, value: str | None, *, now: int) -> Pending | None:
    """The pending sign-in in a cookie, if it is ours, intact and not expired."""
    if not value or value.count(".") != 1 or len(value) > 2048:
        return None
    body, mac = value.split(".")
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        given = base64.urlsafe_b64decode(mac + "=" * (-len(mac) % 4))
        fields = orjson.loads(raw)
    except (ValueError, orjson.JSONDecodeError):
        return None
    if not hmac.compare_digest(given, _mac(key, raw)) or not isinstance(fields, list):
        return None
    pending = Pending(*fields)
    return pending if pending.expires > now else None
