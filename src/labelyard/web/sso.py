"""Single sign-on pages: off to the account's OpenID Connect provider, and back signed in.

``/ui/sso/{account_id}?as=worker|owner`` sends the browser to the provider with a fresh state,
nonce and PKCE challenge, kept meanwhile in a signed cookie of its own (``labelyard_sso``, path
``/ui/sso``, ten minutes). ``/ui/sso/callback`` takes the provider's answer, checks it, and
starts the same server-side session as the other sign-ins.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from labelyard.core import sessions
from labelyard.core import sso as rules
from labelyard.core.sessions import OWNER
from labelyard.errors import AuthFailure
from labelyard.services import sso
from labelyard.state import AppState
from labelyard.web import redirect, session

PENDING_COOKIE = "labelyard_sso"
PENDING_PATH = "/ui/sso"


def callback_url(state: AppState) -> str:
    """Where the provider sends the browser back (register it with the provider)."""
    return f"{state.base_url}{PENDING_PATH}/callback"


async def start(request: Request, account_id: str) -> Response:
    state = session.state_of(request)
    url, pending = await sso.start(
        state.db,
        state.outbound,
        account_id=account_id,
        role=request.query_params.get("as", "worker"),
        redirect_uri=callback_url(state),
    )
    response = redirect(url)
    response.set_cookie(
        PENDING_COOKIE,
        rules.seal_pending(state.session_key, pending),
        max_age=rules.PENDING_SECONDS,
        path=PENDING_PATH,
        httponly=True,
        samesite="lax",  # the provider's redirect back is a top-level GET: the cookie comes
        secure=state.base_url.startswith("https://"),
    )
    return response


async def callback(request: Request) -> Response:
    state = session.state_of(request)
    pending = rules.open_pending(
        state.session_key, request.cookies.get(PENDING_COOKIE), now=session.now()
    )
    if pending is None:
        raise AuthFailure("this sign-in did not start here, or took too long; try again")
    if error := request.query_params.get("error"):
        raise AuthFailure(f"the sign-on provider did not sign you in ({error[:100]})")
    signed = await sso.finish(
        state.db,
        state.outbound,
        state.box,
        pending=pending,
        state=request.query_params.get("state"),
        code=request.query_params.get("code"),
        redirect_uri=callback_url(state),
    )
    ttl = state.settings.web_session_hours * 3600
    if signed.worker is not None:
        made = session.worker_session(state, signed.worker, ttl)
        home = "/ui/queue"
    else:
        made = sessions.new_session(
            OWNER,
            subject=session.SSO_OWNER + signed.identity,
            account_id=signed.account_id,
            proof=session.sso_owner_proof(state, signed.account_id, signed.identity),
            now=session.now(),
            ttl=ttl,
        )
        home = "/ui/projects"
    response = redirect(home)
    response.delete_cookie(PENDING_COOKIE, path=PENDING_PATH)
    return session.keep(request, response, made)


ROUTES = (
    ("GET", f"{PENDING_PATH}/callback", callback),
    ("GET", f"{PENDING_PATH}/{{account_id}}", start),
)
