"""The outbound client's interface for media checks, over the webhook worker's address pinning.

``Outbound.request(method, url, headers=, timeout=, max_bytes=)`` answers an ``httpx.Response``
holding at most ``max_bytes`` of the body, or raises ``OutboundRefused`` (an address the policy
forbids: final) or ``OutboundUnreachable`` (no answer this time: retried). ``labelyard.outbound``
offers the same interface for every fetch; this module stands in for it until media checks use
it.
"""

from __future__ import annotations

import httpx

from labelyard.worker.webhooks import Refused, Unresolved, _pinned

USER_AGENT = "labelyard-media-check/1"


class OutboundRefused(Exception):
    """The URL may not be called: a private address, or a host no resolver takes."""


class OutboundUnreachable(Exception):
    """No answer this time: the host did not resolve, the connection failed or timed out."""


class PinnedOutbound:
    """Calls the address checked against the private-range policy, and no other."""

    def __init__(self, client: httpx.AsyncClient, *, allow_private: bool) -> None:
        self.client = client
        self.allow_private = allow_private

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        timeout: float,
        max_bytes: int,
    ) -> httpx.Response:
        """Send one request; read at most ``max_bytes`` of the answer's body."""
        try:
            pinned, host, extensions = await _pinned(url, allow_private=self.allow_private)
        except Refused as exc:
            raise OutboundRefused(str(exc)) from None
        except Unresolved as exc:
            raise OutboundUnreachable(str(exc)) from None
        sent = {"user-agent": USER_AGENT, **(headers or {}), **host}
        try:
            async with self.client.stream(
                method, pinned, headers=sent, timeout=timeout, extensions=extensions
            ) as response:
                body = bytearray()
                async for chunk in response.aiter_raw():
                    body += chunk
                    if len(body) >= max_bytes:
                        break
                kept = {
                    k: v
                    for k, v in response.headers.items()
                    if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")
                }
                # The first bytes as sent (raw): enough to tell an image by its signature.
                return httpx.Response(
                    response.status_code, headers=kept, content=bytes(body[:max_bytes])
                )
        except httpx.TimeoutException:
            raise OutboundUnreachable(f"timed out after {timeout:g} s") from None
        except httpx.HTTPError as exc:
            raise OutboundUnreachable(f"{type(exc).__name__}: {exc}") from None
