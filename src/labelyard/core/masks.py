"""Segmentation masks: what a valid one is, and how it goes into the result (API.md 3.7).

A SEGMENTATION job's annotations are the IMAGE layout plus ``"masks"``: a list of
``{"_id", "frame_id", "attributes"?, "legend": {"#rrggbb": "<label>" | "<label> # <n>"},
"png": <base64 of an RGB or RGBA PNG>}``, at most one per frame. Every pixel of the PNG is either
unlabelled (alpha 0) or opaque in a colour of its legend; each legend entry names a class of the
project (any class: a mask is not one of a class's drawn ``shapes``), optionally with an
instance number.

In the result, each mask is an entry of ``annotation_data.annotations`` in the hosted format
``{"_id", "attributes", "frame_id", "track_id", "url", "legend"}``; the PNG itself is written to
the blob store next to the result JSON by ``services.lifecycle``, which puts its ``url`` in.

Pillow decodes the PNG here: it reads the bytes it is given, no files.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
from typing import Any

from PIL import Image

from labelyard.core.schema import LabelSchema
from labelyard.errors import InvalidInput

MAX_PNG_BYTES = 6 * 1024 * 1024
MAX_SIDE = 10_000
MAX_LEGEND = 1_000
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_COLOUR = re.compile(r"#[0-9a-f]{6}")
_ENTRY = re.compile(r"(?P<label>.+?)(?: # (?P<instance>[0-9]{1,6}))?")


def _fail(where: str, message: str) -> InvalidInput:
    return InvalidInput(f"{where}: {message}")


def legend_label(value: str) -> tuple[str, int | None]:
    """A legend entry's class and instance number: ``"car # 2"`` -> ``("car", 2)``."""
    match = _ENTRY.fullmatch(value)
    if match is None:  # pragma: no cover - the pattern matches any non-empty string
        return value, None
    instance = match["instance"]
    return match["label"], int(instance) if instance is not None else None


def decode_png(value: object, where: str) -> bytes:
    """The PNG bytes of a mask's ``png`` (base64, optionally as a ``data:image/png`` URL)."""
    if not isinstance(value, str) or not value:
        raise _fail(where, "must be a base64 PNG")
    if value.startswith("data:"):
        head, _, value = value.partition(",")
        if head != "data:image/png;base64":
            raise _fail(where, "must be a data:image/png;base64 URL or plain base64")
    if len(value) > MAX_PNG_BYTES * 4 // 3 + 4:
        raise _fail(where, f"a mask PNG may be at most {MAX_PNG_BYTES} bytes")
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise _fail(where, "is not valid base64") from None
    if not data.startswith(PNG_SIGNATURE):
        raise _fail(where, "is not a PNG")
    return data


def mask_pixels(data: bytes, where: str) -> Image.Image:
    """The mask as an RGBA image; ``InvalidInput`` if it is not a readable PNG."""
    try:
        with Image.open(io.BytesIO(data), formats=["PNG"]) as image:
            width, height = image.size
            if not (0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE):
                raise _fail(where, f"a mask is at most {MAX_SIDE} pixels each way")
            image.load()
            return image.convert("RGBA")
    except InvalidInput:
        raise
    except (OSError, ValueError, Image.DecompressionBombError, SyntaxError):
        raise _fail(where, "is not a readable PNG") from None


def colours(image: Image.Image) -> set[str]:
    """The ``#rrggbb`` colours of the labelled (alpha > 0) pixels."""
    found = image.getcolors(maxcolors=MAX_LEGEND + 2)
    if found is None:
        return {"#" + "x" * 6}  # more colours than any legend may have
    pixels = [rgba for _, rgba in found if isinstance(rgba, tuple)]
    return {f"#{r:02x}{g:02x}{b:02x}" for r, g, b, a in pixels if a > 0}


def partly_transparent(image: Image.Image) -> bool:
    """True when some pixel is neither unlabelled (alpha 0) nor opaque."""
    alphas = {a for _, a in image.getchannel("A").getcolors(256) or []}
    return bool(alphas - {0, 255})


def validate_legend(legend: object, where: str, schema: LabelSchema) -> dict[str, str]:
    """A legend ``{"#rrggbb": "<label>" | "<label> # <n>"}`` naming classes of the project."""
    if not isinstance(legend, dict) or not legend:
        raise _fail(where, 'must be a non-empty object {"#rrggbb": "<label>"}')
    if len(legend) > MAX_LEGEND:
        raise _fail(where, f"at most {MAX_LEGEND} entries")
    seen: set[str] = set()
    for colour, entry in legend.items():
        if not isinstance(colour, str) or _COLOUR.fullmatch(colour) is None:
            raise _fail(f"{where}.{colour}", "keys must be colours #rrggbb (lower case)")
        if not isinstance(entry, str) or not entry.strip() or len(entry) > 300:
            raise _fail(f"{where}.{colour}", 'must be "<label>" or "<label> # <instance>"')
        if entry in seen:
            raise _fail(f"{where}.{colour}", f"{entry!r} has two colours")
        seen.add(entry)
        label, _ = legend_label(entry)
        if not schema.open and label not in schema.classes:
            raise _fail(f"{where}.{colour}", f"{label!r} is not a class of this project")
    return legend


def validate_masks(
    masks: object, where: str, *, schema: LabelSchema, frames: set[str], ids: set[str]
) -> int:
    """Raise ``InvalidInput`` naming the offending mask, else return how many there are."""
    if not isinstance(masks, list):
        raise _fail(where, "must be a list")
    taken: set[str] = set()
    for i, mask in enumerate(masks):
        at = f"{where}[{i}]"
        if not isinstance(mask, dict):
            raise _fail(at, "must be an object")
        known = {"_id", "frame_id", "track_id", "attributes", "legend", "png"}
        unknown = sorted(set(mask) - known)
        if unknown:
            raise _fail(f"{at}.{unknown[0]}", "unknown key")
        mask_id = mask.get("_id")
        if not isinstance(mask_id, str) or not mask_id or len(mask_id) > 100:
            raise _fail(f"{at}._id", "must be a non-empty string")
        if mask_id in ids:
            raise _fail(f"{at}._id", f"{mask_id!r} is used twice in this job")
        ids.add(mask_id)
        frame = mask.get("frame_id", "0")
        if not isinstance(frame, str) or frame not in frames:
            raise _fail(f"{at}.frame_id", "is not a frame of this job")
        if frame in taken:
            raise _fail(f"{at}.frame_id", "a frame has one mask")
        taken.add(frame)
        attributes = mask.get("attributes", {})
        if not isinstance(attributes, dict):
            raise _fail(f"{at}.attributes", "must be an object")
        legend = validate_legend(mask.get("legend"), f"{at}.legend", schema)
        image = mask_pixels(decode_png(mask.get("png"), f"{at}.png"), f"{at}.png")
        if partly_transparent(image):
            raise _fail(f"{at}.png", "each pixel must be opaque (labelled) or transparent")
        strays = sorted(colours(image) - set(legend))
        if strays:
            raise _fail(f"{at}.png", f"colour {strays[0]} is not in the legend")
    return len(masks)


def result_entries(masks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The masks as hosted result entries, each still with its ``png`` (base64): the service
    that writes the result stores the PNG and replaces ``png`` by its ``url``."""
    return [
        {
            "_id": m["_id"],
            "attributes": m.get("attributes", {}),
            "frame_id": m.get("frame_id", "0"),
            "track_id": m.get("track_id", m["_id"]),
            "legend": m["legend"],
            "png": m["png"],
        }
        for m in masks
    ]


def png_bytes(entry: dict[str, Any]) -> bytes:
    """The PNG of a (validated) mask entry."""
    value = str(entry["png"])
    if value.startswith("data:"):
        value = value.partition(",")[2]
    return base64.b64decode(value)
