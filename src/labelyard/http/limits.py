"""Request limits: body size (while it streams in) and per-key request rate."""

from __future__ import annotations

import hashlib
import math
import time
from collections import OrderedDict
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from labelyard.errors import BodyTooLarge, RateLimited
from labelyard.http.envelope import failure

MAX_TRACKED_KEYS = 100_000


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


class TokenBuckets:
    """One token bucket per caller: ``burst`` requests at once, then ``rate`` a second."""

    def __init__(
        self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate, self.burst, self.clock = rate, burst, clock
        self._buckets: OrderedDict[bytes, tuple[float, float]] = OrderedDict()

    def take(self, caller: bytes) -> float:
        """0 if the caller may go on, else the seconds until it may."""
        now = self.clock()
        tokens, last = self._buckets.pop(caller, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * self.rate)
        wait = 0.0
        if tokens >= 1:
            tokens -= 1
        else:
            wait = (1 - tokens) / self.rate
        self._buckets[caller] = (tokens, now)
        if len(self._buckets) > MAX_TRACKED_KEYS:
            self._buckets.popitem(last=False)  # the caller seen longest ago
        return wait


class RateLimitMiddleware:
    """429 ``rate_limited`` with ``Retry-After`` for a key or token over its rate.

    Callers are told apart by the credential the routes check: the first ``x-api-key`` header,
    else the first ``Authorization`` header (hashed; the secret itself is not kept), so adding
    other headers does not make a new caller. Limits are per process: N replicas allow N times
    the rate.
    """

    def __init__(self, app: ASGIApp, buckets: TokenBuckets) -> None:
        self.app = app
        self.buckets = buckets

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = scope["headers"]
            credential = next((v for k, v in headers if k == b"x-api-key"), b"") or next(
                (b"bearer:" + v for k, v in headers if k == b"authorization"), b""
            )
            if credential:
                caller = hashlib.sha256(credential).digest()[:16]
                wait = self.buckets.take(caller)
                if wait > 0:
                    error = RateLimited(max(1, math.ceil(wait)), "too many requests for this key")
                    await failure(error)(scope, receive, send)
                    return
        await self.app(scope, receive, send)
