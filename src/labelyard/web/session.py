"""Who the browser is: the signed session cookie, sign-in and CSRF checks for the web UI."""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import Response

from labelyard.core import audit, sessions
from labelyard.core.audit import Actor
from labelyard.core.sessions import ADMIN, ANONYMOUS, OWNER, WORKER, Session
from labelyard.errors import AuthFailure, Forbidden, InvalidInput
from labelyard.http.address import client_address
from labelyard.services import signin, sso
from labelyard.state import AppState

if TYPE_CHECKING:  # rows come from services.signin
    from labelyard.store import Record

COOKIE = "labelyard_session"
CSRF_HEADER = "x-csrf-token"
ANONYMOUS_TTL = 3600
MAX_FORM_BYTES = 64 * 1024


class SignInRequired(AuthFailure):
    """The page needs a signed-in worker or owner; the browser is sent to the sign-in page."""

    default_message = "sign in first"


def state_of(request: Request) -> AppState:
    state: AppState = request.app.state.labelyard
    return state


def now() -> int:
    return int(time.time())


def current(request: Request) -> Session:
    """The request's session; a new anonymous one when there is none (or it is invalid)."""
    cached = request.scope.get("labelyard.session")
    if isinstance(cached, Session):
        return cached
    state = state_of(request)
    found = sessions.decode(state.session_key, request.cookies.get(COOKIE), now=now())
    session = found or sessions.new_session(ANONYMOUS, now=now(), ttl=ANONYMOUS_TTL)
    request.scope["labelyard.session"] = session
    return session


def csrf_token(request: Request) -> str:
    return sessions.csrf_token(state_of(request).session_key, current(request))


def keep(request: Request, response: Response, session: Session | None = None) -> Response:
    """Set the session cookie on ``response`` (``session``, or the request's own if new)."""
    state = state_of(request)
    session = session or current(request)
    if session is not None and request.cookies.get(COOKIE) != (
        value := sessions.encode(state.session_key, session)
    ):
        response.set_cookie(
            COOKIE,
            value,
            max_age=max(0, session.expires - now()),
            path="/ui",
            httponly=True,
            samesite="lax",
            secure=state.base_url.startswith("https://"),
        )
    return response


async def sign_out(request: Request, response: Response) -> Response:
    """End the request's session: on the server (a copy of the cookie stops working) and in
    the browser."""
    session = current(request)
    if session.kind != ANONYMOUS:
        now_at = datetime.now(UTC)
        await signin.end_session(
            state_of(request).db,
            nonce=session.nonce,
            expires_at=datetime.fromtimestamp(session.expires, UTC),
            now=now_at,
        )
    response.delete_cookie(COOKIE, path="/ui")
    return response


async def _ended(state: AppState, session: Session) -> bool:
    return await signin.session_ended(state.db, session.nonce)


async def form(request: Request) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body whose CSRF token has been checked."""
    raw = await request.body()
    if len(raw) > MAX_FORM_BYTES:
        raise InvalidInput("form too large")
    try:
        fields = {k: v[0] for k, v in parse_qs(raw.decode(), keep_blank_values=True).items()}
    except UnicodeDecodeError:
        raise InvalidInput("form is not UTF-8") from None
    check_csrf(request, fields.get("csrf"))
    return fields


def check_csrf(request: Request, given: str | None) -> None:
    """``Forbidden`` unless ``given`` is this session's CSRF token."""
    if not sessions.csrf_valid(state_of(request).session_key, current(request), given):
        raise Forbidden("the form's CSRF token is missing or invalid; reload the page")


def check_csrf_header(request: Request) -> None:
    check_csrf(request, request.headers.get(CSRF_HEADER))


@dataclass(frozen=True, slots=True)
class Signed:
    """The outcome of a sign-in: the new session and where to go."""

    session: Session
    home: str


async def sign_in(request: Request, fields: dict[str, str]) -> Signed:
    """Check the credentials of the sign-in form; a fresh session for whoever they prove."""
    state = state_of(request)
    ttl = state.settings.web_session_hours * 3600
    method, secret = fields.get("method", ""), fields.get("secret", "")
    if method == "password":
        row = await _password_worker(request, fields.get("username", "").strip(), secret)
        if row is not None:
            return Signed(_worker_session(state, row, ttl), "/ui/queue")
    elif method == "token" and secret.strip():
        row = await signin.worker_with_token(state.db, secret.strip())
        if row is not None:
            return Signed(_worker_session(state, row, ttl), "/ui/queue")
    elif method == "key" and secret.strip():
        if hmac.compare_digest(secret.strip().encode(), state.admin_token.encode()):
            session = sessions.new_session(ADMIN, proof=_admin_proof(state), now=now(), ttl=ttl)
            return Signed(session, "/ui/projects")
        key = await signin.live_key(state.db, secret.strip())
        if key is not None:
            session = sessions.new_session(
                OWNER, subject=key.id, account_id=key.account_id, now=now(), ttl=ttl
            )
            return Signed(session, "/ui/projects")
    raise AuthFailure("those credentials are not valid")


async def _password_worker(request: Request, username: str, password: str) -> Record | None:
    """The worker whose username and password these are, once the throttles let the try in."""
    state = state_of(request)
    return await state.passwords.worker(
        state.db,
        username=username,
        password=password,
        address=request.client.host if request.client else "",
    )


def _worker_proof(state: AppState, row: Record | signin.SessionWorker) -> str:
    return sessions.fingerprint(state.session_key, WORKER, row.token_hash, row.password_hash or "")


def _admin_proof(state: AppState) -> str:
    return sessions.fingerprint(state.session_key, ADMIN, state.admin_token)


def worker_session(state: AppState, row: Record, ttl: int) -> Session:
    """A fresh session of a worker (its credentials' fingerprint as the proof)."""
    return _worker_session(state, row, ttl)


# An owner signed on through the account's provider: subject ``sso:<e-mail or subject>``.
SSO_OWNER = "sso:"


def sso_owner_proof(state: AppState, account_id: str, identity: str) -> str:
    return sessions.fingerprint(state.session_key, "sso-owner", account_id, identity)


def _worker_session(state: AppState, row: Record, ttl: int) -> Session:
    return sessions.new_session(
        WORKER,
        subject=row.id,
        account_id=row.account_id,
        proof=_worker_proof(state, row),
        now=now(),
        ttl=ttl,
    )


async def require_worker(request: Request) -> signin.SessionWorker:
    """The signed-in worker (its row), if it is not revoked and its token and password are
    still the ones it signed in under."""
    session = current(request)
    if session.kind != WORKER:
        raise SignInRequired("sign in as a worker")
    state = state_of(request)
    row, ended = await signin.worker_session(
        state.db, worker_id=session.subject, nonce=session.nonce
    )
    if row is None or ended or not hmac.compare_digest(_worker_proof(state, row), session.proof):
        raise SignInRequired("this sign-in is no longer valid; sign in again")
    return row


async def require_owner(request: Request) -> Session:
    """The signed-in owner's session if its key is still live, or the admin's if the admin
    token is still the one signed in with."""
    session = current(request)
    state = state_of(request)
    if session.kind == ADMIN:
        if not hmac.compare_digest(_admin_proof(state), session.proof):
            raise SignInRequired("the admin token changed; sign in again")
        if await _ended(state, session):
            raise SignInRequired("signed out; sign in again")
        return session
    if session.kind != OWNER:
        raise SignInRequired("sign in with an API key")
    if session.subject.startswith(SSO_OWNER):
        identity = session.subject[len(SSO_OWNER) :]
        proof = sso_owner_proof(state, session.account_id, identity)
        if not hmac.compare_digest(proof, session.proof) or not await sso.owner_still_listed(
            state.db, account_id=session.account_id, identity=identity
        ):
            raise SignInRequired("this single sign-on is no longer valid; sign in again")
        if await signin.session_ended(state.db, session.nonce):
            raise SignInRequired("signed out; sign in again")
        return session
    live, ended = await signin.key_session(state.db, key_id=session.subject, nonce=session.nonce)
    if not live:
        raise SignInRequired("this API key was revoked; sign in again")
    if ended:
        raise SignInRequired("signed out; sign in again")
    return session


def actor(request: Request) -> Actor:
    """Who the audit log names for a change made from this browser (the session's signer)."""
    signed = current(request)
    address = client_address(request)
    if signed.kind == ADMIN:
        return Actor(audit.ADMIN, "", address)
    if signed.kind == OWNER:
        kind = audit.OWNER if signed.subject.startswith(SSO_OWNER) else audit.API_KEY
        return Actor(kind, signed.subject, address)
    if signed.kind == WORKER:
        return Actor(audit.WORKER, signed.subject, address)
    raise SignInRequired()
