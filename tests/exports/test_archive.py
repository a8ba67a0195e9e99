"""The streaming zip writer: readable by zipfile and unzip, ZIP64 past 65,535 entries."""

from __future__ import annotations

import io
import shutil
import subprocess
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from labelyard.exports.archive import ZipWriter

MODIFIED = datetime(2026, 11, 29, 12, 30, 10, tzinfo=UTC)


def test_entries_and_a_streamed_file_read_back_intact(tmp_path: Path) -> None:
    path = tmp_path / "a.zip"
    archive = ZipWriter(path, modified=MODIFIED)
    archive.add("labels/a.txt", b"0 0.5 0.5 0.2 0.2\n" * 50)  # deflated
    archive.add("labels/empty.txt", b"")
    archive.add("ünïcode/b.txt", b"x")  # stored: compression would not help
    big = b"name,url\n" + b"".join(f"n{i},https://x/{i}.jpg\n".encode() for i in range(50_000))
    archive.add_file("images.csv", io.BytesIO(big))
    archive.add("after.txt", b"still fine")
    archive.close()
    assert not list(tmp_path.glob("tmp*"))  # the directory spool is gone
    with zipfile.ZipFile(path) as read:
        assert read.testzip() is None
        names = read.namelist()
        assert names == [
            "labels/a.txt",
            "labels/empty.txt",
            "ünïcode/b.txt",
            "images.csv",
            "after.txt",
        ]
        assert read.read("labels/a.txt") == b"0 0.5 0.5 0.2 0.2\n" * 50
        assert read.read("labels/empty.txt") == b""
        assert read.read("images.csv") == big
        assert read.getinfo("images.csv").compress_type == zipfile.ZIP_DEFLATED
        assert read.getinfo("labels/a.txt").date_time == (2026, 11, 29, 12, 30, 10)


def test_more_than_65535_entries_get_zip64_end_records(tmp_path: Path) -> None:
    path = tmp_path / "many.zip"
    archive = ZipWriter(path, modified=MODIFIED)
    count = 70_000
    for i in range(count):
        archive.add(f"labels/{i}.txt", f"{i % 7} 0.5 0.5 0.1 0.1\n".encode())
    archive.close()
    with zipfile.ZipFile(path) as read:
        infos = read.infolist()
        assert len(infos) == count
        assert read.read("labels/69999.txt") == b"6 0.5 0.5 0.1 0.1\n"
    assert b"PK\x06\x06" in path.read_bytes()[-200:]  # the ZIP64 end of central directory
    if shutil.which("unzip") is None:
        pytest.skip("unzip is not installed")
    checked = subprocess.run(["unzip", "-tq", str(path)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
