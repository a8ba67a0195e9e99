"""Reading PCD (ascii, binary, binary_compressed) and KITTI .bin files written by numpy here."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from labelyard.core import lzf
from labelyard.core.pointcloud import (
    OVERVIEW_POINTS,
    browser_layout,
    encode_pcd_labels,
    parse_kitti_bin,
    parse_pcd,
    parse_point_cloud,
    read_layout,
)
from labelyard.errors import InvalidPointCloud
from tests.core.pcd import kitti_bytes, pcd_bytes


def _points(n: int, seed: int = 1) -> np.ndarray[Any, Any]:
    rng = np.random.default_rng(seed)
    return rng.uniform(-50, 50, size=(n, 3)).astype(np.float32)


@pytest.mark.parametrize("encoding", ["ascii", "binary", "binary_compressed"])
def test_each_encoding_reads_xyz_and_intensity_in_any_field_order(encoding: str) -> None:
    xyz = _points(300)
    intensity = np.linspace(0, 1, 300, dtype=np.float32)
    columns = {
        "intensity": intensity,
        "_": np.zeros(300, dtype=np.float32),
        "z": xyz[:, 2],
        "normal": np.ones((300, 3), dtype=np.float32),
        "x": xyz[:, 0],
        "ring": np.arange(300, dtype=np.uint16),
        "y": xyz[:, 1],
    }
    cloud = parse_pcd(pcd_bytes(columns, encoding))
    assert cloud.count == 300
    assert cloud.source_index is None
    np.testing.assert_array_equal(cloud.xyz, xyz)
    assert cloud.xyz.dtype == np.float32
    np.testing.assert_array_equal(cloud.intensity, np.rint(intensity * 255).astype(np.uint8))


def test_binary_compressed_with_back_references_reads_like_binary() -> None:
    xyz = _points(2000)
    xyz[::2, 2] = 0.0  # a flat ground gives the compressor long repeats
    columns = {"x": xyz[:, 0], "y": xyz[:, 1], "z": xyz[:, 2], "i": np.full(2000, 7, np.uint8)}
    data = pcd_bytes(columns, "binary_compressed", compressor="lzf")
    cloud = parse_pcd(data)
    np.testing.assert_array_equal(cloud.xyz, xyz)
    assert set(cloud.intensity.tolist()) == {7}


def test_a_million_point_binary_compressed_file_is_read_whole() -> None:
    n = 1_000_000
    xyz = _points(n, seed=2)
    intensity = np.arange(n, dtype=np.float32) % 1000
    columns = {"x": xyz[:, 0], "y": xyz[:, 1], "z": xyz[:, 2], "intensity": intensity}
    cloud = parse_point_cloud(pcd_bytes(columns, "binary_compressed"), name="scan.pcd")
    assert cloud.count == n
    np.testing.assert_array_equal(cloud.xyz, xyz)
    assert int(cloud.intensity.max()) == 255  # 0..999 is scaled by its maximum
    layout = read_layout(browser_layout(cloud))
    assert layout.count == n
    assert 0 < layout.overview_xyz.shape[0] <= OVERVIEW_POINTS
    np.testing.assert_array_equal(layout.overview_xyz, xyz[:: -(-n // OVERVIEW_POINTS)])


def test_float64_coordinates_and_integer_intensity() -> None:
    xyz = _points(50).astype(np.float64)
    columns = {
        "x": xyz[:, 0],
        "y": xyz[:, 1],
        "z": xyz[:, 2],
        "intensity": np.arange(50, dtype=np.uint16),
    }
    cloud = parse_pcd(pcd_bytes(columns, "binary"))
    np.testing.assert_allclose(cloud.xyz, xyz.astype(np.float32))
    assert cloud.intensity.tolist() == list(range(50))  # within 0..255: kept


@pytest.mark.parametrize("encoding", ["ascii", "binary"])
def test_rgb_becomes_intensity_when_there_is_none(encoding: str) -> None:
    xyz = _points(3)
    packed = np.array([0xFF0000, 0x00FF00, 0xFFFFFF], dtype=np.uint32)
    columns = {"x": xyz[:, 0], "y": xyz[:, 1], "z": xyz[:, 2], "rgb": packed.view(np.float32)}
    cloud = parse_pcd(pcd_bytes(columns, encoding))
    assert cloud.intensity.tolist() == [76, 150, 255]
    assert cloud.intensity_from_rgb


def test_kitti_bin_reads_four_floats_a_point() -> None:
    points = np.column_stack([_points(10), np.linspace(0, 1, 10)]).astype(np.float32)
    cloud = parse_point_cloud(kitti_bytes(points), name="https://x/000001.bin?sig=1")
    np.testing.assert_array_equal(cloud.xyz, points[:, :3])
    assert cloud.intensity[-1] == 255
    assert parse_kitti_bin(kitti_bytes(points)).count == 10


@pytest.mark.parametrize("encoding", ["ascii", "binary", "binary_compressed"])
def test_nan_points_are_dropped_and_their_file_positions_kept(encoding: str) -> None:
    xyz = _points(6)
    xyz[1, 0] = np.nan
    xyz[4, 2] = np.inf
    columns = {"x": xyz[:, 0], "y": xyz[:, 1], "z": xyz[:, 2]}
    cloud = parse_pcd(pcd_bytes(columns, encoding))
    assert cloud.count == 4
    assert cloud.source_count == 6
    assert cloud.source_index is not None
    assert cloud.source_index.tolist() == [0, 2, 3, 5]
    layout = read_layout(browser_layout(cloud))
    assert layout.source_index is not None
    assert layout.source_index.tolist() == [0, 2, 3, 5]
    np.testing.assert_array_equal(layout.xyz, xyz[[0, 2, 3, 5]])


def test_layout_of_a_small_cloud_has_no_overview_and_round_trips() -> None:
    xyz = _points(5)
    cloud = parse_pcd(pcd_bytes({"x": xyz[:, 0], "y": xyz[:, 1], "z": xyz[:, 2]}, "binary"))
    data = browser_layout(cloud)
    assert data[:4] == b"LYPC"
    layout = read_layout(data)
    assert layout.overview_xyz.shape == (0, 3)
    np.testing.assert_array_equal(layout.xyz, xyz)
    assert layout.low == pytest.approx(tuple(xyz.min(axis=0)))
    assert layout.high == pytest.approx(tuple(xyz.max(axis=0)))
    assert len(data) == 48 + 5 * 12 + 8


def test_label_pcd_is_readable_back() -> None:
    xyz = _points(4)
    data = encode_pcd_labels(xyz, np.array([0, 1, 2, 1], dtype=np.uint32))
    assert b"FIELDS x y z label_key" in data
    cloud = parse_pcd(data)
    np.testing.assert_array_equal(cloud.xyz, xyz)


GOOD = pcd_bytes(
    {"x": np.zeros(4, np.float32), "y": np.zeros(4, np.float32), "z": np.zeros(4, np.float32)},
    "binary",
)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"hello world\n", "no DATA line"),
        (GOOD.replace(b"FIELDS x y z", b"FIELDS x y w"), "no 'z'"),
        (GOOD.replace(b"DATA binary", b"DATA binary_lz4"), "unknown PCD encoding 'binary_lz4'"),
        (GOOD.replace(b"SIZE 4 4 4", b"SIZE 4 4"), "SIZE must list 3"),
        (GOOD.replace(b"TYPE F F F", b"TYPE F F Q"), "unknown TYPE Q"),
        (GOOD.replace(b"POINTS 4", b"POINTS 5"), "not WIDTH x HEIGHT"),
        (GOOD[:-5], "truncated PCD: 4 points of 12 bytes need 48 bytes of data, the file has 43"),
        (GOOD.replace(b"WIDTH 4", b"WIDTH 0").replace(b"POINTS 4", b"POINTS 0"), "no points"),
    ],
)
def test_bad_pcd_files_say_what_is_wrong(data: bytes, message: str) -> None:
    with pytest.raises(InvalidPointCloud, match=message.replace("(", r"\(")) as caught:
        parse_pcd(data)
    assert caught.value.code == "FS_0007"


def test_truncated_and_corrupt_compressed_data_are_refused() -> None:
    xyz = _points(100)
    data = pcd_bytes({"x": xyz[:, 0], "y": xyz[:, 1], "z": xyz[:, 2]}, "binary_compressed")
    with pytest.raises(InvalidPointCloud, match="truncated PCD"):
        parse_pcd(data[:-10])
    header_end = data.index(b"DATA binary_compressed\n") + len(b"DATA binary_compressed\n")
    corrupt = bytearray(data)
    corrupt[header_end + 8] = 0xE0  # a back reference before any output
    with pytest.raises(InvalidPointCloud, match="corrupt"):
        parse_pcd(bytes(corrupt))


def test_truncated_ascii_and_non_numbers_are_refused() -> None:
    xyz = _points(3)
    data = pcd_bytes({"x": xyz[:, 0], "y": xyz[:, 1], "z": xyz[:, 2]}, "ascii")
    with pytest.raises(InvalidPointCloud, match="need 9 values, the file has 8"):
        parse_pcd(data.rstrip().rsplit(b" ", 1)[0])
    with pytest.raises(InvalidPointCloud, match="not a number"):
        parse_pcd(data + b"abc\n")


def test_a_cloud_of_only_nan_points_is_refused() -> None:
    nan = np.full(3, np.nan, dtype=np.float32)
    with pytest.raises(InvalidPointCloud, match="no point with finite"):
        parse_pcd(pcd_bytes({"x": nan, "y": nan, "z": nan}, "binary"))


def test_bad_bin_and_unknown_formats_are_refused() -> None:
    with pytest.raises(InvalidPointCloud, match="not a whole number of 16-byte points"):
        parse_point_cloud(b"\0" * 20, name="a.bin")
    with pytest.raises(InvalidPointCloud, match="empty"):
        parse_point_cloud(b"", name="a.bin")
    with pytest.raises(InvalidPointCloud, match="unknown point cloud format"):
        parse_point_cloud(b"\x89PNG....", name="a.png")


def test_lzf_round_trips_overlapping_references() -> None:
    data = b"abcabcabcabcabcabcxyz" * 50 + bytes(range(256)) + b"\0" * 1000
    packed = lzf.compress(data)
    assert len(packed) < len(data) // 3
    assert lzf.decompress(packed, len(data)) == data
    assert lzf.decompress(lzf.compress_literal(data), len(data)) == data


def test_lzf_refuses_streams_that_do_not_fit_their_size() -> None:
    packed = lzf.compress(b"abcabcabcabc")
    with pytest.raises(lzf.LzfError, match="announced"):
        lzf.decompress(packed, 13)
    with pytest.raises(lzf.LzfError, match="past"):
        lzf.decompress(packed, 5)
    with pytest.raises(lzf.LzfError, match="ends inside"):
        lzf.decompress(b"\xe0", 10)
