"""The reference assist service (``labelyard assist serve``): OpenCV GrabCut, no model weights.

It speaks the assist contract of ``labelyard.core.assist`` (docs/web.md): ``POST /assist`` with
``{"image_url", "box", "points", "label"}``; it fetches the image through the outbound client
(with the policy the operator gives: ``--allow``), runs GrabCut seeded by the box (clicks mark
sure foreground / background), and answers ``{"polygon": [[x, y], ...]}``, the outline of the
largest region. A SAM server answering the same contract plugs in instead.
"""

from __future__ import annotations

import asyncio
from typing import Any

import cv2
import numpy as np
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from labelyard.core.assist import Prompt, parse_prompt
from labelyard.errors import InvalidInput
from labelyard.outbound import Outbound, OutboundError, OutboundPolicy
from labelyard.services.assist import largest_polygon

MAX_IMAGE_BYTES = 64 * 1024 * 1024
WORK_SIDE = 800
"""Images are segmented at most this many pixels on a side (GrabCut's time grows with area)."""
ITERATIONS = 5
POINT_RADIUS = 0.01
"""A click marks a disc of this fraction of the image's longer side."""


def _json(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def _prompt_box(prompt: Prompt, width: int, height: int) -> tuple[int, int, int, int]:
    """The box GrabCut starts from (x, y, w, h), inside the image; from the clicks when the
    prompt has no box (the positive clicks' bounds, padded)."""
    if prompt.box is not None:
        x1, y1, x2, y2 = prompt.box
    else:
        xs = [x for x, _, positive in prompt.points if positive]
        ys = [y for _, y, positive in prompt.points if positive]
        pad = max(20.0, 0.1 * max(width, height))
        x1, y1, x2, y2 = min(xs) - pad, min(ys) - pad, max(xs) + pad, max(ys) + pad
    left, top = max(0, int(x1)), max(0, int(y1))
    right, bottom = min(width, round(x2)), min(height, round(y2))
    if right - left < 2 or bottom - top < 2:
        raise InvalidInput("the box is outside the image")
    return left, top, right - left, bottom - top


def segment(image: np.ndarray[Any, Any], prompt: Prompt) -> list[list[float]]:
    """The polygon GrabCut finds for ``prompt`` in a BGR ``image`` (image pixels); ``[]`` when
    it finds nothing."""
    height, width = image.shape[:2]
    scale = min(1.0, WORK_SIDE / max(width, height))
    small = (
        cv2.resize(
            image, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA
        )
        if scale < 1.0
        else image
    )
    sh, sw = small.shape[:2]
    scaled = Prompt(
        src=prompt.src,
        box=(
            (
                prompt.box[0] * scale,
                prompt.box[1] * scale,
                prompt.box[2] * scale,
                prompt.box[3] * scale,
            )
            if prompt.box is not None
            else None
        ),
        points=tuple((x * scale, y * scale, positive) for x, y, positive in prompt.points),
        label=prompt.label,
    )
    rect = _prompt_box(scaled, sw, sh)
    mask = np.zeros((sh, sw), np.uint8)
    background = np.zeros((1, 65), np.float64)
    foreground = np.zeros((1, 65), np.float64)
    if scaled.points:
        x, y, w, h = rect
        mask[:] = cv2.GC_BGD
        mask[y : y + h, x : x + w] = cv2.GC_PR_FGD
        radius = max(2, round(POINT_RADIUS * max(sw, sh)))
        for px, py, positive in scaled.points:
            value = cv2.GC_FGD if positive else cv2.GC_BGD
            cv2.circle(mask, (round(px), round(py)), radius, int(value), -1)
        # The stubs want a rect; with GC_INIT_WITH_MASK it is ignored.
        cv2.grabCut(small, mask, rect, background, foreground, ITERATIONS, cv2.GC_INIT_WITH_MASK)
    else:
        cv2.grabCut(small, mask, rect, background, foreground, ITERATIONS, cv2.GC_INIT_WITH_RECT)
    chosen = np.where((mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD), 255, 0).astype(np.uint8)
    polygon = largest_polygon(chosen, epsilon=1.0)
    return [[x / scale, y / scale] for x, y in polygon]


def decode(body: bytes) -> np.ndarray[Any, Any]:
    """A BGR image from encoded bytes (PNG, JPEG, WebP...); ``InvalidInput`` if it is none."""
    image = cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise InvalidInput("the image_url's body is not an image OpenCV can read")
    return image


def create_app(outbound: Outbound) -> Starlette:
    """The service's ASGI app; images are fetched through ``outbound``."""

    async def run(request: Request) -> Response:
        try:
            body = orjson.loads(await request.body())
            if not isinstance(body, dict):
                raise InvalidInput("the body must be a JSON object")
            image_url = body.get("image_url")
            if not isinstance(image_url, str):
                raise InvalidInput("image_url must be a URL")
            prompt = parse_prompt({**body, "src": image_url})
        except (orjson.JSONDecodeError, InvalidInput) as exc:
            return _json({"error": str(exc)}, 400)
        try:
            response = await outbound.request(
                "GET", image_url, max_bytes=MAX_IMAGE_BYTES, max_redirects=3
            )
        except OutboundError as exc:
            return _json({"error": f"cannot fetch image_url: {exc}"}, 422)
        if response.status_code != 200:
            return _json({"error": f"image_url answered HTTP {response.status_code}"}, 422)
        try:
            image = await asyncio.to_thread(decode, response.content)
            polygon = await asyncio.to_thread(segment, image, prompt)
        except InvalidInput as exc:
            return _json({"error": exc.message}, 422)
        if not polygon:
            return _json({"error": "no object found in the box"}, 422)
        return _json({"polygon": polygon})

    async def health(request: Request) -> Response:
        return _json({"status": "ok"})

    return Starlette(
        routes=[
            Route("/assist", run, methods=["POST"]),
            Route("/", run, methods=["POST"]),
            Route("/healthz", health, methods=["GET"]),
        ]
    )


def outbound_for(allow: str, *, timeout: float) -> Outbound:
    """The client the service fetches images with: public addresses, plus ``allow``
    (comma-separated hosts or CIDRs, e.g. ``127.0.0.1`` for a labelyard on this machine)."""
    return Outbound(OutboundPolicy.from_setting(allow), timeout=timeout)
