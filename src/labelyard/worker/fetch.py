"""The media checks' reader (``services.media_checks.Sniffer``) over the webhook worker's
address pinning: the status and first bytes of a GET, at the checked address only.

``labelyard.outbound`` (the one outbound client for every fetch) will offer the same checks;
this module then becomes a thin adapter over its ``stream()``.
"""

from __future__ import annotations

import httpx

from labelyard.services.media_checks import Refused, Unreachable
from labelyard.worker.webhooks import Refused as AddressRefused
from labelyard.worker.webhooks import Unresolved, _pinned

USER_AGENT = "labelyard-media-check/1"


class PinnedSniffer:
    """Calls the address checked against the private-range policy, and no other."""

    def __init__(self, client: httpx.AsyncClient, *, allow_private: bool) -> None:
        self.client = client
        self.allow_private = allow_private

    async def first_bytes(
        self, url: str, *, headers: dict[str, str], timeout: float, limit: int
    ) -> tuple[int, bytes]:
        """The answer's status and up to ``limit`` first bytes of its body (as sent)."""
        try:
            pinned, host, extensions = await _pinned(url, allow_private=self.allow_private)
        except AddressRefused as exc:
            raise Refused(str(exc)) from None
        except Unresolved as exc:
            raise Unreachable(str(exc)) from None
        sent = {"user-agent": USER_AGENT, **headers, **host}
        try:
            async with self.client.stream(
                "GET", pinned, headers=sent, timeout=timeout, extensions=extensions
            ) as response:
                body = bytearray()
                async for chunk in response.aiter_raw():
                    body += chunk
                    if len(body) >= limit:
                        break
                return response.status_code, bytes(body[:limit])
        except httpx.TimeoutException:
            raise Unreachable(f"timed out after {timeout:g} s") from None
        except httpx.HTTPError as exc:
            raise Unreachable(f"{type(exc).__name__}: {exc}") from None
