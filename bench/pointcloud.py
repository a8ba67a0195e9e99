"""Point-cloud conversion: a 1M-point ``binary_compressed`` PCD to the browser layout.

The cloud is a synthetic 64-ring lidar sweep (ground rings and a far wall, intensity in
hundredths), LZF-compressed with back references by ``labelyard.core.lzf.compress`` (slow,
done once before timing), and a literal-only stream of the same data. The figure is the time of
``parse_point_cloud`` + ``browser_layout``, the work the worker does per cloud (the median of
three runs). From ``bench/run.py`` or on its own: ``python bench/pointcloud.py [--points N]``.
"""

from __future__ import annotations

import argparse
import statistics
import struct
import time
from typing import Any

import numpy as np

from labelyard.core import lzf
from labelyard.core.pointcloud import browser_layout, parse_point_cloud

TARGET_SECONDS = 1.0


def sweep(points: int, seed: int = 0) -> dict[str, np.ndarray[Any, Any]]:
    """Columns of a 64-ring sweep: x, y, z, intensity (float32)."""
    rng = np.random.default_rng(seed)
    rings = 64
    per_ring = points // rings
    azimuth = np.tile(np.linspace(0, 2 * np.pi, per_ring, endpoint=False), rings)
    elevation = np.repeat(np.linspace(-0.4, 0.05, rings), per_ring)
    reach = np.where(elevation < 0, 1.8 / np.maximum(-np.tan(elevation), 0.02), 60.0)
    reach = reach + rng.normal(0, 0.02, reach.size)
    return {
        "x": (reach * np.cos(azimuth)).astype(np.float32),
        "y": (reach * np.sin(azimuth)).astype(np.float32),
        "z": np.where(elevation < 0, -1.8, reach * np.tan(elevation)).astype(np.float32),
        "intensity": (rng.integers(0, 100, reach.size) / 100).astype(np.float32),
    }


def compressed_pcd(columns: dict[str, np.ndarray[Any, Any]], *, literal: bool) -> bytes:
    """A binary_compressed PCD of float32 columns."""
    n = next(iter(columns.values())).size
    names = " ".join(columns)
    header = (
        f"VERSION 0.7\nFIELDS {names}\nSIZE{' 4' * len(columns)}\nTYPE{' F' * len(columns)}\n"
        f"COUNT{' 1' * len(columns)}\nWIDTH {n}\nHEIGHT 1\nPOINTS {n}\nDATA binary_compressed\n"
    ).encode()
    raw = b"".join(column.tobytes() for column in columns.values())
    packed = lzf.compress_literal(raw) if literal else lzf.compress(raw)
    return header + struct.pack("<II", len(packed), len(raw)) + packed


def convert_seconds(data: bytes, runs: int = 3) -> float:
    """Median seconds of parse + layout."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        browser_layout(parse_point_cloud(data, name="sweep.pcd"))
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_pointcloud(points: int = 1_000_000) -> dict[str, float]:
    """Conversion seconds of a compressed (back references) and a literal-only PCD."""
    columns = sweep(points)
    figures: dict[str, float] = {"pointcloud_points": float(points)}
    for name, literal in (("lzf", False), ("literal", True)):
        data = compressed_pcd(columns, literal=literal)
        raw = sum(column.nbytes for column in columns.values())
        figures[f"pointcloud_{name}_ratio"] = len(data) / raw
        figures[f"pointcloud_{name}_convert_s"] = convert_seconds(data)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--points", type=int, default=1_000_000)
    args = parser.parse_args()
    figures = bench_pointcloud(args.points)
    for name, value in figures.items():
        print(f"{name:30} {value:>14,.3f}")
    for name in ("pointcloud_lzf_convert_s", "pointcloud_literal_convert_s"):
        verdict = "met" if figures[name] <= TARGET_SECONDS else "NOT met"
        print(f"{name:30} {figures[name]:>14,.3f}  target <= {TARGET_SECONDS} s: {verdict}")


if __name__ == "__main__":
    main()
