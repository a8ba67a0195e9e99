"""Small real images for the export tests."""

from __future__ import annotations

import io

from PIL import Image


def image_bytes(width: int, height: int, kind: str = "PNG") -> bytes:
    """An encoded image of that size."""
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 40, 40)).save(buffer, kind)
    return buffer.getvalue()
