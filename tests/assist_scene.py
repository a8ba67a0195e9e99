"""A synthetic object for the smart tool's tests: a filled shape on a textured background, its
true mask, IoU of a polygon against it, and loopback servers for the picture and the reference
assist service."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from labelyard.assist import create_app, outbound_for
from labelyard.config import Settings
from tests.conftest import free_port, start_server


@dataclass(frozen=True)
class Scene:
    png: bytes
    truth: np.ndarray[Any, Any]  # bool, True on the object
    box: tuple[float, float, float, float]  # a box drawn around the object, a margin around it


def scene(width: int = 640, height: int = 480, seed: int = 7) -> Scene:
    """A blotchy green/grey texture with a filled orange polygon (not convex) near the middle."""
    rng = np.random.default_rng(seed)
    texture = rng.integers(0, 60, size=(height // 8 + 1, width // 8 + 1, 3), dtype=np.uint8)
    background = np.kron(texture, np.ones((8, 8, 1), dtype=np.uint8))[:height, :width]
    background = background + np.array([40, 90, 50], dtype=np.uint8)
    noise = rng.integers(0, 25, size=(height, width, 3), dtype=np.uint8)
    image = Image.fromarray((background + noise).astype(np.uint8), "RGB")
    cx, cy, s = width / 2, height / 2, min(width, height) / 4
    shape = [
        (cx - s, cy - s * 0.8),
        (cx + s * 0.3, cy - s),
        (cx + s, cy - s * 0.2),
        (cx + s * 0.6, cy + s * 0.9),
        (cx - s * 0.1, cy + s * 0.4),
        (cx - s * 0.9, cy + s * 0.8),
    ]
    ImageDraw.Draw(image).polygon(shape, fill=(230, 120, 40))
    # A little texture on the object too (real objects are not flat).
    pixels = np.asarray(image).copy()
    mask = Image.new("1", (width, height))
    ImageDraw.Draw(mask).polygon(shape, fill=1)
    truth = np.asarray(mask).astype(bool)
    pixels[truth] = np.clip(
        pixels[truth].astype(int) + rng.integers(-20, 20, size=(int(truth.sum()), 3)), 0, 255
    ).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "PNG")
    xs, ys = [x for x, _ in shape], [y for _, y in shape]
    margin = s * 0.15
    box = (min(xs) - margin, min(ys) - margin, max(xs) + margin, max(ys) + margin)
    return Scene(png=out.getvalue(), truth=truth, box=box)


def iou(polygon: list[list[float]], truth: np.ndarray[Any, Any]) -> float:
    """Intersection over union of a polygon (rasterised with Pillow) and a mask."""
    height, width = truth.shape
    drawn = Image.new("1", (width, height))
    ImageDraw.Draw(drawn).polygon([(x, y) for x, y in polygon], fill=1)
    found = np.asarray(drawn).astype(bool)
    union = np.logical_or(found, truth).sum()
    return float(np.logical_and(found, truth).sum() / union) if union else 0.0


@contextmanager
def serving(files: dict[str, bytes]) -> Iterator[str]:
    """A loopback HTTP server of ``files`` by path (PNG); its base URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = files.get(self.path.split("?")[0])
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("content-type", "image/png")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@contextmanager
def assist_service(allow: str = "127.0.0.1") -> Iterator[str]:
    """The reference assist service (``labelyard assist serve``) on loopback; its URL."""
    settings = Settings(port=free_port(), host="127.0.0.1")
    server, thread = start_server(settings, create_app(outbound_for(allow, timeout=10)))
    try:
        yield f"http://127.0.0.1:{settings.port}/assist"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
