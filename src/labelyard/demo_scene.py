"""A generated street scene for the 3D editor's demo job and tests: a ground plane, a few
box-shaped cars with known cuboids (one driving, the others parked), a lidar sweep per frame
and two cameras (front pinhole, rear fisheye) whose images show the cars.

World frame = the lidar's frame (x forward, y left, z up; the lidar 1.8 m above the ground),
so the job needs no poses for the lidar. Cameras follow OpenCV (z forward, x right, y down).
Everything is deterministic for a given ``seed``.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw

GROUND_Z = -1.8
CAMERA_SIZE = (640, 360)
# Front camera: at the lidar, looking along +x; rear: looking along -x (quaternions w, x, y, z).
FRONT = {
    "position": {"x": 0.5, "y": 0.0, "z": -0.3},
    "heading": {"w": 0.5, "x": -0.5, "y": 0.5, "z": -0.5},
}
REAR = {
    "position": {"x": -0.5, "y": 0.0, "z": -0.3},
    "heading": {"w": 0.5, "x": -0.5, "y": -0.5, "z": 0.5},
}
INTRINSICS = {
    "fx": 320.0,
    "fy": 320.0,
    "cx": 320.0,
    "cy": 180.0,
    "k1": -0.05,
    "k2": 0.01,
    "p1": 0.0,
    "p2": 0.0,
}
FISHEYE = {
    "fx": 200.0,
    "fy": 200.0,
    "cx": 320.0,
    "cy": 180.0,
    "k1": 0.05,
    "k2": 0.0,
    "k3": 0.0,
    "k4": 0.0,
}


@dataclass(frozen=True)
class Car:
    """A car's cuboid in one frame (API.md 3.7 geometry)."""

    track: str
    x: float
    y: float
    yaw: float
    length: float = 4.4
    width: float = 1.8
    height: float = 1.5

    def cuboid(self) -> dict[str, Any]:
        """The geometry of labelyard's cuboid3d frame."""
        return {
            "position": {"x": self.x, "y": self.y, "z": GROUND_Z + self.height / 2},
            "dimensions": {"x": self.length, "y": self.width, "z": self.height},
            "rotation": {"roll": 0.0, "pitch": 0.0, "yaw": self.yaw},
        }


def cars_at(frame: int) -> list[Car]:
    """The cars of a frame: one driving 1 m a frame along +x, two parked."""
    return [
        Car("moving", x=8.0 + frame, y=-2.0, yaw=0.0),
        Car("parked-1", x=14.0, y=4.0, yaw=0.2),
        Car("parked-2", x=-9.0, y=3.5, yaw=math.pi),
    ]


def _box_surface(car: Car, rng: np.random.Generator, density: float) -> npt.NDArray[np.float32]:
    """Points on the visible faces of a car's box (all faces but the bottom)."""
    length, width, height = car.length, car.width, car.height
    faces = [
        (
            (length, width),
            lambda u, v: (u - length / 2, v - width / 2, np.full_like(u, height / 2)),
        ),
        (
            (length, height),
            lambda u, v: (u - length / 2, np.full_like(u, width / 2), v - height / 2),
        ),
        (
            (length, height),
            lambda u, v: (u - length / 2, np.full_like(u, -width / 2), v - height / 2),
        ),
        (
            (width, height),
            lambda u, v: (np.full_like(u, length / 2), u - width / 2, v - height / 2),
        ),
        (
            (width, height),
            lambda u, v: (np.full_like(u, -length / 2), u - width / 2, v - height / 2),
        ),
    ]
    parts = []
    Place = Callable[[npt.NDArray[Any], npt.NDArray[Any]], tuple[Any, Any, Any]]
    placed: list[tuple[tuple[float, float], Place]] = faces
    for (a, b), place in placed:
        n = int(a * b * density)
        u, v = rng.uniform(0, a, n), rng.uniform(0, b, n)
        x, y, z = place(u, v)
        c, s = math.cos(car.yaw), math.sin(car.yaw)
        parts.append(
            np.column_stack(
                [car.x + c * x - s * y, car.y + s * x + c * y, GROUND_Z + height / 2 + z]
            )
        )
    return np.concatenate(parts).astype(np.float32)


def lidar_points(frame: int, *, points: int = 60_000, seed: int = 0) -> npt.NDArray[np.float32]:
    """An (n, 4) array of x, y, z, intensity (0..1): ground and cars; about ``points`` points."""
    rng = np.random.default_rng(seed + frame)
    ground_n = int(points * 0.85)
    radius = np.sqrt(rng.uniform(2.0**2, 40.0**2, ground_n))
    angle = rng.uniform(0, 2 * math.pi, ground_n)
    ground = np.column_stack(
        [
            radius * np.cos(angle),
            radius * np.sin(angle),
            GROUND_Z + rng.normal(0, 0.02, ground_n),
            rng.uniform(0.05, 0.25, ground_n),
        ]
    )
    cars = []
    for car in cars_at(frame):
        surface = _box_surface(car, rng, density=max(points / 1500, 10))
        cars.append(np.column_stack([surface, rng.uniform(0.6, 0.9, len(surface))]))
    every = np.concatenate([ground, *cars]).astype(np.float32)
    # Points on the ground under a car cannot be seen by the lidar.
    keep = np.ones(len(every), dtype=bool)
    for car in cars_at(frame):
        c, s = math.cos(car.yaw), math.sin(car.yaw)
        dx, dy = every[:, 0] - car.x, every[:, 1] - car.y
        under = (np.abs(c * dx + s * dy) < car.length / 2) & (
            np.abs(-s * dx + c * dy) < car.width / 2
        )
        keep &= ~(under & (every[:, 2] < GROUND_Z + 0.1))
    return every[keep]


def _quaternion(q: dict[str, float]) -> npt.NDArray[np.float64]:
    w, x, y, z = q["w"], q["x"], q["y"], q["z"]
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


def project(
    pose: dict[str, Any], intrinsics: dict[str, float], model: str, world: npt.NDArray[Any]
) -> npt.NDArray[np.float64]:
    """Pixels (n, 2) of world points (n, 3); NaN where behind the camera (as projection.js)."""
    rotation = _quaternion(pose["heading"])
    t = np.array([pose["position"][k] for k in ("x", "y", "z")])
    cam = (np.asarray(world, dtype=np.float64) - t) @ rotation
    z = cam[:, 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        a, b = cam[:, 0] / z, cam[:, 1] / z
    k = {name: float(intrinsics.get(name, 0.0)) for name in ("k1", "k2", "k3", "k4", "p1", "p2")}
    if model == "fisheye":
        r = np.hypot(a, b)
        theta = np.arctan(r)
        t2 = theta * theta
        theta_d = theta * (1 + t2 * (k["k1"] + t2 * (k["k2"] + t2 * (k["k3"] + t2 * k["k4"]))))
        scale = np.where(r > 1e-12, theta_d / np.maximum(r, 1e-12), 1.0)
        xd, yd = a * scale, b * scale
    else:
        r2 = a * a + b * b
        radial = 1 + r2 * (k["k1"] + r2 * (k["k2"] + r2 * k["k3"]))
        xd = a * radial + 2 * k["p1"] * a * b + k["p2"] * (r2 + 2 * a * a)
        yd = b * radial + k["p1"] * (r2 + 2 * b * b) + 2 * k["p2"] * a * b
    u = intrinsics["fx"] * xd + intrinsics["cx"]
    v = intrinsics["fy"] * yd + intrinsics["cy"]
    pixels = np.column_stack([u, v])
    pixels[z <= 1e-6] = np.nan
    return pixels


def _corners(car: Car) -> npt.NDArray[np.float64]:
    c, s = math.cos(car.yaw), math.sin(car.yaw)
    out = []
    for dz in (-0.5, 0.5):
        for dx, dy in ((0.5, 0.5), (-0.5, 0.5), (-0.5, -0.5), (0.5, -0.5)):
            x, y = dx * car.length, dy * car.width
            out.append(
                (car.x + c * x - s * y, car.y + s * x + c * y, GROUND_Z + car.height * (dz + 0.5))
            )
    return np.array(out)


def _hull(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The convex hull of 2D points (monotone chain), counter-clockwise."""
    ordered = sorted(set(points))

    def cross(o: tuple[float, float], a: tuple[float, float], b: tuple[float, float]) -> float:
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    lower: list[tuple[float, float]] = []
    upper: list[tuple[float, float]] = []
    for point in ordered:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], point) <= 0:
            lower.pop()
        lower.append(point)
    for point in reversed(ordered):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], point) <= 0:
            upper.pop()
        upper.append(point)
    return lower[:-1] + upper[:-1]


def camera_image(
    frame: int, pose: dict[str, Any], intrinsics: dict[str, float], model: str
) -> bytes:
    """A PNG of what a camera sees: sky, ground, and each car as its projected box outline."""
    width, height = CAMERA_SIZE
    image = Image.new("RGB", CAMERA_SIZE, (150, 185, 215))
    draw = ImageDraw.Draw(image)
    horizon = project(pose, intrinsics, model, np.array([[1000.0, 0.0, GROUND_Z]]))
    if pose is REAR:
        horizon = project(pose, intrinsics, model, np.array([[-1000.0, 0.0, GROUND_Z]]))
    line = horizon[0, 1] if np.isfinite(horizon[0, 1]) else height / 2
    draw.rectangle([0, line, width, height], fill=(95, 100, 105))
    edges = [
        (0, 1),
        (1, 2),
        (2, 3),
        (3, 0),
        (4, 5),
        (5, 6),
        (6, 7),
        (7, 4),
        (0, 4),
        (1, 5),
        (2, 6),
        (3, 7),
    ]
    for car in cars_at(frame):
        pixels = project(pose, intrinsics, model, _corners(car))
        if not np.isfinite(pixels).all():
            continue
        colour = (200, 60, 50) if car.track == "moving" else (60, 90, 180)
        draw.polygon(_hull([tuple(p) for p in pixels]), fill=colour)
        for a, b in edges:
            draw.line([tuple(pixels[a]), tuple(pixels[b])], fill=(20, 20, 20), width=2)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def sensor_meta() -> list[dict[str, Any]]:
    """The job's sensor_meta: the lidar and the two cameras."""
    return [
        {"id": "lidar", "name": "Roof lidar", "modality": "lidar", "primary_view": True},
        {
            "id": "front",
            "name": "Front camera",
            "modality": "camera",
            "camera_model": "pinhole",
            "intrinsics": INTRINSICS,
        },
        {
            "id": "rear",
            "name": "Rear camera (fisheye)",
            "modality": "camera",
            "camera_model": "fisheye",
            "intrinsics": FISHEYE,
        },
    ]


def sensor_data(frames: int, url: Any) -> dict[str, Any]:
    """The job's ``sensor_data``; ``url(kind, frame)`` names each file (kind lidar/front/rear)."""
    return {
        "sensor_meta": sensor_meta(),
        "frames": [
            {
                "frame_id": f"{i:03d}",
                "sensors": [
                    {"sensor_id": "lidar", "data_url": url("lidar", i)},
                    {"sensor_id": "front", "data_url": url("front", i), "sensor_pose": FRONT},
                    {"sensor_id": "rear", "data_url": url("rear", i), "sensor_pose": REAR},
                ],
            }
            for i in range(frames)
        ],
    }


DEMO_FRAMES = 6
DEMO_POINTS = 60_000


def demo_files(frames: int = DEMO_FRAMES) -> dict[str, bytes]:
    """The demo job's files by name: ``lidar-NNN.pcd`` (binary PCD of x y z intensity) and
    ``front-NNN.png`` / ``rear-NNN.png`` camera images."""
    files: dict[str, bytes] = {}
    for i in range(frames):
        points = lidar_points(i, points=DEMO_POINTS)
        header = (
            "# .PCD v0.7 - labelyard demo street\nVERSION 0.7\nFIELDS x y z intensity\n"
            "SIZE 4 4 4 4\nTYPE F F F F\nCOUNT 1 1 1 1\n"
            f"WIDTH {len(points)}\nHEIGHT 1\nVIEWPOINT 0 0 0 1 0 0 0\nPOINTS {len(points)}\n"
            "DATA binary\n"
        ).encode()
        files[f"lidar-{i:03d}.pcd"] = header + points.astype("<f4").tobytes()
        files[f"front-{i:03d}.png"] = camera_image(i, FRONT, INTRINSICS, "pinhole")
        files[f"rear-{i:03d}.png"] = camera_image(i, REAR, FISHEYE, "fisheye")
    return files
