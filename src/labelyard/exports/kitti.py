"""KITTI 3D object labels, as one zip, from the ``cuboid3d`` trackers of lidar jobs.

- ``label_2/NNNNNN.txt``: one file per frame of every exported job (numbered in export order,
  from 000000), one line per cuboid in that frame::

      type truncated occluded alpha left top right bottom height width length x y z rotation_y

  ``type`` is the class name (spaces become ``_``); ``truncated`` 0, ``occluded`` 0, ``alpha``
  -10 and the 2D box ``0 0 0 0`` (labelyard does not project boxes for the export: unknown, as
  KITTI's own "DontCare" conventions allow); ``height width length`` are ``dimensions.z y x``.
- Coordinates: KITTI labels are in the camera frame (x right, y down, z forward) and ``x y z``
  is the centre of the box's bottom face. labelyard's cuboids are in the lidar/world frame (x
  forward, y left, z up, the box centre), so ``x_cam = -y``, ``y_cam = -(z - height / 2)``,
  ``z_cam = x`` and ``rotation_y = -yaw - pi/2`` (wrapped to [-pi, pi]). Roll and pitch are
  dropped (KITTI has yaw only).
- ``calib/NNNNNN.txt``: the matching calibration: ``Tr_velo_to_cam`` the axis change above,
  ``R0_rect`` identity, ``P0``..``P3`` the first camera's ``fx fy cx cy`` when the job has one
  (else identity), so KITTI tools map labels back to the lidar frame exactly.
- ``frames.csv``: each label file's job id, reference id, frame id and lidar URL.
"""

from __future__ import annotations

import csv
import io
import math
from datetime import datetime
from pathlib import Path
from typing import Any

from labelyard.exports.archive import ZipWriter
from labelyard.exports.writer import ExportJob, Spool

# lidar (x forward, y left, z up) -> camera (x right, y down, z forward), no translation
VELO_TO_CAM = (0.0, -1.0, 0.0, 0.0, 0.0, 0.0, -1.0, 0.0, 1.0, 0.0, 0.0, 0.0)


def wrap_angle(angle: float) -> float:
    """``angle`` in [-pi, pi]."""
    wrapped = math.fmod(angle + math.pi, 2 * math.pi)
    if wrapped < 0:
        wrapped += 2 * math.pi
    return wrapped - math.pi


def kitti_line(label: str, geometry: dict[str, Any]) -> str:
    """One KITTI label line for a cuboid3d frame geometry (lidar frame in, camera frame out)."""
    position, size = geometry["position"], geometry["dimensions"]
    x, y, z = float(position["x"]), float(position["y"]), float(position["z"])
    length, width, height = float(size["x"]), float(size["y"]), float(size["z"])
    yaw = float(geometry["rotation"]["yaw"])
    kind = "_".join(label.split()) or "DontCare"
    cam = (-y, -(z - height / 2), x)
    rotation_y = wrap_angle(-yaw - math.pi / 2)
    return (
        f"{kind} 0.00 0 -10 0.00 0.00 0.00 0.00 "
        f"{height:.4f} {width:.4f} {length:.4f} "
        f"{cam[0]:.4f} {cam[1]:.4f} {cam[2]:.4f} {rotation_y:.4f}\n"
    )


def calib_text(data: dict[str, Any]) -> str:
    """A KITTI calib file: the lidar-to-camera axis change and the first camera's intrinsics."""
    fx = fy = 1.0
    cx = cy = 0.0
    meta = data.get("sensor_data", {}).get("sensor_meta", []) if isinstance(data, dict) else []
    for sensor in meta:
        intrinsics = sensor.get("intrinsics") if isinstance(sensor, dict) else None
        if sensor.get("modality") == "camera" and isinstance(intrinsics, dict):
            try:
                fx, fy = float(intrinsics["fx"]), float(intrinsics["fy"])
                cx, cy = float(intrinsics["cx"]), float(intrinsics["cy"])
            except (KeyError, TypeError, ValueError):
                continue
            break
    projection = f"{fx} 0 {cx} 0 0 {fy} {cy} 0 0 0 1 0"
    lines = [f"P{i}: {projection}" for i in range(4)]
    lines.append("R0_rect: 1 0 0 0 1 0 0 0 1")
    lines.append("Tr_velo_to_cam: " + " ".join(f"{v:g}" for v in VELO_TO_CAM))
    lines.append("Tr_imu_to_velo: 1 0 0 0 0 1 0 0 0 0 1 0")
    return "\n".join(lines) + "\n"


def frames_of(data: dict[str, Any]) -> list[tuple[str, str]]:
    """``(frame_id, lidar URL)`` of each frame of a lidar job, in order."""
    sensor_data = data.get("sensor_data", {}) if isinstance(data, dict) else {}
    lidars = {
        m.get("id") for m in sensor_data.get("sensor_meta", []) if m.get("modality") == "lidar"
    }

    def lidar_url(sensors: list[Any]) -> str:
        for sensor in sensors:
            if isinstance(sensor, dict) and sensor.get("sensor_id") in lidars:
                return str(sensor.get("data_url", ""))
        return ""

    if "frames" in sensor_data:
        return [
            (str(f.get("frame_id")), lidar_url(f.get("sensors", []))) for f in sensor_data["frames"]
        ]
    return [("0", lidar_url(sensor_data.get("sensors", [])))]


class KittiWriter:
    """Writes ``label_2`` and ``calib`` files per frame into a zip."""

    needs_sizes = False

    def __init__(self, path: Path, *, modified: datetime) -> None:
        self._zip = ZipWriter(path, modified=modified)
        self._index = Spool(path.parent)
        self._line = io.StringIO()
        self._csv = csv.writer(self._line, lineterminator="\n")
        self._row("file_name", "job_id", "reference_id", "frame_id", "lidar_url")
        self._next = 0

    def _row(self, *values: str) -> None:
        self._line.seek(0)
        self._line.truncate()
        self._csv.writerow(values)
        self._index.write(self._line.getvalue().encode())

    def write(self, job: ExportJob, size: object = None) -> None:
        """Add a label and a calib file for every frame of the job."""
        lines: dict[str, list[str]] = {}
        trackers = job.annotations if isinstance(job.annotations, list) else []
        for tracker in trackers:
            if not isinstance(tracker, dict) or tracker.get("type") != "cuboid3d":
                continue
            for frame_id, geometry in (tracker.get("frames") or {}).items():
                lines.setdefault(frame_id, []).append(
                    kitti_line(str(tracker.get("label", "")), geometry)
                )
        calib = calib_text(job.data).encode()
        for frame_id, url in frames_of(job.data):
            name = f"{self._next:06d}"
            self._next += 1
            self._zip.add(f"label_2/{name}.txt", "".join(lines.get(frame_id, [])).encode())
            self._zip.add(f"calib/{name}.txt", calib)
            self._row(f"{name}.txt", job.job_id, job.reference_id, frame_id, url)

    def close(self) -> None:
        """Add the frame index and finish the zip."""
        try:
            self._zip.add_file("frames.csv", self._index.rewound())
            self._zip.close()
        finally:
            self.discard()

    def discard(self) -> None:
        """Close the files."""
        self._index.close()
        self._zip.discard()
