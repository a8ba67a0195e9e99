"""Label Studio's brush RLE, decoded; the masks are made here and encoded by an encoder of this
test's own (written from the format's description, sharing nothing with the decoder)."""

from __future__ import annotations

import pytest

from labelyard.importers import brush


class BitWriter:
    """Bits, most significant first, into bytes (the last byte padded with zeros)."""

    def __init__(self) -> None:
        self.bits: list[str] = []

    def write(self, value: int, size: int) -> None:
        assert 0 <= value < 2**size
        self.bits.append(format(value, f"0{size}b"))

    def to_list(self) -> list[int]:
        text = "".join(self.bits)
        text += "0" * (-len(text) % 8)
        return [int(text[i : i + 8], 2) for i in range(0, len(text), 8)]


SIZES = (3, 6, 10, 16)  # bits of a run length, by class (Label Studio's encoder picks its own)


def encode(values: list[int], *, literal_below: int = 3) -> list[int]:
    """The rle-pack encoding of ``values`` (bytes): runs of ``literal_below`` or more equal
    values are repeats, the rest literal groups."""
    out = BitWriter()
    out.write(len(values), 32)
    out.write(8 - 1, 5)
    for size in SIZES:
        out.write(size - 1, 4)

    def header(repeat: bool, length: int) -> None:
        cls = next(c for c, size in enumerate(SIZES) if length - 1 < 2**size)
        out.write(int(repeat), 1)
        out.write(cls, 2)
        out.write(length - 1, SIZES[cls])

    limit = 2 ** SIZES[-1]
    literal: list[int] = []

    def flush() -> None:
        while literal:
            chunk = literal[:limit]
            del literal[:limit]
            header(False, len(chunk))
            for v in chunk:
                out.write(v, 8)

    i = 0
    while i < len(values):
        j = i
        while j < len(values) and values[j] == values[i] and j - i < limit:
            j += 1
        if j - i >= literal_below:
            flush()
            header(True, j - i)
            out.write(values[i], 8)
        else:
            literal.extend(values[i:j])
        i = j
    flush()
    return out.to_list()


def rgba(mask: list[list[int]], colour: tuple[int, int, int]) -> list[int]:
    """A Label Studio brush layer: ``colour`` with alpha 255 where ``mask`` is 1, else 0s."""
    flat: list[int] = []
    for row in mask:
        for on in row:
            flat.extend([*colour, 255] if on else [0, 0, 0, 0])
    return flat


def disc(width: int, height: int, cx: float, cy: float, r: float) -> list[list[int]]:
    return [
        [1 if (x - cx) ** 2 + (y - cy) ** 2 <= r * r else 0 for x in range(width)]
        for y in range(height)
    ]


@pytest.mark.parametrize("literal_below", [1, 3, 10**9])
def test_a_hand_built_mask_decodes_to_its_pixels(literal_below: int) -> None:
    mask = disc(37, 23, 12.5, 9.0, 7.5)
    mask[0][36] = mask[22][0] = 1  # lone pixels at the corners
    values = rgba(mask, (255, 0, 0))
    assert list(brush.decode(encode(values, literal_below=literal_below))) == values
    image = brush.stencil(encode(values), 37, 23)
    assert image.size == (37, 23)
    assert [[image.getpixel((x, y)) // 255 for x in range(37)] for y in range(23)] == mask


def test_long_runs_use_the_wider_length_classes() -> None:
    values = [0] * 70_000 + [255] * 5 + [0] * 3
    assert list(brush.decode(encode(values))) == values


@pytest.mark.parametrize(
    ("rle", "message"),
    [
        ([0, 0, 0, 4], "ends before"),
        ([0, 0, 0, 4, 0b11111000, 0, 0, 0, 0, 0, 0], "word size of 32"),
        ([1, 2, 3, 300], "byte values"),
    ],
)
def test_broken_rles_are_refused_with_a_reason(rle: list[int], message: str) -> None:
    with pytest.raises(brush.BrushError, match=message):
        brush.decode(rle)


def test_a_mask_of_another_size_is_refused() -> None:
    values = rgba(disc(4, 4, 2, 2, 1), (0, 255, 0))
    with pytest.raises(brush.BrushError, match="5x4 RGBA mask has 80"):
        brush.stencil(encode(values), 5, 4)
