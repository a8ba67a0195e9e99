"""File names for the jobs of an export: the reference id made safe, unique in the archive.

A name is the reference id with anything but ``A-Z a-z 0-9 . _ -`` replaced by ``_``. When
that name was already given in this export (compared case-insensitively, for macOS and
Windows), the job id is appended. Names given so far are remembered in a Bloom filter of fixed
size, so memory stays flat however many jobs there are; its rare false positives only make a
name longer, never a duplicate.
"""

from __future__ import annotations

import hashlib
import re
import struct

SAFE = re.compile(r"[^A-Za-z0-9._-]+")
MAX_STEM = 120
FILTER_BITS = 1 << 25  # 4 MiB; about 1 false positive in 6,000 names at 1,000,000 names
HASHES = 4
_WORDS = struct.Struct(f"<{HASHES}I")  # the digest as HASHES little-endian 32-bit words
_HASH = hashlib.blake2b(digest_size=4 * HASHES)  # copied for each name: cheaper than a new one
# Device names Windows will not create files under, whatever the extension.
RESERVED = frozenset(
    ["CON", "PRN", "AUX", "NUL"] + [f"{d}{i}" for d in ("COM", "LPT") for i in range(1, 10)]
)


class FileNames:
    """Hands out a unique, file-system-safe name per job."""

    def __init__(self, bits: int = FILTER_BITS) -> None:
        self._size = bits
        self._bits = bytearray((bits + 7) // 8)

    def _add(self, name: str) -> bool:
        """Remember ``name``; False if it (or a name sharing its bits) was given already."""
        hash_ = _HASH.copy()
        hash_.update(name.casefold().encode())
        bits, size, new = self._bits, self._size, False
        for word in _WORDS.unpack(hash_.digest()):
            p = word % size
            byte, mask = p >> 3, 1 << (p & 7)
            held = bits[byte]
            if not held & mask:
                bits[byte] = held | mask
                new = True
        return new

    def name(self, reference_id: str, job_id: str) -> str:
        """A new name for the job (without extension)."""
        if (
            # The usual reference id is already safe as it is (the regex would change nothing):
            # ASCII letters and digits, and ``.``, ``_`` or ``-`` (replaced by a letter here for
            # the test only), not too long, no dot to strip at either end.
            reference_id.isascii()
            and reference_id.replace("-", "a").replace("_", "a").replace(".", "a").isalnum()
            and len(reference_id) <= MAX_STEM
            and reference_id[0] != "."
            and reference_id[-1] != "."
        ):
            stem = reference_id
        else:
            stem = SAFE.sub("_", reference_id)[:MAX_STEM].strip(".") or "job"
        # Reserved names are 3 or 4 characters before the first dot: most stems are not.
        head = stem.partition(".")[0]
        if len(head) > 4 or head.upper() not in RESERVED:
            if self._add(stem):  # the usual case: the reference id's own name is free
                return stem
            first = 1
        else:
            first = 0
        for attempt in range(first, 999):  # (the same names, in the same order, as before)
            candidate = f"{stem}_{job_id}" if attempt <= 1 else f"{stem}_{job_id}_{attempt}"
            if self._add(candidate):
                return candidate
        raise RuntimeError("no free file name")  # unreachable unless the filter is full
