"""LZF (liblzf) decompression, as PCD's ``binary_compressed`` encoding uses it.

An LZF stream is a sequence of tokens. A control byte below 32 starts a literal run of
``ctrl + 1`` bytes; any other control byte is a back reference: length ``(ctrl >> 5) + 2``
(``7`` in the top bits takes one more length byte), distance ``((ctrl & 31) << 8) + next + 1``
back into the output written so far. A back reference may overlap the bytes it produces (a
distance shorter than its length repeats a pattern).

The loop works token by token with slice copies, so its cost follows the number of tokens, not
the number of bytes; a run of literal tokens of 32 bytes moves 16 MB in well under a second.
"""

from __future__ import annotations


class LzfError(ValueError):
    """The stream is not valid LZF, or does not decompress to the announced size."""


def decompress(data: bytes | bytearray | memoryview, size: int) -> bytes:
    """Decompress an LZF stream that must produce exactly ``size`` bytes."""
    src = memoryview(data).cast("B") if isinstance(data, memoryview) else memoryview(data)
    end = len(src)
    out = bytearray(size)
    ip = 0
    op = 0
    try:
        while ip < end:
            ctrl = src[ip]
            ip += 1
            if ctrl < 32:
                length = ctrl + 1
                stop = op + length
                if ip + length > end or stop > size:
                    raise LzfError(f"literal run at input byte {ip - 1} runs past the end")
                out[op:stop] = src[ip : ip + length]
                ip += length
                op = stop
                continue
            length = ctrl >> 5
            if length == 7:
                length += src[ip]
                ip += 1
            ref = op - ((ctrl & 31) << 8) - src[ip] - 1
            ip += 1
            length += 2
            stop = op + length
            if ref < 0:
                raise LzfError(f"back reference at input byte {ip} points before the start")
            if stop > size:
                raise LzfError("back reference writes past the announced size")
            if ref + length <= op:
                out[op:stop] = out[ref : ref + length]
            else:
                pattern = bytes(out[ref:op])
                out[op:stop] = (pattern * (length // len(pattern) + 1))[:length]
            op = stop
    except IndexError:
        raise LzfError("the stream ends inside a token") from None
    if op != size:
        raise LzfError(f"the stream decompresses to {op} bytes, {size} were announced")
    return bytes(out)


def compress_literal(data: bytes) -> bytes:
    """Encode ``data`` as literal runs only: valid LZF that any decoder reads (for tests)."""
    parts = bytearray()
    for start in range(0, len(data), 32):
        chunk = data[start : start + 32]
        parts.append(len(chunk) - 1)
        parts += chunk
    return bytes(parts)


def compress(data: bytes) -> bytes:
    """Compress with back references, the way liblzf does (a 3-byte hash, 8 KiB window).

    Written for tests and the benchmark: it makes real streams with overlapping references;
    it is a plain Python loop, so it is slow on large inputs.
    """
    out = bytearray()
    literal = bytearray()
    table: dict[bytes, int] = {}
    n = len(data)
    i = 0

    def flush() -> None:
        for start in range(0, len(literal), 32):
            chunk = literal[start : start + 32]
            out.append(len(chunk) - 1)
            out.extend(chunk)
        literal.clear()

    while i < n:
        key = data[i : i + 3]
        ref = table.get(key) if len(key) == 3 else None
        if len(key) == 3:
            table[key] = i
        if ref is not None and 0 < i - ref <= 8192:
            length = 3
            limit = min(264, n - i)
            while length < limit and data[ref + length] == data[i + length]:
                length += 1
            flush()
            distance = i - ref - 1
            code = length - 2
            if code < 7:
                out.append((code << 5) | (distance >> 8))
            else:
                out.append((7 << 5) | (distance >> 8))
                out.append(code - 7)
            out.append(distance & 0xFF)
            i += length
            continue
        literal.append(data[i])
        i += 1
    flush()
    return bytes(out)
