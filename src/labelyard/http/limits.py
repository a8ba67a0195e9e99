"""Request limits: body size (while it streams in), per-credential request rate, and failed
authentications per address."""

from __future__ import annotations

import hashlib
import math

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from labelyard.core.buckets import TokenBuckets
from labelyard.errors import BodyTooLarge, RateLimited
from labelyard.http.envelope import failure


class BodyLimitMiddleware:
    """413 ``GE_0001`` for bodies over ``max_bytes``, by header or by counting what arrives."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length":
                if not value.isdigit() or int(value) > self.max_bytes:
                    await failure(self._error())(scope, receive, send)
                    return
                break
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise self._error()
            return message

        await self.app(scope, limited_receive, send)

    def _error(self) -> BodyTooLarge:
        return BodyTooLarge(f"request body is larger than {self.max_bytes} bytes")


def credential_of(headers: list[tuple[bytes, bytes]]) -> bytes:
    """Who a request says it is, normalised: the first ``x-api-key``, else the first
    ``Authorization`` header's token (``Bearer``/``bearer`` and spaces do not matter); b"" if
    none. Hashed by callers, never kept."""
    key = next((v for k, v in headers if k == b"x-api-key"), b"").strip()
    if key:
        return b"key:" + key
    authorization = next((v for k, v in headers if k == b"authorization"), b"").split()
    if len(authorization) == 2 and authorization[0].lower() == b"bearer":
        return b"bearer:" + authorization[1]
    return b"authorization:" + b" ".join(authorization) if authorization else b""


class RateLimitMiddleware:
    """429 ``rate_limited`` with ``Retry-After`` for a credential over its rate, or an address
    that failed to authenticate too often.

    ``per_credential``: one bucket per normalised credential (``credential_of``): a key or
    token is one principal, however its header is spelled, and adding other headers does not
    make a new caller. ``failures``: a bucket per client address that only 401 answers drain,
    so guessing keys (each guess a new credential) is limited too. Limits are per process: N
    replicas allow N times the rate.
    """

    def __init__(
        self,
        app: ASGIApp,
        per_credential: TokenBuckets | None,
        failures: TokenBuckets | None,
    ) -> None:
        self.app = app
        self.per_credential = per_credential
        self.failures = failures

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        credential = credential_of(scope["headers"])
        address = str((scope.get("client") or ("",))[0]).encode()
        if credential and self.failures is not None:
            wait = self.failures.wait(address)
            if wait > 0:
                error = RateLimited(
                    max(1, math.ceil(wait)), "too many failed authentications from this address"
                )
                await failure(error)(scope, receive, send)
                return
        if credential and self.per_credential is not None:
            wait = self.per_credential.take(hashlib.sha256(credential).digest()[:16])
            if wait > 0:
                error = RateLimited(max(1, math.ceil(wait)), "too many requests for this key")
                await failure(error)(scope, receive, send)
                return
        if not credential or self.failures is None:
            await self.app(scope, receive, send)
            return
        failures = self.failures

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 401:
                failures.take(address)
            await send(message)

        await self.app(scope, receive, watch)
