"""Image sizes: from job data, else from the image's header (local file or http), else why not."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from labelyard.exports.sizes import ImageSize, ImageSizer, NoSize, size_in_data
from labelyard.outbound import Outbound, OutboundPolicy
from tests.exports.images import image_bytes

PNG = image_bytes(320, 240)
JPEG = image_bytes(64, 48, "JPEG")


def test_sizes_given_in_data_or_its_metadata() -> None:
    assert size_in_data({"image_width": 640, "image_height": 480}) == ImageSize(640, 480)
    assert size_in_data({"metadata": {"image_width": 800.0, "image_height": 600}}) == ImageSize(
        800, 600
    )
    assert size_in_data({"image_width": 640}) is None
    assert size_in_data({"image_width": True, "image_height": 2}) is None
    assert size_in_data({"image_width": 0, "image_height": 2}) is None
    assert size_in_data({"image_width": 10.5, "image_height": 2}) is None
    assert size_in_data({"metadata": "x"}) is None


def _serve(requests: list[httpx.Request]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        path = request.url.path
        if path == "/a.png":
            return httpx.Response(200, content=PNG)
        if path == "/b.jpg":
            return httpx.Response(206, content=JPEG)
        if path == "/moved":
            return httpx.Response(302, headers={"location": "/a.png"})
        if path == "/loop":
            return httpx.Response(302, headers={"location": "/loop"})
        if path == "/text":
            return httpx.Response(200, content=b"<html>not an image</html>" * 100)
        return httpx.Response(404)

    return httpx.MockTransport(handler)


def _sizes(
    datas: list[object], *, allow_private: bool = True, requests: list[httpx.Request] | None = None
) -> list[ImageSize | NoSize]:
    """Sizes through the outbound client, its network a handler; ``localhost`` is the image
    host, allowed (with loopback and local files) when ``allow_private``."""
    requests = [] if requests is None else requests
    policy = OutboundPolicy(allow=("localhost", "127.0.0.0/8") if allow_private else ())

    async def run() -> list[ImageSize | NoSize]:
        outbound = Outbound(policy, transport=_serve(requests))
        try:
            sizer = ImageSizer(outbound, local_files=allow_private, max_bytes=4096)
            return await sizer.sizes(datas)
        finally:
            await outbound.aclose()

    found = asyncio.run(run())
    assert all(r.headers["range"] == "bytes=0-4095" for r in requests)
    return found


def test_http_images_are_read_only_as_far_as_their_header() -> None:
    found = _sizes(
        [
            {"image_url": "http://localhost/a.png"},
            {"image_url": "https://localhost/b.jpg"},
            {"image_url": "http://localhost/moved"},
            {"image_url": "http://localhost/a.png", "image_width": 5, "image_height": 6},
        ]
    )
    assert found == [ImageSize(320, 240), ImageSize(64, 48), ImageSize(320, 240), ImageSize(5, 6)]


def test_unreadable_images_say_why() -> None:
    found = _sizes(
        [
            {"image_url": "http://localhost/missing.png"},
            {"image_url": "http://localhost/text"},
            {"image_url": "http://localhost/loop"},
            {"image_url": "s3://bucket/a.png"},
            {"image_url": ""},
            {},
        ]
    )
    reasons = [f.reason for f in found if isinstance(f, NoSize)]
    assert len(reasons) == 6
    assert "answered HTTP 404" in reasons[0]
    assert "does not start like an image" in reasons[1]
    assert "redirects too often" in reasons[2]
    assert "s3://" in reasons[3]
    assert "no image_url" in reasons[4] and "no image_url" in reasons[5]


def test_private_hosts_and_local_files_are_read_only_when_allowed(tmp_path: Path) -> None:
    image = tmp_path / "local image.png"
    image.write_bytes(PNG)
    local = [
        {"image_url": image.as_uri()},
        {"image_url": str(image)},
        {"image_url": "http://127.0.0.1/a.png"},
    ]
    assert _sizes(local) == [ImageSize(320, 240)] * 3
    refused = _sizes(local, allow_private=False)
    assert all(isinstance(f, NoSize) for f in refused)
    assert "local files are not read" in refused[0].reason  # type: ignore[union-attr]
    assert "loopback, not allowed" in refused[2].reason  # type: ignore[union-attr]
    missing = _sizes([{"image_url": (tmp_path / "nope.png").as_uri()}])[0]
    assert isinstance(missing, NoSize) and "not a readable image" in missing.reason


def test_a_slow_server_times_out() -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(5)
        return httpx.Response(200, content=PNG)

    async def run() -> ImageSize | NoSize:
        outbound = Outbound(
            OutboundPolicy(allow=("localhost",)), transport=httpx.MockTransport(slow)
        )
        try:
            sizer = ImageSizer(outbound, local_files=False, timeout=0.1)
            return await sizer.size({"image_url": "http://localhost/a.png"})
        finally:
            await outbound.aclose()

    found = asyncio.run(run())
    assert isinstance(found, NoSize) and "took over 0.1 s" in found.reason


def test_the_probe_connects_to_the_address_it_checked() -> None:
    """No second lookup between the check and the connection (DNS rebinding, finding M2)."""
    requests: list[httpx.Request] = []
    found = _sizes(
        [{"image_url": "http://localhost/moved"}, {"image_url": "https://localhost/b.jpg"}],
        requests=requests,
    )
    assert found == [ImageSize(320, 240), ImageSize(64, 48)]
    assert len(requests) == 3
    assert {r.url.host for r in requests} == {"127.0.0.1"}
    assert {r.headers["host"] for r in requests} == {"localhost"}


def test_a_redirect_to_a_private_address_is_not_followed() -> None:
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(302, headers={"location": "http://169.254.169.254/latest/"})

    async def run() -> ImageSize | NoSize:
        outbound = Outbound(
            OutboundPolicy(allow=("localhost",)), transport=httpx.MockTransport(handler)
        )
        try:
            return await ImageSizer(outbound, local_files=False).size(
                {"image_url": "http://localhost/a.png"}
            )
        finally:
            await outbound.aclose()

    found = asyncio.run(run())
    assert isinstance(found, NoSize) and "never allowed" in found.reason
    assert len(requests) == 1
