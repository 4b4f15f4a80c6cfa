"""QR codes for lots: the URL they carry, and PNG, SVG and printable-label renderings.

A lot's QR code encodes the URL of its public page with a short prefix of the lot's head hash at
printing time: ``{base}/p/{lot}?h={16 hex}``. A page that shows a different history (a forged
label, or a server showing another log) is then visible to the person scanning: the page says
whether ``h`` is an entry of the lot's chain, the current head, or neither. Error correction is
level H (about 30% of the symbol can be lost), for dusty, creased and torn bag labels.

The symbol comes from ``qrcode``; the PNG (1-bit greyscale, written with ``zlib``) and the SVG
are drawn here so that neither needs an imaging library. No database, no web framework.
"""

from __future__ import annotations

import struct
import zlib
from urllib.parse import quote
from xml.sax.saxutils import escape

import qrcode
import qrcode.constants

HEAD_PREFIX_HEX = 16  # 64 bits: enough that no forger can aim a different history at it
QUIET_ZONE = 4  # modules of white around the symbol, as ISO/IEC 18004 requires


def page_url(base_url: str, lot_id: str, head: bytes) -> str:
    """The public page URL a lot's label carries."""
    return f"{base_url.rstrip('/')}/p/{quote(lot_id, safe='')}?h={head.hex()[:HEAD_PREFIX_HEX]}"


def matrix(text: str) -> list[list[bool]]:
    """The QR symbol of ``text`` at error correction level H, without the quiet zone."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_H, border=0)
    code.add_data(text)
    code.make(fit=True)
    return [[bool(cell) for cell in row] for row in code.get_matrix()]


def png(text: str, *, scale: int = 8) -> bytes:
    """A 1-bit greyscale PNG of the symbol, ``scale`` pixels a module, with its quiet zone."""
    modules = _with_quiet_zone(matrix(text))
    side = len(modules) * scale
    rows = bytearray()
    for row in modules:
        bits = "".join(("0" if dark else "1") * scale for dark in row)  # 0 is black
        bits += "0" * (-len(bits) % 8)
        line = b"\x00" + int(bits, 2).to_bytes(len(bits) // 8, "big")  # filter type 0
        rows += line * scale
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(bytes(rows), 9))
        + _chunk(b"IEND", b"")
    )


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def _with_quiet_zone(modules: list[list[bool]]) -> list[list[bool]]:
    width = len(modules) + 2 * QUIET_ZONE
    blank = [[False] * width for _ in range(QUIET_ZONE)]
    padded = [[False] * QUIET_ZONE + row + [False] * QUIET_ZONE for row in modules]
    return blank + padded + [list(row) for row in blank]


def svg_path(modules: list[list[bool]], offset: int = QUIET_ZONE) -> str:
    """One SVG path of the dark modules, a rectangle per horizontal run."""
    parts = []
    for y, row in enumerate(modules):
        x = 0
        while x < len(row):
            if not row[x]:
                x += 1
                continue
            start = x
            while x < len(row) and row[x]:
                x += 1
            parts.append(f"M{start + offset} {y + offset}h{x - start}v1h-{x - start}z")
    return "".join(parts)


def svg(text: str) -> str:
    """The symbol as a standalone SVG (module units, quiet zone included)."""
    modules = matrix(text)
    side = len(modules) + 2 * QUIET_ZONE
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {side} {side}" '
        f'width="{side * 4}" height="{side * 4}" shape-rendering="crispEdges">'
        f'<rect width="{side}" height="{side}" fill="#fff"/>'
        f'<path fill="#000" d="{svg_path(modules)}"/></svg>\n'
    )


def label_svg(url: str, lot_id: str, mineral: str, form: str, mass_g: int) -> str:
    """A printable label, 60 x 80 mm: the QR code, the lot id, the mineral and mass in text."""
    modules = matrix(url)
    side = len(modules) + 2 * QUIET_ZONE
    scale = 56 / side  # the symbol is 56 mm wide, with 2 mm margins
    lines = [
        (68, 5.2, "bold", lot_id),
        (74, 4.0, "normal", f"{mineral} {form}, {_mass(mass_g)}"),
        (78, 2.4, "normal", f"history {url.rsplit('h=', 1)[-1]}"),
    ]
    text = "".join(
        f'<text x="30" y="{y}" font-size="{size}" font-weight="{weight}" '
        f'text-anchor="middle" font-family="monospace">{escape(value)}</text>'
        for y, size, weight, value in lines
    )
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="60mm" height="80mm" '
        'viewBox="0 0 60 80">'
        '<rect width="60" height="80" fill="#fff"/>'
        f'<g transform="translate(2 2) scale({scale:.5f})" shape-rendering="crispEdges">'
        f'<path fill="#000" d="{svg_path(modules)}"/></g>{text}</svg>\n'
    )


def _mass(mass_g: int) -> str:
    if mass_g >= 1000:
        return f"{mass_g / 1000:,.1f} kg"
    return f"{mass_g} g"
