"""Web UI sessions: a signed cookie value, and the CSRF token that goes with it.

A session is ``base64url(JSON).base64url(HMAC-SHA256)``: who signed in (``kind`` and ``subject``),
the account it acts for, a random ``nonce`` and an expiry. Nothing secret is inside (the cookie is
only signed, not encrypted); the server checks on every request that the subject still exists
and is not revoked, so signing out a revoked worker or key takes effect at once, on any replica.

Every form and every state-changing fetch carries the CSRF token, an HMAC of the session's nonce
under a key of its own purpose: a page of another site can make the browser send the cookie, but
cannot read the token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

import orjson

WORKER, OWNER, ADMIN, ANONYMOUS = "worker", "owner", "admin", "anonymous"
KINDS = (WORKER, OWNER, ADMIN, ANONYMOUS)


@dataclass(frozen=True, slots=True)
class Session:
    """Who the browser signed in as. ``subject``: a worker id, an API key id, or "" (admin,
    anonymous); ``account_id``: the account acted for ("" for admin and anonymous); ``proof``:
    a fingerprint of the credentials signed in with (``fingerprint``), so that changing them
    (a new password, a new admin token) ends the sessions made with the old ones."""

    kind: str
    subject: str
    account_id: str
    nonce: str
    expires: int
    proof: str = ""

    @property
    def signed_in(self) -> bool:
        return self.kind != ANONYMOUS


def new_session(
    kind: str, *, subject: str = "", account_id: str = "", proof: str = "", now: int, ttl: int
) -> Session:
    """A fresh session (a new nonce, so a sign-in never keeps a pre-sign-in CSRF token)."""
    return Session(kind, subject, account_id, secrets.token_urlsafe(16), now + ttl, proof)


def fingerprint(key: bytes, *parts: str) -> str:
    """A short keyed digest of credentials (their stored hashes, a token): equal while they are."""
    return _b64(_mac(key, "proof", "\n".join(parts).encode()))[:22]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, purpose: str, message: bytes) -> bytes:
    return hmac.new(key, purpose.encode() + b"\n" + message, hashlib.sha256).digest()


def encode(key: bytes, session: Session) -> str:
    """The cookie value for ``session``."""
    body = orjson.dumps(
        [
            session.kind,
            session.subject,
            session.account_id,
            session.nonce,
            session.expires,
            session.proof,
        ]
    )
    return f"{_b64(body)}.{_b64(_mac(key, 'session', body))}"


def decode(key: bytes, value: str | None, *, now: int) -> Session | None:
    """The session in a cookie value, or None if it is missing, forged, malformed or expired."""
    if not value or value.count(".") != 1 or len(value) > 4096:
        return None
    body_text, mac_text = value.split(".")
    try:
        body, mac = _unb64(body_text), _unb64(mac_text)
    except ValueError:
        return None
    if not hmac.compare_digest(mac, _mac(key, "session", body)):
        return None
    try:
        kind, subject, account_id, nonce, expires, proof = orjson.loads(body)
    except (orjson.JSONDecodeError, ValueError, TypeError):
        return None
    if kind not in KINDS or not isinstance(expires, int) or expires < now:
        return None
    return Session(str(kind), str(subject), str(account_id), str(nonce), expires, str(proof))


def csrf_token(key: bytes, session: Session) -> str:
    """The token the session's forms and fetches must carry."""
    return _b64(_mac(key, "csrf", session.nonce.encode()))


def csrf_valid(key: bytes, session: Session, given: str | None) -> bool:
    """True if ``given`` is the session's CSRF token."""
    return bool(given) and hmac.compare_digest(
        (given or "").encode(), csrf_token(key, session).encode()
    )
