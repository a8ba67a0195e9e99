"""Writers of PCD and KITTI .bin files for tests, made with numpy (not with labelyard's reader)."""

from __future__ import annotations

import struct
from typing import Any

import numpy as np

from labelyard.core import lzf


def pcd_bytes(
    columns: dict[str, np.ndarray[Any, Any]],
    encoding: str,
    *,
    compressor: str = "literal",
    header_extra: str = "",
) -> bytes:
    """A PCD file of ``columns`` (name -> array of shape (n,) or (n, count)) in ``encoding``."""
    names = list(columns)
    arrays = [np.asarray(columns[name]) for name in names]
    n = arrays[0].shape[0]
    sizes = [a.dtype.itemsize for a in arrays]
    types = [{"f": "F", "i": "I", "u": "U"}[a.dtype.kind] for a in arrays]
    counts = [1 if a.ndim == 1 else a.shape[1] for a in arrays]
    header = (
        "# .PCD v0.7 - Point Cloud Data file format\n"
        "VERSION 0.7\n"
        f"FIELDS {' '.join(names)}\n"
        f"SIZE {' '.join(map(str, sizes))}\n"
        f"TYPE {' '.join(types)}\n"
        f"COUNT {' '.join(map(str, counts))}\n"
        f"WIDTH {n}\nHEIGHT 1\nVIEWPOINT 0 0 0 1 0 0 0\nPOINTS {n}\n"
        f"{header_extra}DATA {encoding}\n"
    ).encode("ascii")
    if encoding == "ascii":
        rows = np.concatenate([a.reshape(n, -1).astype(np.float64) for a in arrays], axis=1)
        lines = [" ".join(repr(float(v)) for v in row) for row in rows]
        return header + ("\n".join(lines) + "\n").encode("ascii")
    if encoding == "binary":
        dtype = np.dtype(
            [
                (f"f{i}", a.dtype.newbyteorder("<"), (c,)) if c > 1 else (f"f{i}", a.dtype)
                for i, (a, c) in enumerate(zip(arrays, counts, strict=True))
            ]
        )
        records = np.zeros(n, dtype=dtype)
        for i, a in enumerate(arrays):
            records[f"f{i}"] = a
        return header + records.tobytes()
    raw = b"".join(
        np.ascontiguousarray(a).astype(a.dtype.newbyteorder("<")).tobytes() for a in arrays
    )
    packed = lzf.compress(raw) if compressor == "lzf" else lzf.compress_literal(raw)
    return header + struct.pack("<II", len(packed), len(raw)) + packed


def kitti_bytes(points: np.ndarray[Any, Any]) -> bytes:
    """A KITTI velodyne .bin of an (n, 4) array: x, y, z, intensity as float32."""
    return np.asarray(points, dtype="<f4").tobytes()
