"""The editor's smart tool: a prompt drawn on a held job's image, sent to the project's assist
service (``schema.assist``) through the one outbound client, answered as a polygon.

The contract is in ``labelyard.core.assist`` and docs/web.md; ``labelyard assist serve`` is the
reference service (OpenCV GrabCut).
"""

from __future__ import annotations

import base64
import binascii
import io
from typing import Any

import numpy as np
import orjson
from PIL import Image

from labelyard.core.assist import BadAnswer, Prompt, parse_polygon
from labelyard.errors import AssistFailed, Conflict
from labelyard.outbound import Outbound, OutboundError
from labelyard.services import media_checks
from labelyard.services.media import MediaSigner
from labelyard.services.workers import Worker
from labelyard.store.engine import Database

MAX_ANSWER_BYTES = 16 * 1024 * 1024


def largest_polygon(mask: np.ndarray[Any, Any], *, epsilon: float = 1.0) -> list[list[float]]:
    """The outline of the largest region of a mask (non-zero pixels), simplified by
    ``epsilon`` pixels; ``[]`` for an empty mask."""
    import cv2  # OpenCV is loaded only when a mask is outlined

    binary = (mask > 0).astype(np.uint8)
    contours, _ = cv2.findContours(binary, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return []
    largest = max(contours, key=cv2.contourArea)
    simplified = cv2.approxPolyDP(largest, epsilon, True)
    if len(simplified) < 3:
        return []
    return [[float(x), float(y)] for [[x, y]] in simplified.tolist()]


def _mask_polygon(raw: object) -> list[list[float]]:
    if not isinstance(raw, dict) or not isinstance(raw.get("png"), str):
        raise BadAnswer('mask must be {"width", "height", "png": base64 PNG}')
    try:
        image = Image.open(io.BytesIO(base64.b64decode(raw["png"], validate=True)))
        image.load()
    except (binascii.Error, OSError, ValueError) as exc:
        raise BadAnswer(f"mask.png is not a base64 PNG: {exc}") from None
    polygon = largest_polygon(np.asarray(image.convert("L")))
    if not polygon:
        raise BadAnswer("the mask is empty")
    return polygon


def read_answer(body: bytes) -> list[list[float]]:
    """The polygon of an assist service's answer (``polygon``, or ``mask`` outlined)."""
    try:
        answer = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise BadAnswer("the answer is not JSON") from None
    if not isinstance(answer, dict):
        raise BadAnswer("the answer must be a JSON object")
    if "polygon" in answer:
        return parse_polygon(answer["polygon"])
    if "mask" in answer:
        return _mask_polygon(answer["mask"])
    raise BadAnswer('the answer has neither "polygon" nor "mask"')


async def assist(
    db: Database,
    signer: MediaSigner,
    outbound: Outbound,
    worker: Worker,
    *,
    data: Any,
    prompt: Prompt,
) -> dict[str, Any]:
    """Ask the project's assist service for the object ``prompt`` points at, in an image of a
    job ``worker`` holds (the caller checked the hold). 409 when no service is set, 404 for a
    ``src`` that is not the job's, 502 when the service fails or answers outside the contract."""
    service = worker.project.schema.assist
    if service is None:
        raise Conflict("this project has no assist service (schema.assist)")
    _, image_url, _ = await media_checks.job_media(
        db, signer, account_id=worker.account_id, data=data, src=prompt.src
    )
    try:
        response = await outbound.request(
            "POST",
            service.url,
            headers={"content-type": "application/json", "accept": "application/json"},
            content=orjson.dumps(prompt.to_service(image_url)),
            timeout=service.timeout_seconds,
            max_bytes=MAX_ANSWER_BYTES,
        )
    except OutboundError as exc:
        raise AssistFailed(f"the assist service could not be reached: {exc}") from None
    if response.status_code != 200:
        raise AssistFailed(f"the assist service answered HTTP {response.status_code}")
    try:
        polygon = read_answer(response.content)
    except BadAnswer as exc:
        raise AssistFailed(f"the assist service's answer is unusable: {exc}") from None
    return {"polygon": polygon}
