"""QR codes for lots: the URL they carry, and PNG, SVG and printable-label renderings.

A lot's QR code encodes the URL of its public page with a short prefix of the lot's head hash at
printing time: ``{base}/p/{lot}?h={16 hex}``. A page that shows a different history (a forged
label, or a server showing another log) is then visible to the person scanning: the page says
whether ``h`` is an entry of the lot's chain, the current head, or neither. Error correction is
level H (about 30% of the symbol can be lost), for dusty, creased and torn bag labels.

Everything is drawn by ``qrcode`` itself: the PNG through its ``pypng`` image factory (pure
Python, no imaging library) and the SVG through its single-path factory, whose path the label
re-uses beside its text. No database, no web framework.
"""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from urllib.parse import quote
from xml.sax.saxutils import escape

import qrcode
import qrcode.constants
from qrcode.image.pure import PyPNGImage
from qrcode.image.svg import SvgPathFillImage, SvgPathImage

HEAD_PREFIX_HEX = 16  # 64 bits: enough that no forger can aim a different history at it
QUIET_ZONE = 4  # modules of white around the symbol, as ISO/IEC 18004 requires


def page_url(base_url: str, lot_id: str, head: bytes) -> str:
    """The public page URL a lot's label carries."""
    return f"{base_url.rstrip('/')}/p/{quote(lot_id, safe='')}?h={head.hex()[:HEAD_PREFIX_HEX]}"


def _code(text: str) -> qrcode.QRCode:
    """The symbol of ``text`` at error correction level H, with the standard quiet zone."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_H, border=QUIET_ZONE)
    code.add_data(text)
    code.make(fit=True)
    return code


def png(text: str, *, scale: int = 8) -> bytes:
    """A 1-bit PNG of the symbol, ``scale`` pixels a module, quiet zone included."""
    code = _code(text)
    code.box_size = scale
    out = io.BytesIO()
    code.make_image(image_factory=PyPNGImage).save(out)
    return out.getvalue()


def _svg_image(text: str, factory: type[SvgPathImage] = SvgPathImage) -> SvgPathImage:
    # box_size 10 makes one module one SVG unit (the factory's units are box_size / 10 mm)
    code = _code(text)
    code.box_size = 10
    image: SvgPathImage = code.make_image(image_factory=factory)
    return image


def svg(text: str) -> str:
    """The symbol as a standalone SVG document on white, quiet zone included."""
    document: str = _svg_image(text, SvgPathFillImage).to_string(encoding="unicode")
    return document + "\n"


def label_svg(url: str, lot_id: str, mineral: str, form: str, mass_g: int) -> str:
    """A printable label, 60 x 80 mm: the QR code, the lot id, the mineral and mass in text."""
    image = _svg_image(url)
    side = image.width + 2 * image.border  # modules, quiet zone included
    scale = 56 / side  # the symbol is 56 mm wide, with 2 mm margins
    assert image.path is not None, "the single-path factory draws its path when made"
    path = ET.tostring(image.path, encoding="unicode").replace("svg:", "")
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
        f"{path}</g>{text}</svg>\n"
    )


def _mass(mass_g: int) -> str:
    if mass_g >= 1000:
        return f"{mass_g / 1000:,.1f} kg"
    return f"{mass_g} g"
