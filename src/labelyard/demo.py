"""The first start's demo material: a label schema, and street-like pictures drawn with Pillow.

The pictures are made locally (no download), stored in the blob store under ``demo/`` and
served by ``GET /demo-media/{name}``, so a newcomer's first "Start" shows a real image.
"""

from __future__ import annotations

import io
import random
import re
from dataclasses import dataclass

from PIL import Image, ImageDraw

from labelyard.blobs import BlobNotFound, BlobStore

WIDTH, HEIGHT = 960, 600
DEMO_MEDIA_PREFIX = "demo/"
DEMO_MEDIA_ROUTE = "/demo-media/"
# PNG pictures, and the lidar files (PCD) of the 3D editor's street demo (bootstrap).
NAME = re.compile(r"[a-z0-9-]{1,64}\.(?:png|pcd)")
STILLS = 4
VIDEO_FRAMES = 8

DEMO_SCHEMA = {
    "classes": [
        {
            "name": "car",
            "shapes": ["rectangle", "polygon"],
            "attributes": [
                {
                    "name": "color",
                    "type": "select",
                    "options": ["red", "blue", "white", "black", "silver"],
                },
                {"name": "occluded", "type": "boolean"},
                {"name": "parked", "type": "boolean"},
            ],
        },
        {
            "name": "pedestrian",
            "shapes": ["rectangle", "landmark", "polygon"],
            "attributes": [
                {"name": "action", "type": "select", "options": ["standing", "walking"]},
                {"name": "occluded", "type": "boolean"},
            ],
        },
        {
            "name": "cyclist",
            "shapes": ["rectangle", "polygon"],
            "attributes": [{"name": "helmet", "type": "boolean"}],
        },
    ]
}

_CAR_COLOURS = [(196, 38, 38), (40, 80, 170), (235, 235, 235), (30, 30, 34), (170, 175, 180)]


@dataclass(frozen=True, slots=True)
class Scene:
    """What a picture shows: where the cars, people and cyclists are (x of each, on the road)."""

    seed: int
    cars: tuple[int, ...]
    people: tuple[int, ...]
    cyclists: tuple[int, ...]


def _car(draw: ImageDraw.ImageDraw, x: int, y: int, scale: float, colour: tuple[int, ...]) -> None:
    w, h = int(150 * scale), int(52 * scale)
    fill = tuple(colour)
    draw.rounded_rectangle([x, y - h, x + w, y], radius=int(10 * scale), fill=fill)
    roof = [x + int(w * 0.22), y - h - int(30 * scale), x + int(w * 0.72), y - h + 4]
    draw.rounded_rectangle(roof, radius=int(8 * scale), fill=fill)
    glass = [roof[0] + 6, roof[1] + 6, roof[2] - 6, y - h]
    draw.rectangle(glass, fill=(150, 190, 215))
    for wx in (x + int(w * 0.2), x + int(w * 0.8)):
        r = int(15 * scale)
        draw.ellipse([wx - r, y - r, wx + r, y + r], fill=(20, 20, 20))
        draw.ellipse([wx - r // 2, y - r // 2, wx + r // 2, y + r // 2], fill=(120, 120, 120))


def _person(
    draw: ImageDraw.ImageDraw, x: int, y: int, scale: float, shirt: tuple[int, ...]
) -> None:
    head = int(9 * scale)
    draw.ellipse(
        [x - head, y - int(95 * scale), x + head, y - int(77 * scale)], fill=(224, 182, 150)
    )
    draw.rounded_rectangle(
        [x - int(12 * scale), y - int(76 * scale), x + int(12 * scale), y - int(38 * scale)],
        radius=4,
        fill=tuple(shirt),
    )
    leg = max(3, int(5 * scale))
    draw.line([x - 4, y - int(38 * scale), x - int(9 * scale), y], fill=(40, 40, 60), width=leg)
    draw.line([x + 4, y - int(38 * scale), x + int(9 * scale), y], fill=(40, 40, 60), width=leg)


def _cyclist(draw: ImageDraw.ImageDraw, x: int, y: int, scale: float) -> None:
    r = int(22 * scale)
    for wx in (x, x + int(70 * scale)):
        draw.ellipse(
            [wx - r, y - 2 * r, wx + r, y], outline=(25, 25, 25), width=max(2, int(4 * scale))
        )
    frame = (40, 120, 60)
    draw.line(
        [x, y - r, x + int(35 * scale), y - 2 * r, x + int(70 * scale), y - r], fill=frame, width=4
    )
    _person(draw, x + int(32 * scale), y - 2 * r + 10, scale * 0.8, (230, 150, 30))


def street(scene: Scene, *, width: int = WIDTH, height: int = HEIGHT) -> bytes:
    """A street picture: sky, buildings, pavement, road with lane marks, then the scene's cars,
    people and cyclists (far ones small), as PNG bytes."""
    rng = random.Random(scene.seed)
    image = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(image)
    horizon = int(height * 0.42)
    for y in range(horizon):
        shade = 150 + 80 * y // horizon
        draw.line([0, y, width, y], fill=(shade - 40, shade - 10, 235))
    x = 0
    while x < width:
        w, h = rng.randint(70, 160), rng.randint(90, horizon - 20)
        tone = rng.randint(120, 200)
        draw.rectangle([x, horizon - h, x + w, horizon], fill=(tone, tone - 15, tone - 30))
        for wy in range(horizon - h + 12, horizon - 14, 22):
            for wx in range(x + 10, x + w - 14, 20):
                lit = rng.random() < 0.3
                draw.rectangle(
                    [wx, wy, wx + 10, wy + 12], fill=(250, 225, 140) if lit else (70, 90, 110)
                )
        x += w + rng.randint(0, 12)
    pavement = int(height * 0.52)
    draw.rectangle([0, horizon, width, pavement], fill=(175, 170, 160))
    draw.rectangle([0, pavement, width, height], fill=(80, 82, 88))
    lane = int(height * 0.76)
    for x in range(-40, width, 110):
        draw.rectangle([x, lane - 4, x + 60, lane + 4], fill=(240, 240, 230))
    for i, px in enumerate(scene.people):
        _person(draw, px, pavement + 4, 1.0, _CAR_COLOURS[(i + scene.seed) % len(_CAR_COLOURS)])
    for cx in scene.cyclists:
        _cyclist(draw, cx, pavement + 48, 0.9)
    for i, cx in enumerate(scene.cars):
        far = i % 2 == 0
        scale, y = (0.8, lane - 14) if far else (1.15, height - 30)
        _car(draw, cx, y, scale, _CAR_COLOURS[(i * 3 + scene.seed) % len(_CAR_COLOURS)])
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()


def demo_pictures() -> dict[str, bytes]:
    """Every demo picture by file name: ``street-N.png`` stills and ``drive-NN.png`` frames of a
    car driving past a pedestrian (the demo VIDEO job)."""
    pictures: dict[str, bytes] = {}
    for n in range(1, STILLS + 1):
        rng = random.Random(n)
        scene = Scene(
            seed=n,
            cars=tuple(rng.randint(20, WIDTH - 220) for _ in range(1 + n % 3)),
            people=tuple(rng.randint(40, WIDTH - 40) for _ in range(n % 2 + 1)),
            cyclists=(rng.randint(100, WIDTH - 200),) if n % 2 else (),
        )
        pictures[f"street-{n}.png"] = street(scene)
    for frame in range(VIDEO_FRAMES):
        scene = Scene(seed=9, cars=(60 + frame * 90, 700 - frame * 40), people=(520,), cyclists=())
        pictures[f"drive-{frame + 1:02d}.png"] = street(scene)
    return pictures


def demo_media_key(name: str) -> str | None:
    """The blob key of a demo picture's file name; None for any other name."""
    return DEMO_MEDIA_PREFIX + name if NAME.fullmatch(name) else None


async def read_demo_picture(blobs: BlobStore, name: str) -> bytes:
    """A demo picture's PNG bytes; ``BlobNotFound`` for any other name."""
    key = demo_media_key(name)
    if key is None:
        raise BlobNotFound(f"no demo picture {name!r}")
    return await blobs.get(key)
