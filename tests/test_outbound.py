"""The one outbound client: explicit forbidden ranges, an allow-list, the checked address pinned."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from labelyard.config import Settings
from labelyard.core.urls import url_problem
from labelyard.outbound import (
    Outbound,
    OutboundPolicy,
    OutboundRefused,
    OutboundUnreachable,
    ResponseTooLarge,
    embedded_ipv4,
    outbound_from_settings,
)

OPEN = OutboundPolicy()

FORBIDDEN = [
    "127.0.0.1",
    "127.255.0.9",
    "10.1.2.3",
    "172.16.0.1",
    "172.31.255.255",
    "192.168.0.1",
    "100.64.0.1",  # CGNAT
    "100.127.255.254",
    "169.254.1.1",  # link-local
    "169.254.169.254",  # cloud metadata
    "0.0.0.0",
    "0.1.2.3",
    "224.0.0.1",  # multicast
    "239.255.255.250",
    "240.0.0.1",  # reserved
    "255.255.255.255",
    "192.0.2.10",  # documentation
    "198.18.0.1",  # benchmarking
    "::",
    "::1",
    "fc00::1",  # ULA
    "fd12:3456::1",
    "fe80::1",  # link-local
    "ff02::1",  # multicast
    "fec0::1",  # site-local
    "2001:db8::1",
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::ffff:169.254.169.254",
    "::ffff:10.0.0.1",
    "::127.0.0.1",  # IPv4-compatible
    "::10.0.0.1",
    "::ffff:0:127.0.0.1",  # SIIT
    "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
    "2002:c0a8:0101::1",  # 6to4 of 192.168.1.1
    "64:ff9b::127.0.0.1",  # NAT64
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "64:ff9b::10.1.1.1",
    "64:ff9b:1::1",  # local-use NAT64
]
PUBLIC = [
    "93.184.216.34",
    "8.8.8.8",
    "100.128.0.1",  # just past CGNAT
    "172.32.0.1",  # just past 172.16/12
    "2606:4700:4700::1111",
    "::ffff:8.8.8.8",
    "2002:0808:0808::1",
    "64:ff9b::8.8.8.8",
]


@pytest.mark.parametrize("address", FORBIDDEN)
def test_forbidden_addresses_are_refused_without_an_allow_list(address: str) -> None:
    assert OPEN.refusal("example.test", address) is not None


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_allowed(address: str) -> None:
    assert OPEN.refusal("example.test", address) is None


def test_ipv6_forms_embedding_an_ipv4_address_are_unwrapped() -> None:
    cases = {
        "::ffff:10.0.0.1": "10.0.0.1",
        "::10.0.0.1": "10.0.0.1",
        "::ffff:0:10.0.0.1": "10.0.0.1",
        "2002:0a00:0001::": "10.0.0.1",
        "64:ff9b::0a00:0001": "10.0.0.1",
    }
    import ipaddress

    for wrapped, inner in cases.items():
        assert str(embedded_ipv4(ipaddress.ip_address(wrapped))) == inner
    assert embedded_ipv4(ipaddress.ip_address("2606:4700::1")) is None
    assert embedded_ipv4(ipaddress.ip_address("::1")) is None


def test_an_allow_list_opens_hosts_and_ranges_but_never_the_metadata_address() -> None:
    policy = OutboundPolicy(allow=("10.0.0.0/8", "hooks.internal", "fd00::/8"))
    assert policy.refusal("anything", "10.9.8.7") is None
    assert policy.refusal("anything", "::ffff:10.9.8.7") is None
    assert policy.refusal("anything", "fd00::5") is None
    assert policy.refusal("anything", "192.168.1.1") is not None
    assert policy.refusal("HOOKS.internal.", "192.168.1.1") is None  # by name, any address
    assert policy.refusal("other.internal", "192.168.1.1") is not None
    everything = OutboundPolicy(allow=("0.0.0.0/0", "::/0", "169.254.169.254", "metadata"))
    for address in (
        "169.254.169.254",
        "::ffff:169.254.169.254",
        "64:ff9b::a9fe:a9fe",
        "2002:a9fe:a9fe::1",
        "fd00:ec2::254",
        "0.0.0.0",
    ):
        assert "never allowed" in (everything.refusal("metadata", address) or ""), address
    assert everything.refusal("metadata", "169.254.1.1") is None  # other link-local, allowed


def test_the_deprecated_switch_allows_loopback_and_private_ranges_only() -> None:
    policy = OutboundPolicy.from_setting("", allow_private=True)
    for address in ("127.0.0.1", "::1", "10.1.1.1", "172.16.5.5", "192.168.1.1", "fd00::1"):
        assert policy.refusal("h", address) is None, address
    assert policy.refusal("h", "169.254.169.254") is not None
    assert policy.refusal("h", "169.254.1.1") is not None
    from_env = outbound_from_settings(Settings(outbound_allow=" 10.0.0.0/8 ,hooks.lan"))
    assert from_env.policy.allow == ("10.0.0.0/8", "hooks.lan")
    asyncio.run(from_env.aclose())
    with pytest.raises(ValueError):
        OutboundPolicy.from_setting("10.0.0.0/33")


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/\r\nX-Injected: 1",
        "http://example.com/a\nb",
        "http://exa\tmple.com/",
        "http://example.com/\x00",
        "http://example.com/\x7f",
        "http://example.com/a b",
        "ftp://example.com/",
        "file:///etc/passwd",
        "gopher://127.0.0.1:6379/",
        "http:///nohost",
        "http://example.com:0/",
        "http://example.com:99999/",
        "",
    ],
)
def test_bad_urls_are_refused_before_any_lookup(url: str) -> None:
    assert url_problem(url) is not None

    async def run() -> None:
        outbound = Outbound(OPEN)
        try:
            await outbound.request("GET", url)
        finally:
            await outbound.aclose()

    with pytest.raises(OutboundRefused):
        asyncio.run(run())


# --- a real server on loopback ----------------------------------------------------------------


@contextmanager
def server() -> Iterator[tuple[int, list[dict[str, str]]]]:
    seen: list[dict[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append({"path": self.path, "host": self.headers.get("host", "")})
            port = self.server.server_address[1]
            if self.path == "/redirect-private":
                self._answer(302, b"", {"location": f"http://127.0.0.1:{port}/ok"})
            elif self.path == "/redirect-same":
                self._answer(302, b"", {"location": "/ok"})
            elif self.path == "/big":
                self._answer(200, b"x" * 100_000)
            elif self.path == "/slow":
                time.sleep(3)
                self._answer(200, b"late")
            else:
                self._answer(200, b"hello")

        def _answer(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
            try:
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except OSError:
                pass

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd.server_address[1], seen
    finally:
        httpd.shutdown()
        httpd.server_close()


def _call(policy: OutboundPolicy, url: str, **options: Any) -> httpx.Response:
    async def run() -> httpx.Response:
        outbound = Outbound(policy, timeout=5)
        try:
            return await outbound.request("GET", url, **options)
        finally:
            await outbound.aclose()

    return asyncio.run(run())


def test_a_name_on_loopback_is_reached_only_when_allow_listed() -> None:
    with server() as (port, seen):
        with pytest.raises(OutboundRefused, match="loopback"):
            _call(OPEN, f"http://localhost:{port}/ok")
        with pytest.raises(OutboundRefused):
            _call(OutboundPolicy(allow=("other.host",)), f"http://localhost:{port}/ok")
        assert seen == []
        response = _call(OutboundPolicy(allow=("localhost",)), f"http://localhost:{port}/ok")
        assert (response.status_code, response.content) == (200, b"hello")
        # The connection went to the checked address; the server saw the name in Host.
        assert seen == [{"path": "/ok", "host": f"localhost:{port}"}]
        assert response.request.url.host == "127.0.0.1"
        by_range = _call(OutboundPolicy(allow=("127.0.0.0/8",)), f"http://localhost:{port}/ok")
        assert by_range.status_code == 200


def test_the_request_goes_to_the_address_checked_not_a_new_lookup() -> None:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, text="pinned")

    async def run() -> httpx.Response:
        outbound = Outbound(
            OutboundPolicy(allow=("localhost",)), transport=httpx.MockTransport(handler)
        )
        try:
            return await outbound.request("GET", "https://user:pw@localhost:8443/p?q=1")
        finally:
            await outbound.aclose()

    response = asyncio.run(run())
    assert response.text == "pinned"
    (request,) = sent
    assert (request.url.scheme, request.url.host, request.url.port) == ("https", "127.0.0.1", 8443)
    assert request.url.raw_path == b"/p?q=1"
    assert request.headers["host"] == "localhost:8443"
    assert request.extensions["sni_hostname"] == "localhost"  # TLS checks the name
    assert request.headers["authorization"].startswith("Basic ")


def test_redirects_are_not_followed_unless_asked_and_each_hop_is_checked() -> None:
    policy = OutboundPolicy(allow=("localhost",))
    with server() as (port, seen):
        plain = _call(policy, f"http://localhost:{port}/redirect-same")
        assert plain.status_code == 302 and [s["path"] for s in seen] == ["/redirect-same"]
        followed = _call(policy, f"http://localhost:{port}/redirect-same", max_redirects=2)
        assert followed.status_code == 200 and seen[-1]["path"] == "/ok"
        # localhost is allowed by name; 127.0.0.1 by address is not.
        with pytest.raises(OutboundRefused, match=r"127\.0\.0\.1"):
            _call(policy, f"http://localhost:{port}/redirect-private", max_redirects=2)
        assert seen[-1]["path"] == "/redirect-private"


def test_bodies_are_bounded_and_slow_hosts_time_out() -> None:
    policy = OutboundPolicy(allow=("127.0.0.1/32",))
    with server() as (port, _):
        with pytest.raises(ResponseTooLarge):
            _call(policy, f"http://127.0.0.1:{port}/big", max_bytes=1000)
        assert len(_call(policy, f"http://127.0.0.1:{port}/big", max_bytes=100_000).content) == (
            100_000
        )
        with pytest.raises(OutboundUnreachable):
            _call(policy, f"http://127.0.0.1:{port}/slow", timeout=0.2)


def test_a_closed_port_is_unreachable_not_refused() -> None:
    with server() as (port, _):
        pass  # closed now
    with pytest.raises(OutboundUnreachable):
        _call(OutboundPolicy(allow=("127.0.0.1/32",)), f"http://127.0.0.1:{port}/")


# --- kept-alive connections, pinned per (scheme, host, port, address) ------------------------


@contextmanager
def keepalive_server(address: str, port: int = 0) -> Iterator[tuple[int, list[tuple[str, int]]]]:
    """An HTTP/1.1 server on ``address`` that records (Host, client port) of each request."""
    seen: list[tuple[str, int]] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            seen.append((self.headers.get("host", ""), self.client_address[1]))
            body = address.encode()
            self.send_response(200)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer((address, port), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd.server_address[1], seen
    finally:
        httpd.shutdown()
        httpd.server_close()


def _resolver(answers: dict[str, list[list[str]]]) -> Any:
    """Each call for a name answers that name's next list of addresses (the last one stays)."""

    async def resolve(host: str, port: int) -> list[str]:
        queue = answers[host]
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return resolve


LOOPBACK = OutboundPolicy(allow=("127.0.0.0/8",))


def test_requests_to_one_name_reuse_one_connection() -> None:
    with keepalive_server("127.0.0.1") as (port, seen):

        async def run() -> list[tuple[str, str, int, str]]:
            outbound = Outbound(LOOPBACK, resolver=_resolver({"svc.test": [["127.0.0.1"]]}))
            try:
                for _ in range(5):
                    reply = await outbound.request("GET", f"http://svc.test:{port}/x")
                    assert reply.content == b"127.0.0.1"
                return outbound.pools()
            finally:
                await outbound.aclose()

        pools = asyncio.run(run())
    assert pools == [("http", "svc.test", port, "127.0.0.1")]
    assert [host for host, _ in seen] == [f"svc.test:{port}"] * 5
    assert len({client for _, client in seen}) == 1  # one TCP connection for the five


def test_two_names_on_one_address_never_share_a_connection() -> None:
    with keepalive_server("127.0.0.1") as (port, seen):

        async def run() -> None:
            resolver = _resolver({"a.test": [["127.0.0.1"]], "b.test": [["127.0.0.1"]]})
            outbound = Outbound(LOOPBACK, resolver=resolver)
            try:
                for name in ("a.test", "b.test", "a.test", "b.test"):
                    await outbound.request("GET", f"http://{name}:{port}/")
            finally:
                await outbound.aclose()

        asyncio.run(run())
    by_host: dict[str, set[int]] = {}
    for host, client in seen:
        by_host.setdefault(host.partition(":")[0], set()).add(client)
    assert len(by_host["a.test"]) == len(by_host["b.test"]) == 1
    assert by_host["a.test"].isdisjoint(by_host["b.test"])


def test_a_name_that_resolves_elsewhere_gets_a_new_checked_connection() -> None:
    async def run(port: int) -> list[bytes]:
        resolver = _resolver({"svc.test": [["127.0.0.1"], ["127.0.0.2"], ["169.254.169.254"]]})
        outbound = Outbound(LOOPBACK, resolver=resolver, resolve_ttl=0)
        try:
            bodies = [
                (await outbound.request("GET", f"http://svc.test:{port}/")).content
                for _ in range(2)
            ]
            # An open connection to a checked address does not excuse a new answer.
            with pytest.raises(OutboundRefused, match="metadata"):
                await outbound.request("GET", f"http://svc.test:{port}/")
            return bodies
        finally:
            await outbound.aclose()

    with (
        keepalive_server("127.0.0.1") as (port, first),
        keepalive_server("127.0.0.2", port) as (_, second),
    ):
        assert asyncio.run(run(port)) == [b"127.0.0.1", b"127.0.0.2"]
    assert len(first) == len(second) == 1


def test_a_checked_answer_is_remembered_for_its_time_only() -> None:
    calls: list[str] = []
    now = [0.0]

    async def resolve(host: str, port: int) -> list[str]:
        calls.append(host)
        return ["127.0.0.1"]

    with keepalive_server("127.0.0.1") as (port, _):

        async def run() -> None:
            outbound = Outbound(LOOPBACK, resolver=resolve, resolve_ttl=10, clock=lambda: now[0])
            try:
                await outbound.request("GET", f"http://svc.test:{port}/")
                await outbound.request("GET", f"http://svc.test:{port}/")
                now[0] = 11.0
                await outbound.request("GET", f"http://svc.test:{port}/")
            finally:
                await outbound.aclose()

        asyncio.run(run())
    assert calls == ["svc.test", "svc.test"]


def test_past_its_limit_the_least_recently_used_idle_pool_is_closed() -> None:
    names = {f"h{i}.test": [["127.0.0.1"]] for i in range(3)}
    with keepalive_server("127.0.0.1") as (port, seen):

        async def run() -> list[str]:
            outbound = Outbound(LOOPBACK, resolver=_resolver(names), max_pools=2)
            try:
                for name in ("h0.test", "h1.test", "h0.test", "h2.test", "h0.test"):
                    await outbound.request("GET", f"http://{name}:{port}/")
                return [host for _, host, _, _ in outbound.pools()]
            finally:
                await outbound.aclose()

        assert asyncio.run(run()) == ["h2.test", "h0.test"]
    # h0 was used most recently when h2 came, so h1 was closed and h0 kept its connection.
    assert len({client for host, client in seen if host.startswith("h0.")}) == 1
