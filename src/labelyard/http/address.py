"""Where a request comes from, as far as the server can tell."""

from __future__ import annotations

from starlette.requests import Request


def client_address(request: Request) -> str:
    """The client's address: the peer's, or the one a proxy listed in
    ``LABELYARD_TRUSTED_PROXIES`` forwarded (uvicorn's proxy-headers handling, configured by
    ``app.proxy_options``, has already put it in the request's scope); "" when unknown."""
    return request.client.host if request.client else ""
