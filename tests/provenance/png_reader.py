"""A minimal PNG reader for the test of the QR codes: the 1-bit greyscale PNGs the ledger writes.

Kept apart from ``ledger.qr`` (and written from the PNG specification) so that the test reads
the image independently of the code that wrote it; the QR symbol is then decoded by zxing-cpp.
"""

from __future__ import annotations

import struct
import zlib


def read_grey(data: bytes) -> tuple[int, int, bytes]:
    """(width, height, one byte per pixel: 0 black, 255 white) of a 1-bit greyscale PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    at, chunks = 8, {}
    idat = b""
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        kind, body = data[at + 4 : at + 8], data[at + 8 : at + 8 + length]
        (crc,) = struct.unpack(">I", data[at + 8 + length : at + 12 + length])
        assert zlib.crc32(kind + body) & 0xFFFFFFFF == crc, f"bad CRC in {kind!r}"
        if kind == b"IDAT":
            idat += body
        chunks[kind] = body
        at += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", chunks[b"IHDR"])
    assert (depth, colour, interlace) == (1, 0, 0), "only 1-bit greyscale, not interlaced"
    raw = zlib.decompress(idat)
    stride = (width + 7) // 8
    pixels = bytearray()
    for y in range(height):
        row = raw[y * (stride + 1) : (y + 1) * (stride + 1)]
        assert row[0] == 0, "only filter type 0"
        bits = int.from_bytes(row[1:], "big")
        total = stride * 8
        pixels += bytes(255 if bits >> (total - 1 - x) & 1 else 0 for x in range(width))
    return width, height, bytes(pixels)
