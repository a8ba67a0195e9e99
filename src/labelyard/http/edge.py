"""The one ASGI layer every request passes: what used to be six stacked middlewares.

In one call, with ``send`` wrapped once: a request id (the caller's ``X-Request-ID`` when sane,
else a new one) echoed with the security headers; the body limit (by header, and by counting
what arrives); per-credential rate limits and failed-authentication limits per address; the
request's duration in Prometheus; one access-log line (method, route template, status,
duration: never headers or bodies); and the fault barrier (an unexpected exception is logged and
answered 500 ``api_error``, the body never carrying it; if the response had already started the
connection is closed, as nothing sensible can be added to it).
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from labelyard.core.buckets import TokenBuckets
from labelyard.errors import BodyTooLarge, LabelyardError, RateLimited, ServerFault
from labelyard.http.envelope import failure
from labelyard.http.limits import credential_of
from labelyard.http.metrics import Metrics
from labelyard.http.observability import REQUEST_ID_HEADER, SAFE_ID, SECURITY_HEADERS, request_id

access_log = logging.getLogger("labelyard.access")
fault_log = logging.getLogger("labelyard.api")


class Edge:
    """Request context, limits, metrics, access log and fault barrier around ``app``."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: Metrics,
        max_body_bytes: int,
        per_credential: TokenBuckets | None = None,
        failures: TokenBuckets | None = None,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes
        self.per_credential = per_credential
        self.failures = failures

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started_at = time.perf_counter()
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        given = b""
        length = None
        for name, value in headers:
            if name == REQUEST_ID_HEADER:
                given = given or value
            elif name == b"content-length" and length is None:
                length = value
        rid = given.decode() if SAFE_ID.fullmatch(given) else uuid.uuid4().hex
        token = request_id.set(rid)
        extra = ((REQUEST_ID_HEADER, rid.encode()), *SECURITY_HEADERS)
        status = 500
        started = False
        failures = self.failures
        address = b""
        watch_401 = False

        async def edge_send(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                status = message["status"]
                started = True
                if watch_401 and status == 401:
                    assert failures is not None
                    failures.take(address)
                message = {**message, "headers": [*message.get("headers", ()), *extra]}
            await send(message)

        try:
            error = self._refused(length, headers, scope)
            if error is not None:
                await failure(error)(scope, receive, edge_send)
                return
            if failures is not None and credential_of(headers):
                watch_401 = True
                address = str((scope.get("client") or ("",))[0]).encode()
            await self.app(scope, self._limited(receive), edge_send)
        except LabelyardError as exc:  # raised outside a route
            if not started:
                await failure(exc)(scope, receive, edge_send)
        except Exception:
            fault_log.exception("unexpected error on %s %s", scope["method"], scope["path"])
            if not started:
                await failure(ServerFault())(scope, receive, edge_send)
        finally:
            seconds = time.perf_counter() - started_at
            route = getattr(scope.get("route"), "path", "unmatched")
            method = scope["method"]
            self.metrics.request_seconds.labels(method, route, str(status)).observe(seconds)
            if access_log.isEnabledFor(logging.INFO):
                access_log.info(
                    "%s %s %s",
                    method,
                    route,
                    status,
                    extra={
                        "method": method,
                        "route": route,
                        "status": status,
                        "duration_ms": round(seconds * 1000, 2),
                    },
                )
            request_id.reset(token)

    def _refused(
        self, length: bytes | None, headers: list[tuple[bytes, bytes]], scope: Scope
    ) -> LabelyardError | None:
        """Why the request is answered before it reaches a route, if it is."""
        credential = credential_of(headers) if self.per_credential or self.failures else b""
        if credential and self.failures is not None:
            address = str((scope.get("client") or ("",))[0]).encode()
            wait = self.failures.wait(address)
            if wait > 0:
                return RateLimited(
                    max(1, math.ceil(wait)), "too many failed authentications from this address"
                )
        if credential and self.per_credential is not None:
            wait = self.per_credential.take(hashlib.sha256(credential).digest()[:16])
            if wait > 0:
                return RateLimited(max(1, math.ceil(wait)), "too many requests for this key")
        if length is not None and (not length.isdigit() or int(length) > self.max_body_bytes):
            return self._too_large()
        return None

    def _limited(self, receive: Receive) -> Receive:
        """``receive`` counting the body: ``GE_0001`` once it passes the limit."""
        seen = 0
        limit = self.max_body_bytes

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise self._too_large()
            return message

        return limited_receive

    def _too_large(self) -> BodyTooLarge:
        return BodyTooLarge(f"request body is larger than {self.max_body_bytes} bytes")
