"""A zip file written entry by entry, whose memory does not grow with its number of entries.

``zipfile`` keeps an object per entry until it writes the central directory at the end (about
500 bytes each: 100 MB for 200,000 entries). Here each entry's central directory record is
appended to a temporary file as the entry is written, and copied after the last one. ZIP64
records are written when the archive needs them (65,535+ entries, or 4 GiB+ of data).
"""

from __future__ import annotations

import shutil
import struct
import tempfile
import zlib
from datetime import datetime
from pathlib import Path
from typing import IO

_LOCAL = struct.Struct("<IHHHHHIIIHH")
_CENTRAL = struct.Struct("<IHHHHHHIIIHHHHHII")
_END = struct.Struct("<IHHHHIIH")
_END64 = struct.Struct("<IQHHIIQQQQ")
_LOCATOR64 = struct.Struct("<IIQI")
_EXTRA64 = struct.Struct("<HHQ")
_UTF8 = 0x0800
_DEFLATED = 8
_STORED = 0
_VERSION = 20
_VERSION64 = 45
_MADE_BY = (3 << 8) | _VERSION64  # Unix
_FILE_MODE = 0o100644 << 16
_MAX16 = 0xFFFF
_MAX32 = 0xFFFFFFFF
_COPY_BUFFER = 1024 * 1024


def _dos_time(moment: datetime) -> tuple[int, int]:
    time = (moment.hour << 11) | (moment.minute << 5) | (moment.second // 2)
    date = ((max(moment.year, 1980) - 1980) << 9) | (moment.month << 5) | moment.day
    return time, date


class ZipWriter:
    """Adds entries to a new zip file at ``path``; ``close()`` finishes it."""

    def __init__(self, path: Path, *, modified: datetime, level: int = 6) -> None:
        # Both files live as long as the writer; close() or discard() closes them.
        self._out: IO[bytes] = path.open("wb", buffering=_COPY_BUFFER)
        # The directory spool lives next to the archive, not in /tmp (often a RAM disk).
        self._directory: IO[bytes] = tempfile.TemporaryFile(dir=path.parent)  # noqa: SIM115
        self._time, self._date = _dos_time(modified)
        self._level = level
        self._offset = 0
        self._count = 0
        self._directory_size = 0

    def add(self, name: str, data: bytes) -> None:
        """Add a file ``name`` holding ``data`` (compressed when that makes it smaller)."""
        # A small window and state: entries here are small, and a full-size compressor's set-up
        # would cost more than compressing them (inflaters accept any window up to 32 KiB).
        packer = zlib.compressobj(self._level, zlib.DEFLATED, -12, 4)
        packed = packer.compress(data) + packer.flush()
        method = _DEFLATED
        if len(packed) >= len(data):
            packed, method = data, _STORED
        self._add(name, packed, method, zlib.crc32(data), len(data))

    def add_file(self, name: str, source: IO[bytes]) -> None:
        """Add a file ``name`` with the rest of ``source``, streamed (its header patched after)."""
        encoded = name.encode()
        start = self._offset
        self._out.write(self._local_header(encoded, _DEFLATED, 0, 0, 0))
        packer = zlib.compressobj(self._level, zlib.DEFLATED, -15)
        crc = size = packed_size = 0
        while chunk := source.read(_COPY_BUFFER):
            crc = zlib.crc32(chunk, crc)
            size += len(chunk)
            packed = packer.compress(chunk)
            packed_size += len(packed)
            self._out.write(packed)
        packed = packer.flush()
        packed_size += len(packed)
        self._out.write(packed)
        if size > _MAX32 or packed_size > _MAX32:
            raise ValueError(f"{name}: entries of 4 GiB or more are not supported")
        end = self._out.tell()
        self._out.seek(start)
        self._out.write(self._local_header(encoded, _DEFLATED, crc, packed_size, size))
        self._out.seek(end)
        self._offset = end
        self._record(encoded, _DEFLATED, crc, packed_size, size, start)

    def _local_header(self, name: bytes, method: int, crc: int, packed: int, size: int) -> bytes:
        header = _LOCAL.pack(
            0x04034B50,
            _VERSION,
            _UTF8,
            method,
            self._time,
            self._date,
            crc,
            packed,
            size,
            len(name),
            0,
        )
        return header + name

    def _add(self, name: str, packed: bytes, method: int, crc: int, size: int) -> None:
        encoded = name.encode()
        start = self._offset
        header = self._local_header(encoded, method, crc, len(packed), size)
        self._out.write(header)
        self._out.write(packed)
        self._offset += len(header) + len(packed)
        self._record(encoded, method, crc, len(packed), size, start)

    def _record(self, name: bytes, method: int, crc: int, packed: int, size: int, at: int) -> None:
        extra = b""
        version = _VERSION
        if at >= _MAX32:
            extra, version, at = _EXTRA64.pack(0x0001, 8, at), _VERSION64, _MAX32
        record = _CENTRAL.pack(
            0x02014B50,
            _MADE_BY,
            version,
            _UTF8,
            method,
            self._time,
            self._date,
            crc,
            packed,
            size,
            len(name),
            len(extra),
            0,
            0,
            0,
            _FILE_MODE,
            at,
        )
        self._directory.write(record + name + extra)
        self._directory_size += len(record) + len(name) + len(extra)
        self._count += 1

    def close(self) -> None:
        """Write the central directory and the end records; close the file."""
        try:
            start = self._offset
            self._directory.seek(0)
            shutil.copyfileobj(self._directory, self._out, _COPY_BUFFER)
            size = self._directory_size
            end = start + size
            if self._count >= _MAX16 or start >= _MAX32 or size >= _MAX32:
                self._out.write(
                    _END64.pack(
                        0x06064B50,
                        44,
                        _MADE_BY,
                        _VERSION64,
                        0,
                        0,
                        self._count,
                        self._count,
                        size,
                        start,
                    )
                )
                self._out.write(_LOCATOR64.pack(0x07064B50, 0, end, 1))
            count = min(self._count, _MAX16)
            self._out.write(
                _END.pack(0x06054B50, 0, 0, count, count, min(size, _MAX32), min(start, _MAX32), 0)
            )
        finally:
            self.discard()

    def discard(self) -> None:
        """Close the files without finishing the archive."""
        self._directory.close()
        self._out.close()
