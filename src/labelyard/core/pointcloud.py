"""Point clouds: PCD and KITTI ``.bin`` in, one compact layout for the browser out.

Readers take the file's bytes and return a :class:`PointCloud` (float32 xyz, uint8 intensity);
anything wrong raises :class:`labelyard.errors.InvalidPointCloud` saying what. Rules:

- PCD: ``DATA ascii``, ``binary`` (row-major records) and ``binary_compressed`` (LZF, then
  column-major fields); fields ``x y z`` required, anywhere in FIELDS, any SIZE/TYPE/COUNT;
  ``intensity`` (or ``i``, ``reflectance``) and ``rgb``/``rgba`` optional, extra fields ignored.
- KITTI ``.bin``: float32 records of x, y, z, intensity.
- Points whose x, y or z is NaN or infinite (the "no return" entries of organised clouds) are
  dropped from the view; the layout keeps each shown point's index in the file so results (point
  segmentation) are written in the input's point order, one label per input point.
- Intensity becomes 0..255: values within 0..1 are multiplied by 255, values within 0..255 are
  kept, larger ranges are divided by their maximum; negatives are 0. Without intensity, an
  ``rgb`` field gives its luma; without either, intensity is 0.

The browser layout (:func:`browser_layout`, read back by :func:`read_layout`), little-endian::

    0   4s  magic b"LYPC"
    4   u32 version (1)
    8   u32 count            points shown
    12  u32 source_count     points in the file
    16  u32 overview_count   points in the overview level (0: no overview)
    20  u32 flags            1: index present, 2: intensity from rgb, 4: file had intensity
    24  f32 min x, y, z;  36  f32 max x, y, z
    48  overview: f32 xyz[overview_count*3], u8 intensity[overview_count], pad to 4
        full:     f32 xyz[count*3],          u8 intensity[count],          pad to 4
        index:    u32 source_index[count]    (only with flag 1)

Clouds over :data:`OVERVIEW_THRESHOLD` points carry an overview of at most
:data:`OVERVIEW_POINTS` evenly strided points first, so a viewer can draw it before the rest.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from labelyard.core import lzf
from labelyard.errors import InvalidPointCloud

MAGIC = b"LYPC"
LAYOUT_VERSION = 1
HEADER = struct.Struct("<4sIIIII3f3f")
OVERVIEW_THRESHOLD = 500_000
OVERVIEW_POINTS = 250_000
MAX_POINTS = 20_000_000
MAX_HEADER_BYTES = 4096

FLAG_INDEX = 1
FLAG_RGB_INTENSITY = 2
FLAG_INTENSITY = 4

INTENSITY_NAMES = ("intensity", "i", "reflectance")
RGB_NAMES = ("rgb", "rgba")
ENCODINGS = ("ascii", "binary", "binary_compressed")
_TYPES = {
    ("F", 4): "<f4",
    ("F", 8): "<f8",
    ("I", 1): "<i1",
    ("I", 2): "<i2",
    ("I", 4): "<i4",
    ("I", 8): "<i8",
    ("U", 1): "<u1",
    ("U", 2): "<u2",
    ("U", 4): "<u4",
    ("U", 8): "<u8",
}

Floats = npt.NDArray[np.float32]
Bytes = npt.NDArray[np.uint8]
Indices = npt.NDArray[np.uint32]


@dataclass(frozen=True)
class PointCloud:
    """Finite points of one cloud, with each point's index in the source file."""

    xyz: Floats  # (count, 3) float32
    intensity: Bytes  # (count,) uint8
    source_count: int
    source_index: Indices | None  # None when every point of the file is kept, in order
    has_intensity: bool = False
    intensity_from_rgb: bool = False

    @property
    def count(self) -> int:
        """Number of points shown."""
        return int(self.xyz.shape[0])


@dataclass(frozen=True)
class PcdField:
    """One FIELDS entry of a PCD header."""

    name: str
    size: int
    type: str
    count: int

    @property
    def dtype(self) -> np.dtype[np.generic]:
        """The numpy type of one value."""
        return np.dtype(_TYPES[(self.type, self.size)])


@dataclass(frozen=True)
class PcdHeader:
    """The parsed header of a PCD file; ``offset`` is where its data starts."""

    fields: tuple[PcdField, ...]
    points: int
    encoding: str
    offset: int

    def field(self, *names: str) -> PcdField | None:
        """The first field called by one of ``names`` (case-insensitive)."""
        for name in names:
            for field in self.fields:
                if field.name.lower() == name:
                    return field
        return None


def parse_point_cloud(data: bytes, *, name: str = "") -> PointCloud:
    """Read a PCD or KITTI ``.bin`` file, told apart by the name's suffix or the PCD header."""
    lowered = name.lower().split("?", 1)[0]
    if lowered.endswith(".bin"):
        return parse_kitti_bin(data)
    if lowered.endswith(".pcd") or _looks_like_pcd(data):
        return parse_pcd(data)
    raise InvalidPointCloud(
        "unknown point cloud format: expected a PCD file or a KITTI .bin (float32 x y z i)"
    )


def parse_kitti_bin(data: bytes) -> PointCloud:
    """Read a KITTI velodyne ``.bin``: float32 x, y, z, intensity per point."""
    if len(data) == 0:
        raise InvalidPointCloud("the .bin file is empty")
    if len(data) % 16:
        raise InvalidPointCloud(
            f"truncated .bin: {len(data)} bytes is not a whole number of 16-byte points"
        )
    if len(data) // 16 > MAX_POINTS:
        raise InvalidPointCloud(f"more than {MAX_POINTS} points")
    records = np.frombuffer(data, dtype="<f4").reshape(-1, 4)
    return _finish(records[:, :3], records[:, 3], None)


def parse_pcd(data: bytes) -> PointCloud:
    """Read a PCD file in any of its three encodings."""
    header = parse_pcd_header(data)
    body = memoryview(data)[header.offset :]
    if header.encoding == "ascii":
        columns = _ascii_columns(header, bytes(body))
    elif header.encoding == "binary":
        columns = _binary_columns(header, body)
    else:
        columns = _compressed_columns(header, body)
    xyz = np.stack([_first(columns["x"]), _first(columns["y"]), _first(columns["z"])], axis=1)
    intensity_field = header.field(*INTENSITY_NAMES)
    rgb_field = header.field(*RGB_NAMES)
    intensity = _first(columns[intensity_field.name]) if intensity_field else None
    rgb = None
    if intensity is None and rgb_field is not None:
        rgb = _packed_rgb(_first(columns[rgb_field.name]), rgb_field)
    return _finish(xyz, intensity, rgb)


def parse_pcd_header(data: bytes) -> PcdHeader:
    """Parse the text header up to and including its DATA line."""
    entries: dict[str, list[str]] = {}
    position = 0
    encoding = ""
    while True:
        newline = data.find(b"\n", position)
        if newline < 0 or newline > MAX_HEADER_BYTES:
            raise InvalidPointCloud("not a PCD file: no DATA line in the header")
        raw = data[position:newline]
        position = newline + 1
        try:
            line = raw.decode("ascii").strip()
        except UnicodeDecodeError:
            raise InvalidPointCloud("not a PCD file: the header is not text") from None
        if not line or line.startswith("#"):
            continue
        key, *values = line.split()
        key = key.upper()
        if key == "DATA":
            encoding = values[0].lower() if values else ""
            break
        entries[key] = values
    if encoding not in ENCODINGS:
        raise InvalidPointCloud(
            f"unknown PCD encoding {encoding!r}: expected ascii, binary or binary_compressed"
        )
    names = entries.get("FIELDS")
    if not names:
        raise InvalidPointCloud("PCD header has no FIELDS line")
    sizes = _numbers(entries, "SIZE", len(names))
    types = entries.get("TYPE")
    if types is None or len(types) != len(names):
        raise InvalidPointCloud(f"PCD header: TYPE must list {len(names)} types, one a field")
    counts = _numbers(entries, "COUNT", len(names), default=1)
    fields = []
    for name, size, kind, count in zip(names, sizes, types, counts, strict=True):
        if (kind.upper(), size) not in _TYPES:
            raise InvalidPointCloud(f"PCD field {name!r}: unknown TYPE {kind} with SIZE {size}")
        if count < 1:
            raise InvalidPointCloud(f"PCD field {name!r}: COUNT must be at least 1")
        fields.append(PcdField(name=name, size=size, type=kind.upper(), count=count))
    lowered = [field.name.lower() for field in fields]
    for axis in ("x", "y", "z"):
        if axis not in lowered:
            raise InvalidPointCloud(f"PCD header: FIELDS has no {axis!r}")
    width = _single(entries, "WIDTH")
    height = _single(entries, "HEIGHT", default=1)
    points = _single(entries, "POINTS", default=width * height)
    if points != width * height:
        raise InvalidPointCloud(f"PCD header: POINTS {points} is not WIDTH x HEIGHT")
    if points > MAX_POINTS:
        raise InvalidPointCloud(f"PCD header: {points} points, more than {MAX_POINTS}")
    if points == 0:
        raise InvalidPointCloud("the point cloud has no points")
    return PcdHeader(fields=tuple(fields), points=points, encoding=encoding, offset=position)


def browser_layout(cloud: PointCloud) -> bytes:
    """Encode a cloud in the browser layout described in this module's docstring."""
    flags = 0
    if cloud.source_index is not None:
        flags |= FLAG_INDEX
    if cloud.intensity_from_rgb:
        flags |= FLAG_RGB_INTENSITY
    if cloud.has_intensity:
        flags |= FLAG_INTENSITY
    overview_xyz, overview_intensity = _overview(cloud)
    low = cloud.xyz.min(axis=0)
    high = cloud.xyz.max(axis=0)
    header = HEADER.pack(
        MAGIC,
        LAYOUT_VERSION,
        cloud.count,
        cloud.source_count,
        overview_xyz.shape[0],
        flags,
        *(float(v) for v in low),
        *(float(v) for v in high),
    )
    parts = [header]
    for xyz, intensity in ((overview_xyz, overview_intensity), (cloud.xyz, cloud.intensity)):
        parts.append(np.ascontiguousarray(xyz, dtype="<f4").tobytes())
        parts.append(intensity.tobytes())
        parts.append(b"\0" * (-len(intensity) % 4))
    if cloud.source_index is not None:
        parts.append(cloud.source_index.astype("<u4").tobytes())
    return b"".join(parts)


@dataclass(frozen=True)
class Layout:
    """A browser layout read back: the full level, the overview and the source index."""

    xyz: Floats
    intensity: Bytes
    source_count: int
    source_index: Indices | None
    overview_xyz: Floats
    overview_intensity: Bytes
    flags: int
    low: tuple[float, float, float]
    high: tuple[float, float, float]

    @property
    def count(self) -> int:
        """Number of points shown."""
        return int(self.xyz.shape[0])


def read_layout(data: bytes) -> Layout:
    """Read a browser layout written by :func:`browser_layout`."""
    if len(data) < HEADER.size:
        raise InvalidPointCloud("not a point cloud layout: too short")
    magic, version, count, source_count, overview, flags, *bounds = HEADER.unpack_from(data)
    if magic != MAGIC or version != LAYOUT_VERSION:
        raise InvalidPointCloud("not a point cloud layout of this version")
    offset = HEADER.size
    levels = []
    for n in (overview, count):
        xyz = np.frombuffer(data, dtype="<f4", count=n * 3, offset=offset).reshape(n, 3)
        offset += n * 12
        intensity = np.frombuffer(data, dtype=np.uint8, count=n, offset=offset)
        offset += n + (-n % 4)
        levels.append((xyz, intensity))
    index = None
    if flags & FLAG_INDEX:
        index = np.frombuffer(data, dtype="<u4", count=count, offset=offset)
    (ov_xyz, ov_intensity), (xyz, intensity) = levels
    return Layout(
        xyz=xyz,
        intensity=intensity,
        source_count=source_count,
        source_index=index,
        overview_xyz=ov_xyz,
        overview_intensity=ov_intensity,
        flags=flags,
        low=(bounds[0], bounds[1], bounds[2]),
        high=(bounds[3], bounds[4], bounds[5]),
    )


def encode_pcd_labels(xyz: npt.NDArray[np.float32], labels: npt.NDArray[np.uint32]) -> bytes:
    """A binary PCD of ``x y z label_key``, one row a point, for point-segmentation results."""
    count = int(xyz.shape[0])
    header = (
        "# .PCD v0.7 - Point Cloud Data file format\n"
        "VERSION 0.7\nFIELDS x y z label_key\nSIZE 4 4 4 4\nTYPE F F F U\nCOUNT 1 1 1 1\n"
        f"WIDTH {count}\nHEIGHT 1\nVIEWPOINT 0 0 0 1 0 0 0\nPOINTS {count}\nDATA binary\n"
    ).encode("ascii")
    records = np.zeros(count, dtype=[("x", "<f4"), ("y", "<f4"), ("z", "<f4"), ("l", "<u4")])
    records["x"], records["y"], records["z"] = xyz[:, 0], xyz[:, 1], xyz[:, 2]
    records["l"] = labels
    return header + records.tobytes()


# -- helpers ---------------------------------------------------------------------------------


def _looks_like_pcd(data: bytes) -> bool:
    start = data[:64].lstrip()
    return start.startswith((b"#", b"VERSION", b"FIELDS"))


def _numbers(
    entries: dict[str, list[str]], key: str, length: int, default: int | None = None
) -> list[int]:
    values = entries.get(key)
    if values is None:
        if default is None:
            raise InvalidPointCloud(f"PCD header has no {key} line")
        return [default] * length
    if len(values) != length:
        raise InvalidPointCloud(f"PCD header: {key} must list {length} numbers, one a field")
    try:
        return [int(value) for value in values]
    except ValueError:
        raise InvalidPointCloud(f"PCD header: {key} must list whole numbers") from None


def _single(entries: dict[str, list[str]], key: str, default: int | None = None) -> int:
    values = entries.get(key)
    if not values:
        if default is None:
            raise InvalidPointCloud(f"PCD header has no {key} line")
        return default
    try:
        number = int(values[0])
    except ValueError:
        raise InvalidPointCloud(f"PCD header: {key} must be a whole number") from None
    if number < 0:
        raise InvalidPointCloud(f"PCD header: {key} must not be negative")
    return number


def _record_dtype(header: PcdHeader) -> np.dtype[np.void]:
    # Field names may repeat (PCL pads with several "_" fields), so columns are named by position.
    return np.dtype(
        [
            (f"f{i}", field.dtype, (field.count,)) if field.count > 1 else (f"f{i}", field.dtype)
            for i, field in enumerate(header.fields)
        ]
    )


def _named(header: PcdHeader, columns: list[np.ndarray]) -> dict[str, np.ndarray]:
    named: dict[str, np.ndarray] = {}
    for field, column in zip(header.fields, columns, strict=True):
        named.setdefault(field.name, column)
        named.setdefault(field.name.lower(), column)
    return named


def _ascii_columns(header: PcdHeader, body: bytes) -> dict[str, np.ndarray]:
    per_point = sum(field.count for field in header.fields)
    try:
        values = np.array(body.split(), dtype=np.float64)
    except ValueError:
        raise InvalidPointCloud("PCD ascii data holds something that is not a number") from None
    expected = header.points * per_point
    if values.size < expected:
        raise InvalidPointCloud(
            f"truncated PCD: {header.points} points of {per_point} values need {expected} "
            f"values, the file has {values.size}"
        )
    if values.size > expected:
        raise InvalidPointCloud(
            f"PCD ascii data has {values.size} values, {expected} expected "
            f"({header.points} points of {per_point})"
        )
    table = values.reshape(header.points, per_point)
    columns = []
    start = 0
    for field in header.fields:
        column = table[:, start : start + field.count]
        if field.type == "F":
            column = column.astype(field.dtype)
        columns.append(column[:, 0] if field.count == 1 else column)
        start += field.count
    return _named(header, columns)


def _binary_columns(header: PcdHeader, body: memoryview) -> dict[str, np.ndarray]:
    dtype = _record_dtype(header)
    expected = header.points * dtype.itemsize
    if len(body) < expected:
        raise InvalidPointCloud(
            f"truncated PCD: {header.points} points of {dtype.itemsize} bytes need {expected} "
            f"bytes of data, the file has {len(body)}"
        )
    records = np.frombuffer(body, dtype=dtype, count=header.points)
    return _named(header, [records[f"f{i}"] for i in range(len(header.fields))])


def _compressed_columns(header: PcdHeader, body: memoryview) -> dict[str, np.ndarray]:
    if len(body) < 8:
        raise InvalidPointCloud("truncated PCD: binary_compressed data has no size words")
    compressed, raw = struct.unpack_from("<II", body)
    expected = sum(f.size * f.count for f in header.fields) * header.points
    if raw != expected:
        raise InvalidPointCloud(
            f"PCD binary_compressed: the data announces {raw} bytes, the header's fields and "
            f"points make {expected}"
        )
    if len(body) - 8 < compressed:
        raise InvalidPointCloud(
            f"truncated PCD: {compressed} bytes of compressed data announced, "
            f"the file has {len(body) - 8}"
        )
    try:
        data = lzf.decompress(body[8 : 8 + compressed], raw)
    except lzf.LzfError as error:
        raise InvalidPointCloud(f"PCD binary_compressed data is corrupt: {error}") from None
    columns = []
    offset = 0
    for field in header.fields:
        count = header.points * field.count
        column = np.frombuffer(data, dtype=field.dtype, count=count, offset=offset)
        columns.append(column if field.count == 1 else column.reshape(header.points, field.count))
        offset += count * field.size
    return _named(header, columns)


def _first(column: np.ndarray) -> np.ndarray:
    return column if column.ndim == 1 else column[:, 0]


def _packed_rgb(column: np.ndarray, field: PcdField) -> Floats:
    if field.type == "F" and field.size == 4:
        packed = column.astype("<f4").view("<u4")
    else:
        packed = column.astype(np.uint64).astype("<u4")
    r = (packed >> 16) & 0xFF
    g = (packed >> 8) & 0xFF
    b = packed & 0xFF
    luma: Floats = (0.299 * r + 0.587 * g + 0.114 * b).astype(np.float32)
    return luma


def _scale_intensity(values: np.ndarray) -> Bytes:
    if values.size == 0:
        return np.zeros(0, dtype=np.uint8)
    clean = np.nan_to_num(values.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    clean = np.clip(clean, 0.0, None)
    top = float(clean.max())
    if top <= 1.0:
        clean = clean * 255.0
    elif top > 255.0:
        clean = clean * (255.0 / top)
    return np.rint(clean).astype(np.uint8)


def _finish(xyz: np.ndarray, intensity: np.ndarray | None, rgb: Floats | None) -> PointCloud:
    source_count = int(xyz.shape[0])
    xyz = xyz.astype(np.float32, copy=False)
    finite = np.isfinite(xyz).all(axis=1)
    kept = int(finite.sum())
    if kept == 0:
        raise InvalidPointCloud("the point cloud has no point with finite x, y and z")
    index: Indices | None = None
    if kept < source_count:
        index = np.flatnonzero(finite).astype(np.uint32)
        xyz = xyz[finite]
        if intensity is not None:
            intensity = intensity[finite]
        if rgb is not None:
            rgb = rgb[finite]
    if intensity is not None:
        scaled = _scale_intensity(intensity)
    elif rgb is not None:
        scaled = np.rint(np.clip(rgb, 0, 255)).astype(np.uint8)
    else:
        scaled = np.zeros(kept, dtype=np.uint8)
    return PointCloud(
        xyz=np.ascontiguousarray(xyz),
        intensity=scaled,
        source_count=source_count,
        source_index=index,
        has_intensity=intensity is not None,
        intensity_from_rgb=intensity is None and rgb is not None,
    )


def _overview(cloud: PointCloud) -> tuple[Floats, Bytes]:
    if cloud.count <= OVERVIEW_THRESHOLD:
        return np.zeros((0, 3), dtype=np.float32), np.zeros(0, dtype=np.uint8)
    stride = -(-cloud.count // OVERVIEW_POINTS)
    return cloud.xyz[::stride], cloud.intensity[::stride]


@dataclass(frozen=True)
class LidarFile:
    """One lidar file of a job: where it is in the job's data and its URL."""

    position: int
    frame_id: str
    sensor_id: str
    field: str
    url: str


def lidar_files(base: str, data: dict[str, Any]) -> list[LidarFile]:
    """The lidar files of a SENSOR_FUSION or POINT_CLOUD_SEGMENTATION job's (valid) data, in
    frame order, then sensor order; ``[]`` for other bases."""
    sensor_data = data.get("sensor_data") if isinstance(data, dict) else None
    if base not in ("SENSOR_FUSION", "POINT_CLOUD_SEGMENTATION") or not isinstance(
        sensor_data, dict
    ):
        return []
    lidars = {
        m.get("id")
        for m in sensor_data.get("sensor_meta", [])
        if isinstance(m, dict) and m.get("modality") == "lidar"
    }
    if base == "SENSOR_FUSION":
        frames = [
            (str(f.get("frame_id")), f"sensor_data.frames[{i}]", f.get("sensors", []))
            for i, f in enumerate(sensor_data.get("frames", []))
        ]
    else:
        frames = [("0", "sensor_data", sensor_data.get("sensors", []))]
    found: list[LidarFile] = []
    for frame_id, where, sensors in frames:
        for j, sensor in enumerate(sensors):
            if not isinstance(sensor, dict) or sensor.get("sensor_id") not in lidars:
                continue
            url = sensor.get("data_url")
            if isinstance(url, str):
                found.append(
                    LidarFile(
                        position=len(found),
                        frame_id=frame_id,
                        sensor_id=str(sensor["sensor_id"]),
                        field=f"{where}.sensors[{j}].data_url",
                        url=url,
                    )
                )
    return found
