"""The one outbound HTTP client: every call the server makes to a URL it was given goes here.

Webhook deliveries, export image-size probes, media checks, downloads: a URL from an API client
must not make the server reach its own network (SSRF). For each request (and each redirect hop):

1. the URL is checked: ``http``/``https`` only, a host, no control characters (CR/LF...);
2. the host is resolved once, and *every* address it resolves to is checked against an explicit
   list of forbidden ranges (``FORBIDDEN``), IPv6 forms that embed an IPv4 address (mapped,
   compatible, SIIT, 6to4, NAT64) checked by that address too;
3. the connection goes to the checked address (the URL is rewritten to it; ``Host`` and TLS SNI
   and certificate checks stay on the name), so a name that resolves elsewhere a moment later
   (DNS rebinding) is never reached;
4. redirects are followed only when asked for, each hop checked again.

Connections are kept alive and reused, in pools keyed by (scheme, host, port, checked address):
a connection is only ever reused for the same name at the same address it was opened to (so a
TLS connection made for one name never serves another on that address), and a name that now
resolves elsewhere gets a new pool, never an old connection. A host's checked addresses are
remembered for ``resolve_ttl`` seconds (the check depends only on the address and this client's
fixed policy, so a remembered answer is as safe as a new one); after that it is resolved and
checked again.

``OutboundPolicy.allow`` lists hosts or CIDRs that may be private (an on-premise receiver, a
MinIO on the LAN). The cloud metadata addresses (``NEVER``) are refused even then.

Errors::

    OutboundError
    ├── OutboundRefused      final: a bad URL, or a host on a forbidden address
    ├── OutboundUnreachable  worth retrying: DNS failure, connection error, timeout
    └── ResponseTooLarge     the body is longer than ``max_bytes``
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult, urljoin, urlsplit

import httpx

from labelyard.config import Settings
from labelyard.core.urls import url_problem

DEFAULT_TIMEOUT_SECONDS = 10.0
RESOLVE_TTL_SECONDS = 10.0
KEEPALIVE_SECONDS = 4.0  # under the common 5 s idle timeout of servers (uvicorn, nginx)
KEEPALIVE_PER_POOL = 32
MAX_POOLS = 64
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
REDIRECT_BODY_BYTES = 64 * 1024

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _nets(*rows: tuple[str, str]) -> tuple[tuple[Network, str], ...]:
    return tuple((ipaddress.ip_network(cidr), why) for cidr, why in rows)


FORBIDDEN = _nets(
    ("0.0.0.0/8", "'this network'"),
    ("10.0.0.0/8", "private (RFC 1918)"),
    ("100.64.0.0/10", "shared address space (CGNAT)"),
    ("127.0.0.0/8", "loopback"),
    ("169.254.0.0/16", "link-local"),
    ("172.16.0.0/12", "private (RFC 1918)"),
    ("192.0.0.0/24", "IETF protocol assignments"),
    ("192.0.2.0/24", "documentation"),
    ("192.88.99.0/24", "6to4 relay anycast"),
    ("192.168.0.0/16", "private (RFC 1918)"),
    ("198.18.0.0/15", "benchmarking"),
    ("198.51.100.0/24", "documentation"),
    ("203.0.113.0/24", "documentation"),
    ("224.0.0.0/4", "multicast"),
    ("240.0.0.0/4", "reserved"),
    ("::/128", "unspecified"),
    ("::1/128", "loopback"),
    ("64:ff9b:1::/48", "local-use NAT64"),
    ("100::/64", "discard-only"),
    ("2001::/23", "IETF protocol assignments (Teredo...)"),
    ("2001:db8::/32", "documentation"),
    ("fc00::/7", "unique local (ULA)"),
    ("fe80::/10", "link-local"),
    ("fec0::/10", "site-local"),
    ("ff00::/8", "multicast"),
)
"""Ranges no host may resolve to unless allowed by the policy (IANA special-purpose registries)."""

NEVER = _nets(
    ("169.254.169.254/32", "the cloud metadata service"),
    ("fd00:ec2::254/128", "the cloud metadata service"),
    ("100.100.100.200/32", "the cloud metadata service"),
    ("0.0.0.0/32", "unspecified"),
    ("::/128", "unspecified"),
)
"""Addresses refused even when a policy allows their host or range."""

PRIVATE_RANGES = (
    "127.0.0.0/8",
    "::1/128",
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "100.64.0.0/10",
    "fc00::/7",
)
"""What the deprecated ``LABELYARD_WEBHOOKS_ALLOW_PRIVATE=true`` allows: loopback and private."""


_MAPPED = ipaddress.ip_network("::ffff:0:0/96")
_TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")
_COMPATIBLE = ipaddress.ip_network("::/96")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_SIX_TO_FOUR = ipaddress.ip_network("2002::/16")


class OutboundError(Exception):
    """An outbound request did not get a usable answer."""


class OutboundRefused(OutboundError):
    """The URL may not be called: bad syntax, another scheme, or a forbidden address (final)."""


class OutboundUnreachable(OutboundError):
    """The host did not answer this time: DNS failure, connection error, timeout (retry)."""


class ResponseTooLarge(OutboundError):
    """The response body is longer than the caller's ``max_bytes``."""


def embedded_ipv4(ip: Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, SIIT, compatible, 6to4, NAT64)."""
    if isinstance(ip, ipaddress.IPv4Address):
        return None
    if ip in _MAPPED or ip in _TRANSLATED or ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in _COMPATIBLE and int(ip) > 1:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in _SIX_TO_FOUR:
        return ipaddress.IPv4Address((int(ip) >> 80) & 0xFFFFFFFF)
    return None


def _forms(ip: Address) -> list[Address]:
    inner = embedded_ipv4(ip)
    return [ip] if inner is None else [ip, inner]


def _match(ip: Address, table: tuple[tuple[Network, str], ...]) -> str | None:
    for form in _forms(ip):
        for network, why in table:
            if form.version == network.version and form in network:
                return f"{why} ({form})" if form != ip else why
    return None


@dataclass(frozen=True, slots=True)
class OutboundPolicy:
    """Which hosts may be private: host names or CIDRs (``10.0.0.0/8``); never the metadata."""

    allow: tuple[str, ...] = ()

    def _split(self) -> tuple[frozenset[str], tuple[Network, ...]]:
        hosts: set[str] = set()
        networks: list[Network] = []
        for entry in self.allow:
            entry = entry.strip()
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                hosts.add(_host_key(entry))
        return frozenset(hosts), tuple(networks)

    def refusal(self, host: str, address: str) -> str | None:
        """Why ``host`` may not be reached at ``address``, or None when it may."""
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return f"{address!r} is not an IP address"
        if isinstance(ip, ipaddress.IPv6Address) and ip.scope_id:
            return f"{address} has a zone index (link-local)"
        never = _match(ip, NEVER)
        if never is not None:
            return f"{host} resolves to {address}: {never}, never allowed"
        forbidden = _match(ip, FORBIDDEN)
        if forbidden is None:
            return None
        hosts, networks = self._split()
        if _host_key(host) in hosts:
            return None
        for form in _forms(ip):
            if any(form.version == n.version and form in n for n in networks):
                return None
        return f"{host} resolves to {address}: {forbidden}, not allowed"

    @classmethod
    def from_setting(cls, allow: str, *, allow_private: bool = False) -> OutboundPolicy:
        """From ``LABELYARD_OUTBOUND_ALLOW`` (comma-separated) and the deprecated
        ``LABELYARD_WEBHOOKS_ALLOW_PRIVATE`` (loopback and private ranges)."""
        entries = tuple(e.strip() for e in allow.split(",") if e.strip())
        if allow_private:
            entries += PRIVATE_RANGES
        for entry in entries:
            if "/" in entry:
                ipaddress.ip_network(entry, strict=False)  # raises on a malformed CIDR
        return cls(allow=entries)


OPERATOR_POLICY = OutboundPolicy(allow=("0.0.0.0/0", "::/0"))
"""For commands an operator runs on their own machine: any address but ``NEVER``."""


def _host_key(host: str) -> str:
    return host.strip().strip("[]").rstrip(".").lower()


@dataclass(frozen=True, slots=True)
class _Target:
    url: str  # rewritten to the checked address
    host_header: str
    extensions: dict[str, Any]
    origin: tuple[str, str, int]
    address: str

    @property
    def pool(self) -> tuple[str, str, int, str]:
        """The key of the connections this request may use."""
        return (*self.origin, self.address)


Resolver = Callable[[str, int], Awaitable[list[str]]]
"""A host and port to the addresses they resolve to (injected in tests)."""


async def system_resolver(host: str, port: int) -> list[str]:
    """The operating system's answer (``getaddrinfo``), each address once, in its order."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class _Pool:
    """One keep-alive client and the requests using it now (an idle pool may be closed)."""

    __slots__ = ("busy", "client")

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.busy = 0


def _parse(url: str) -> tuple[SplitResult, str, int]:
    problem = url_problem(url)
    if problem is not None:
        raise OutboundRefused(problem)
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return parts, host, port


class Outbound:
    """An httpx client that only reaches the addresses its policy allows (see the module)."""

    def __init__(
        self,
        policy: OutboundPolicy,
        *,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        transport: httpx.AsyncBaseTransport | None = None,
        resolver: Resolver = system_resolver,
        resolve_ttl: float = RESOLVE_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        max_pools: int = MAX_POOLS,
    ) -> None:
        self.policy = policy
        self.timeout = timeout
        self._transport = transport
        self._resolver = resolver
        self._resolve_ttl = resolve_ttl
        self._clock = clock
        self._max_pools = max_pools
        self._resolved: dict[tuple[str, int], tuple[float, str]] = {}
        self._pools: OrderedDict[tuple[str, str, int, str], _Pool] = OrderedDict()
        self._closing: set[asyncio.Task[None]] = set()

    def _client_for(self, key: tuple[str, str, int, str]) -> _Pool:
        pool = self._pools.get(key)
        if pool is None:
            # No proxies from the environment: the request must go to the checked address.
            pool = _Pool(
                httpx.AsyncClient(
                    transport=self._transport,
                    timeout=self.timeout,
                    follow_redirects=False,
                    trust_env=False,
                    limits=httpx.Limits(
                        max_connections=None,
                        max_keepalive_connections=KEEPALIVE_PER_POOL,
                        keepalive_expiry=KEEPALIVE_SECONDS,
                    ),
                )
            )
            self._pools[key] = pool
            self._evict()
        self._pools.move_to_end(key)
        return pool

    def _evict(self) -> None:
        """Close the least recently used idle pools past ``MAX_POOLS`` (webhooks reach many
        hosts; a pull reaches one or two)."""
        for key in list(self._pools):
            if len(self._pools) <= self._max_pools:
                return
            pool = self._pools[key]
            if pool.busy == 0:
                del self._pools[key]
                closing = asyncio.get_running_loop().create_task(pool.client.aclose())
                self._closing.add(closing)
                closing.add_done_callback(self._closing.discard)

    def pools(self) -> list[tuple[str, str, int, str]]:
        """The keys of the connection pools open now (scheme, host, port, address)."""
        return list(self._pools)

    async def aclose(self) -> None:
        """Close the connections."""
        pools, self._pools = list(self._pools.values()), OrderedDict()
        for pool in pools:
            await pool.client.aclose()
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)

    async def check(self, url: str, *, timeout: float | None = None) -> str:
        """Resolve and check ``url``'s host; the address a request would go to."""
        target = await self._pin(url, timeout or self.timeout)
        return urlsplit(target.url).hostname or ""

    async def _address(self, host: str, port: int, timeout: float) -> str:
        """The checked address to reach ``host`` at: resolved (or remembered, see the module)
        and every address it resolves to checked."""
        now = self._clock()
        remembered = self._resolved.get((host, port))
        if remembered is not None and remembered[0] > now:
            return remembered[1]
        try:
            async with asyncio.timeout(timeout):
                addresses = await self._resolver(host, port)
        except TimeoutError:
            raise OutboundUnreachable(f"resolving {host} took over {timeout:g} s") from None
        except (UnicodeError, ValueError) as exc:
            raise OutboundRefused(f"invalid host {host!r}: {exc}") from None
        except OSError as exc:
            raise OutboundUnreachable(f"cannot resolve {host}: {exc}") from None
        if not addresses:
            raise OutboundUnreachable(f"cannot resolve {host}")
        for address in addresses:
            refusal = self.policy.refusal(host, address)
            if refusal is not None:
                raise OutboundRefused(refusal)
        if self._resolve_ttl > 0:
            if len(self._resolved) >= 4 * self._max_pools:
                self._resolved.clear()
            self._resolved[(host, port)] = (now + self._resolve_ttl, addresses[0])
        return addresses[0]

    async def _pin(self, url: str, timeout: float) -> _Target:
        parts, host, port = _parse(url)
        address = await self._address(host, port, timeout)
        literal = f"[{address}]" if ":" in address else address
        userinfo = parts.netloc.rpartition("@")[0]
        netloc = f"{userinfo}@{literal}:{port}" if userinfo else f"{literal}:{port}"
        extensions: dict[str, Any] = {"sni_hostname": host} if parts.scheme == "https" else {}
        return _Target(
            url=parts._replace(netloc=netloc).geturl(),
            host_header=parts.netloc.rpartition("@")[2],
            extensions=extensions,
            origin=(parts.scheme, host, port),
            address=address,
        )

    @asynccontextmanager
    async def _open(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None,
        content: bytes | None,
        timeout: float,
        max_redirects: int,
    ) -> AsyncIterator[httpx.Response]:
        current = url
        sent = {k.lower(): v for k, v in (headers or {}).items() if k.lower() != "host"}
        origin: tuple[str, str, int] | None = None
        for hop in range(max_redirects + 1):
            target = await self._pin(current, timeout)
            if origin is not None and target.origin != origin:
                sent.pop("authorization", None)
                sent.pop("cookie", None)
            origin = target.origin
            pool = self._client_for(target.pool)
            request = pool.client.build_request(
                method,
                target.url,
                headers=sent | {"host": target.host_header},
                content=content,
                timeout=timeout,
                extensions=target.extensions,
            )
            pool.busy += 1
            try:
                response = await pool.client.send(request, stream=True)
            except httpx.TimeoutException:
                pool.busy -= 1
                raise OutboundUnreachable(f"{target.host_header} timed out") from None
            except httpx.UnsupportedProtocol as exc:
                pool.busy -= 1
                raise OutboundRefused(str(exc)) from None
            except httpx.TransportError as exc:
                pool.busy -= 1
                raise OutboundUnreachable(f"{type(exc).__name__}: {exc}") from None
            except BaseException:
                pool.busy -= 1
                raise
            location = response.headers.get("location")
            follow = (
                response.status_code in REDIRECT_STATUSES
                and location
                and hop < max_redirects
                and method.upper() in ("GET", "HEAD")
            )
            if follow and location:
                # Read to the end (a redirect's body is short) so the connection can be reused.
                try:
                    await _read_at_most(response, REDIRECT_BODY_BYTES)
                except (OutboundError, httpx.HTTPError):
                    pass
                finally:
                    await response.aclose()
                    pool.busy -= 1
                current = urljoin(current, location)
                continue
            try:
                yield response
            except httpx.TimeoutException:
                raise OutboundUnreachable(f"{target.host_header} timed out") from None
            except httpx.TransportError as exc:
                raise OutboundUnreachable(f"{type(exc).__name__}: {exc}") from None
            finally:
                await response.aclose()
                pool.busy -= 1
            return

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
        timeout: float | None = None,
        max_bytes: int | None = None,
        max_redirects: int = 0,
    ) -> httpx.Response:
        """Send one request and read its body (at most ``max_bytes``), all within ``timeout``.

        A redirect is returned as it is unless ``max_redirects`` allows following it (GET and
        HEAD only; each hop checked like the first).
        """
        limit = timeout or self.timeout
        try:
            async with asyncio.timeout(limit):
                async with self._open(
                    method,
                    url,
                    headers=headers,
                    content=content,
                    timeout=limit,
                    max_redirects=max_redirects,
                ) as response:
                    await _read_at_most(response, max_bytes)
        except TimeoutError:
            raise OutboundUnreachable(f"{urlsplit(url).hostname} took over {limit:g} s") from None
        return response

    @asynccontextmanager
    async def stream(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
        timeout: float | None = None,
        max_redirects: int = 0,
    ) -> AsyncIterator[httpx.Response]:
        """Send one request and hand over the response unread (large downloads).

        ``timeout`` bounds resolving, connecting and each read; the caller bounds the whole.
        """
        async with self._open(
            method,
            url,
            headers=headers,
            content=content,
            timeout=timeout or self.timeout,
            max_redirects=max_redirects,
        ) as response:
            yield response


async def _read_at_most(response: httpx.Response, max_bytes: int | None) -> None:
    declared = response.headers.get("content-length", "")
    if max_bytes is not None and declared.isdigit() and int(declared) > max_bytes:
        raise ResponseTooLarge(f"the response declares {declared} bytes, over {max_bytes}")
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body += chunk
        if max_bytes is not None and len(body) > max_bytes:
            raise ResponseTooLarge(f"the response is longer than {max_bytes} bytes")
    # The body was read in pieces to stop early; keep it as the response's content.
    response._content = bytes(body)


def outbound_from_settings(settings: Settings) -> Outbound:
    """The client a server or worker process makes once at start (``LABELYARD_OUTBOUND_ALLOW``)."""
    policy = OutboundPolicy.from_setting(
        settings.outbound_allow, allow_private=settings.webhooks_allow_private
    )
    return Outbound(policy, timeout=settings.webhook_timeout_seconds)
