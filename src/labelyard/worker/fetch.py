"""The media checks' reader (``services.media_checks.Sniffer``): the status and first bytes of a
GET, sent to the address that was resolved and checked against the private-range rules of
webhooks, and no other (a name that resolves elsewhere a moment later is never reached).

Names are resolved on a thread pool of the reader's own: a slow resolver (image hosts that do
not resolve can take the resolver's full timeout each) must not queue the webhook deliveries'
lookups, which share the event loop's default pool.

``labelyard.outbound`` (the one outbound client for every fetch) will offer the same checks;
this module then becomes a thin adapter over it, keeping the separate resolver pool.
"""

from __future__ import annotations

import asyncio
import socket
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import httpx

from labelyard.core.events import address_allowed
from labelyard.services.media_checks import Refused, Unreachable

USER_AGENT = "labelyard-media-check/1"
RESOLVER_THREADS = 8


class PinnedSniffer:
    """Calls the address checked against the private-range policy, and no other."""

    def __init__(self, client: httpx.AsyncClient, *, allow_private: bool) -> None:
        self.client = client
        self.allow_private = allow_private
        self.resolver = ThreadPoolExecutor(RESOLVER_THREADS, thread_name_prefix="media-dns")

    def close(self) -> None:
        """Stop the resolver threads."""
        self.resolver.shutdown(wait=False, cancel_futures=True)

    async def _pin(self, url: str, timeout: float) -> tuple[str, str, dict[str, Any]]:
        parts = urlsplit(url)
        host = parts.hostname or ""
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError as exc:
            raise Refused(f"invalid port: {exc}") from None
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                infos = await loop.run_in_executor(
                    self.resolver, socket.getaddrinfo, host, port, 0, socket.SOCK_STREAM
                )
        except TimeoutError:
            raise Unreachable(f"resolving {host} took over {timeout:g} s") from None
        except (UnicodeError, ValueError) as exc:
            raise Refused(f"invalid host {host!r}: {exc}") from None
        except OSError as exc:
            raise Unreachable(f"cannot resolve {host}: {exc}") from None
        addresses = [str(info[4][0]) for info in infos]
        if not addresses:
            raise Unreachable(f"cannot resolve {host}")
        for address in addresses:
            if not address_allowed(address, allow_private=self.allow_private):
                raise Refused(f"{host} resolves to {address}, a private or local address")
        address = addresses[0]
        netloc = f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
        extensions: dict[str, Any] = {"sni_hostname": host} if parts.scheme == "https" else {}
        return parts._replace(netloc=netloc).geturl(), parts.netloc.rpartition("@")[2], extensions

    async def first_bytes(
        self, url: str, *, headers: dict[str, str], timeout: float, limit: int
    ) -> tuple[int, bytes]:
        """The answer's status and up to ``limit`` first bytes of its body (as sent)."""
        pinned, host, extensions = await self._pin(url, timeout)
        sent = {"user-agent": USER_AGENT, **headers, "host": host}
        try:
            async with asyncio.timeout(timeout):
                async with self.client.stream(
                    "GET", pinned, headers=sent, timeout=timeout, extensions=extensions
                ) as response:
                    body = bytearray()
                    async for chunk in response.aiter_raw():
                        body += chunk
                        if len(body) >= limit:
                            break
                    return response.status_code, bytes(body[:limit])
        except TimeoutError:
            raise Unreachable(f"no answer within {timeout:g} s") from None
        except httpx.TimeoutException:
            raise Unreachable(f"timed out after {timeout:g} s") from None
        except httpx.HTTPError as exc:
            raise Unreachable(f"{type(exc).__name__}: {exc}") from None
