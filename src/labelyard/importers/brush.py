"""Label Studio's brush masks: the bit-packed run-length encoding of its ``brushlabels``
results (``value.rle``, a list of byte values), as label-studio-converter's ``brush.py`` and
the thi.ng ``rle-pack`` format it follows define it.

The bytes are read as one bit stream, most significant bit first::

    num        32 bits   how many values follow (width * height * 4: RGBA, row by row)
    word size   5 bits   + 1: the bits of one value (8 for Label Studio's masks)
    run sizes  4 x 4 bits + 1 each: the bits of a run length, by its 2-bit size class
    then, until num values are out:
      repeat    1 bit    1: one value repeated, 0: literal values
      class     2 bits   which run size the length uses
      length    run size bits  + 1: how many values
      values    word size bits, once (repeat) or length times (literal)

The mask is the alpha channel of the decoded RGBA image: a pixel is painted when it is not 0.
"""

from __future__ import annotations

from collections.abc import Sequence

from PIL import Image

MAX_VALUES = 1 << 30
"""A mask larger than this (268 million pixels) is refused rather than decoded."""


class BrushError(ValueError):
    """The RLE is not a well-formed brush mask of the size its result states."""


class _Bits:
    """A most-significant-bit-first reader over bytes."""

    __slots__ = ("data", "limit", "position")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.limit = len(data) * 8
        self.position = 0

    def read(self, size: int) -> int:
        end = self.position + size
        if end > self.limit:
            raise BrushError("the RLE ends before its values do")
        first, last = self.position >> 3, (end + 7) >> 3
        chunk = int.from_bytes(self.data[first:last], "big")
        value = (chunk >> (last * 8 - end)) & ((1 << size) - 1)
        self.position = end
        return value


def decode(rle: Sequence[int]) -> bytes:
    """The values the RLE encodes (one byte each, for a word size up to 8 bits)."""
    if not all(type(b) is int and 0 <= b <= 255 for b in rle):
        raise BrushError("the RLE must be a list of byte values (0-255)")
    bits = _Bits(bytes(rle))
    count = bits.read(32)
    if count > MAX_VALUES:
        raise BrushError(f"the RLE claims {count} values, too many")
    word = bits.read(5) + 1
    if word > 8:
        raise BrushError(f"a word size of {word} bits is not a brush mask's")
    sizes = [bits.read(4) + 1 for _ in range(4)]
    out = bytearray(count)
    i = 0
    while i < count:
        repeat = bits.read(1)
        j = i + 1 + bits.read(sizes[bits.read(2)])
        if j > count:
            raise BrushError("a run goes past the end of the mask")
        if repeat:
            value = bits.read(word)
            if value:
                out[i:j] = bytes([value]) * (j - i)
        else:
            for k in range(i, j):
                out[k] = bits.read(word)
        i = j
    return bytes(out)


def stencil(rle: Sequence[int], width: int, height: int) -> Image.Image:
    """The brush mask as a mode ``L`` image: 255 where painted (alpha not 0), else 0."""
    values = decode(rle)
    if len(values) != width * height * 4:
        raise BrushError(
            f"the RLE holds {len(values)} values; a {width}x{height} RGBA mask has "
            f"{width * height * 4}"
        )
    alpha = Image.frombytes("RGBA", (width, height), values).getchannel("A")
    return alpha.point(lambda a: 255 if a else 0)
