"""The smart tool's assist round trip: the reference assist service (``labelyard assist serve``,
OpenCV GrabCut) fetching a 1920x1080 PNG from a local image server and answering a box with a
polygon, timed from the client (p50 and p90 of ``--assist-requests`` requests). No target.

Run alone: ``.venv/bin/python bench/assist.py``.
"""

from __future__ import annotations

import io
import statistics
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import numpy as np
import uvicorn
from PIL import Image, ImageDraw

from labelyard.assist import create_app, outbound_for

WIDTH, HEIGHT = 1920, 1080


def picture() -> tuple[bytes, list[float]]:
    """A textured 1920x1080 PNG with an orange ellipse; a box around the ellipse."""
    rng = np.random.default_rng(1)
    pixels = rng.integers(30, 120, size=(HEIGHT, WIDTH, 3), dtype=np.uint8)
    image = Image.fromarray(pixels, "RGB")
    ellipse = [760, 340, 1160, 740]
    ImageDraw.Draw(image).ellipse(ellipse, fill=(230, 120, 40))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue(), [720, 300, 1200, 780]


def _serve_png(body: bytes) -> tuple[ThreadingHTTPServer, str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-type", "image/png")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}/big.png"


def bench_assist(requests: int = 20) -> dict[str, Any]:
    """Round trips of the assist service on a 1920x1080 image: p50 and p90 in ms."""
    png, box = picture()
    httpd, image_url = _serve_png(png)
    config = uvicorn.Config(
        create_app(outbound_for("127.0.0.1", timeout=30)),
        host="127.0.0.1",
        port=0,
        log_level="warning",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    times = []
    try:
        with httpx.Client(timeout=60) as client:
            body = {"image_url": image_url, "box": box, "points": []}
            for i in range(requests + 1):
                started = time.perf_counter()
                answer = client.post(f"http://127.0.0.1:{port}/assist", json=body)
                answer.raise_for_status()
                if i:  # the first loads OpenCV's code paths
                    times.append((time.perf_counter() - started) * 1000)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        httpd.shutdown()
    times.sort()
    return {
        "assist_requests": requests,
        "assist_p50_ms": statistics.median(times),
        "assist_p90_ms": times[int(0.9 * (len(times) - 1))],
    }


if __name__ == "__main__":
    figures = bench_assist()
    print(f"assist round trip, {WIDTH}x{HEIGHT} PNG, {figures['assist_requests']} requests:")
    print(f"  p50 {figures['assist_p50_ms']:.0f} ms   p90 {figures['assist_p90_ms']:.0f} ms")
