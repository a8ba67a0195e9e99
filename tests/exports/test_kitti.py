"""KITTI 3D object labels: the lidar-to-camera conventions, checked by mapping a label back
through its calib file."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from labelyard.exports.kitti import VELO_TO_CAM, calib_text, frames_of, kitti_line, wrap_angle


def geometry(x: float, y: float, z: float, yaw: float) -> dict[str, Any]:
    return {
        "position": {"x": x, "y": y, "z": z},
        "dimensions": {"x": 4.0, "y": 2.0, "z": 1.5},
        "rotation": {"roll": 0.0, "pitch": 0.0, "yaw": yaw},
    }


def test_a_car_ahead_and_to_the_left_becomes_a_camera_frame_label() -> None:
    line = kitti_line("passenger car", geometry(10.0, 2.0, -0.75, 0.0))
    fields = line.split()
    assert fields[:8] == ["passenger_car", "0.00", "0", "-10", "0.00", "0.00", "0.00", "0.00"]
    height, width, length, x, y, z, rotation_y = map(float, fields[8:])
    assert (height, width, length) == (1.5, 2.0, 4.0)
    # 2 m to the left is x = -2 in the camera; the bottom face (z = -1.5 up) is y = 1.5 down.
    assert (x, y, z) == (-2.0, 1.5, 10.0)
    assert rotation_y == pytest.approx(-math.pi / 2, abs=1e-4)  # heading along the camera's z


@pytest.mark.parametrize("yaw", [0.0, 0.7, -2.5, math.pi])
def test_labels_map_back_to_the_lidar_box_through_the_calib_file(yaw: float) -> None:
    centre = np.array([12.5, -3.0, 0.2])
    fields = kitti_line("car", geometry(*centre, yaw)).split()
    height = float(fields[8])
    bottom_cam = np.array([float(v) for v in fields[11:14]])
    calib = dict(line.split(": ", 1) for line in calib_text({}).strip().splitlines())
    velo_to_cam = np.array([float(v) for v in calib["Tr_velo_to_cam"].split()]).reshape(3, 4)
    assert tuple(velo_to_cam.ravel()) == VELO_TO_CAM
    bottom_lidar = velo_to_cam[:, :3].T @ bottom_cam  # a rotation: its inverse is its transpose
    np.testing.assert_allclose(bottom_lidar + np.array([0, 0, height / 2]), centre, atol=1e-4)
    # The heading vector, turned into the camera frame, has KITTI's rotation_y.
    heading_cam = velo_to_cam[:, :3] @ np.array([math.cos(yaw), math.sin(yaw), 0.0])
    rotation_y = float(fields[14])
    assert math.atan2(-heading_cam[2], heading_cam[0]) == pytest.approx(rotation_y, abs=1e-4)


def test_calib_takes_the_first_camera_intrinsics() -> None:
    data = {
        "sensor_data": {
            "sensor_meta": [
                {"id": "lidar", "modality": "lidar"},
                {
                    "id": "cam",
                    "modality": "camera",
                    "intrinsics": {"fx": 700, "fy": 710, "cx": 640, "cy": 360},
                },
            ],
            "frames": [
                {
                    "frame_id": "a",
                    "sensors": [{"sensor_id": "lidar", "data_url": "https://x/a.pcd"}],
                },
                {
                    "frame_id": "b",
                    "sensors": [{"sensor_id": "lidar", "data_url": "https://x/b.pcd"}],
                },
            ],
        }
    }
    assert "P2: 700.0 0 640.0 0 0 710.0 360.0 0 0 0 1 0" in calib_text(data)
    assert frames_of(data) == [("a", "https://x/a.pcd"), ("b", "https://x/b.pcd")]


def test_wrap_angle_stays_within_pi() -> None:
    assert wrap_angle(3 * math.pi / 2) == pytest.approx(-math.pi / 2)
    assert wrap_angle(-3 * math.pi / 2) == pytest.approx(math.pi / 2)
    assert wrap_angle(0.5) == pytest.approx(0.5)
