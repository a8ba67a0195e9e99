"""Annotations in lidar space (API.md 3.7): 3D cuboids and point segmentation.

A ``cuboid3d`` tracker's frame geometry: ``position {x, y, z}`` (the box centre),
``dimensions {x, y, z}`` (length along the heading, width, height; all > 0), ``rotation {roll,
pitch, yaw}`` (radians), optional ``points_inside`` (int >= 0) and ``keyframe`` (bool); metres,
in the frame the job's poses are given in. The tracker may carry ``_isStationary`` (bool).

A ``points`` tracker labels points of a frame's lidar file: ``{"indices": [int, ...],
"sensor_id"?}``, indices into the file's points in its order (NaN points included), each point
in at most one tracker. The result writes one ``label_key`` per point (0: unlabelled).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from labelyard.core.pointcloud import MAX_POINTS
from labelyard.errors import InvalidInput

PointKey = tuple[str, str]  # (frame_id, sensor_id)


def _fail(where: str, message: str) -> InvalidInput:
    return InvalidInput(f"{where}: {message}")


def _number(value: object, where: str) -> float:
    if type(value) not in (int, float) or not math.isfinite(value):  # type: ignore[arg-type]
        raise _fail(where, "must be a finite number")
    return float(value)  # type: ignore[arg-type]


def _vector(value: object, where: str, axes: tuple[str, ...]) -> dict[str, float]:
    if not isinstance(value, dict):
        raise _fail(where, f"must be an object with {', '.join(axes)}")
    return {axis: _number(value.get(axis), f"{where}.{axis}") for axis in axes}


def check_cuboid3d(geometry: dict[str, Any], where: str) -> None:
    """Raise ``InvalidInput`` naming the offending value of a cuboid3d frame geometry."""
    _vector(geometry.get("position"), f"{where}.position", ("x", "y", "z"))
    dimensions = _vector(geometry.get("dimensions"), f"{where}.dimensions", ("x", "y", "z"))
    for axis, size in dimensions.items():
        if size <= 0:
            raise _fail(f"{where}.dimensions.{axis}", "must be greater than 0")
    _vector(geometry.get("rotation"), f"{where}.rotation", ("roll", "pitch", "yaw"))
    inside = geometry.get("points_inside")
    if inside is not None and (type(inside) is not int or inside < 0):
        raise _fail(f"{where}.points_inside", "must be a whole number >= 0")
    keyframe = geometry.get("keyframe")
    if keyframe is not None and not isinstance(keyframe, bool):
        raise _fail(f"{where}.keyframe", "must be true or false")


def check_stationary(tracker: dict[str, Any], where: str) -> None:
    """``_isStationary``, when present, is a boolean."""
    value = tracker.get("_isStationary")
    if value is not None and not isinstance(value, bool):
        raise _fail(f"{where}._isStationary", "must be true or false")


@dataclass
class PointLabels:
    """Which points the ``points`` trackers of a job have labelled so far, per lidar file."""

    counts: Mapping[PointKey, int] | None
    lidar_of_frame: Mapping[str, str]
    taken: dict[PointKey, npt.NDArray[np.bool_]] = field(default_factory=dict)

    def check(self, geometry: dict[str, Any], where: str, frame_id: str) -> None:
        """Validate a ``points`` geometry; each point may belong to one tracker only."""
        sensor = geometry.get("sensor_id", self.lidar_of_frame.get(frame_id))
        if not isinstance(sensor, str) or sensor not in set(self.lidar_of_frame.values()):
            raise _fail(f"{where}.sensor_id", "must name a lidar sensor of this job")
        raw = geometry.get("indices")
        if not isinstance(raw, list) or not raw:
            raise _fail(f"{where}.indices", "must be a non-empty list of point indices")
        for position, value in enumerate(raw):
            if type(value) is not int:
                raise _fail(f"{where}.indices[{position}]", "must be a whole number")
        indices = np.asarray(raw, dtype=np.int64)
        key = (frame_id, sensor)
        count = self.counts.get(key) if self.counts is not None else None
        if self.counts is not None and count is None:
            raise _fail(
                where,
                f"the lidar file of frame {frame_id!r} ({sensor}) is not converted yet; "
                "its points cannot be labelled",
            )
        low, high = int(indices.min()), int(indices.max())
        limit = count if count is not None else MAX_POINTS
        if low < 0 or high >= limit:
            bad = low if low < 0 else high
            position = raw.index(bad)
            raise _fail(
                f"{where}.indices[{position}]",
                f"{bad} is not a point of the file ({limit} points)"
                if count is not None
                else f"{bad} is out of range",
            )
        size = limit if count is not None else high + 1
        taken = self.taken.get(key)
        if taken is None or taken.size < size:
            grown = np.zeros(size, dtype=bool)
            if taken is not None:
                grown[: taken.size] = taken
            taken = grown
        unique = np.unique(indices)
        if unique.size != indices.size:
            raise _fail(f"{where}.indices", "lists a point twice")
        clash = taken[indices]
        if clash.any():
            position = int(np.flatnonzero(clash)[0])
            raise _fail(
                f"{where}.indices[{position}]",
                f"point {int(indices[position])} is already labelled by another tracker",
            )
        taken[indices] = True
        self.taken[key] = taken


def label_array(
    annotations: list[dict[str, Any]], *, frame_id: str, sensor_id: str, count: int
) -> tuple[npt.NDArray[np.uint32], list[dict[str, Any]]]:
    """One ``label_key`` per point of a lidar file (0: unlabelled) and the legend, from the
    (validated) ``points`` trackers of that file; label keys count from 1 in tracker order."""
    labels = np.zeros(count, dtype=np.uint32)
    legend: list[dict[str, Any]] = []
    for tracker in annotations:
        if tracker.get("type") != "points":
            continue
        geometry = tracker.get("frames", {}).get(frame_id)
        if not isinstance(geometry, dict) or geometry.get("sensor_id", sensor_id) != sensor_id:
            continue
        key = len(legend) + 1
        labels[np.asarray(geometry["indices"], dtype=np.int64)] = key
        legend.append(
            {
                "id": tracker["_id"],
                "text": tracker["label"],
                "color": label_color(str(tracker["label"])),
                "label_key": key,
                "value": key,
            }
        )
    return labels, legend


def label_color(label: str) -> str:
    """A stable colour for a class name (the same in the editor and the legend)."""
    digest = 0
    for char in label:
        digest = (digest * 31 + ord(char)) & 0xFFFFFF
    hue = (digest % 360) / 360.0
    r, g, b = (_channel(hue, shift) for shift in (0.0, 1 / 3, 2 / 3))
    return f"#{r:02x}{g:02x}{b:02x}"


def _channel(hue: float, shift: float) -> int:
    value = abs(((hue + shift) % 1.0) * 6 - 3) - 1
    return math.floor(255 * (0.25 + 0.65 * min(max(value, 0.0), 1.0)) + 0.5)
