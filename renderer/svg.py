"""SVG builder: a `Scene` in, a self-contained SVG document (bytes) out.

Text is written as glyph outlines, one `<path>` per glyph run, so the SVG looks the same on a
machine with no fonts. Images are embedded as the PNG the resources stage produced. No user string
reaches the document: colours are re-serialised from parsed values, numbers go through `fmt`, ids
derive from item positions, and the only text is path data we generate, so the same scene always
gives the same bytes and nothing in a spec can inject markup.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable

from typing_extensions import assert_never

from .fonts import EMOJI_VIEWBOX, OBLIQUE_SLANT, library
from .geometry import Corners
from .imagefit import LoadedImage
from .model import Color
from .numfmt import fmt
from .scene import EmojiItem, GlyphRunItem, Group, ImageItem, Item, Rect, Ring, Scene
from .text.outline import glyph_path

__all__ = ["build_svg"]

_Pixels = Callable[[ImageItem], LoadedImage]

_SVG_ROOT = re.compile(r"^\s*<svg[^>]*>(.*)</svg>\s*$", re.S)
_ID = re.compile(r'(\bid="|url\(#)([^")]+)')


def _fill(color: Color) -> str:
    if color.a == 255:
        return f'fill="{color.hex6}"'
    return f'fill="{color.hex6}" fill-opacity="{fmt(color.a / 255, 4)}"'


def _rect(r: Rect) -> str:
    if not r.corners.square:  # arcs: CairoSVG draws `<rect rx>` corners ~0.8 px inside the circle
        path = _rounded_path(r.x, r.y, r.width, r.height, r.corners)
        return f'<path {_fill(r.color)} d="{path}"/>'
    return (
        f'<rect x="{fmt(r.x)}" y="{fmt(r.y)}" width="{fmt(r.width)}" '
        f'height="{fmt(r.height)}" {_fill(r.color)}/>'
    )


def _glyph_run(g: GlyphRunItem) -> str:
    k = g.size / g.face.upem
    if fmt(k, 6) == "0":  # text too small to see: its transform would be singular
        return ""
    parts = []
    for gid, gx, gy in g.glyphs:
        outline = glyph_path(g.face, gid)
        if not outline.empty:
            parts.append(f"M{fmt(gx / k + outline.x, 1)} {fmt(gy / k + outline.y, 1)}{outline.d}")
    if not parts:
        return ""
    shear = fmt(k * OBLIQUE_SLANT, 6) if g.oblique else "0"
    transform = f"matrix({fmt(k, 6)} 0 {shear} {fmt(-k, 6)} {fmt(g.x, 3)} {fmt(g.y, 3)})"
    return f'<path transform="{transform}" {_fill(g.color)} d="{"".join(parts)}"/>'


def _emoji(item: EmojiItem, index: str) -> str:
    """A bundled Twemoji drawing, inlined (CairoSVG draws nested <svg>); its few ids are
    prefixed so two copies of one emoji in a card cannot clash."""
    source = library().emoji.svg(item.key)
    match = _SVG_ROOT.match(source)
    inner = match.group(1) if match else ""
    inner = _ID.sub(lambda m: f"{m.group(1)}e{index}-{m.group(2)}", inner)
    opacity = f' opacity="{fmt(item.opacity, 4)}"' if item.opacity < 1 else ""
    v = fmt(EMOJI_VIEWBOX)
    return (
        f'<svg x="{fmt(item.x)}" y="{fmt(item.y)}" width="{fmt(item.size)}" '
        f'height="{fmt(item.size)}" viewBox="0 0 {v} {v}"{opacity}>{inner}</svg>'
    )


def _rounded_path(x: float, y: float, w: float, h: float, corners: Corners) -> str:
    """A rounded rectangle as path data with true arcs (not cairosvg's `<rect rx>` curves), one
    elliptical arc per rounded corner, clockwise from the top-left corner's end."""
    if corners.square:
        return f"M{fmt(x)} {fmt(y)}H{fmt(x + w)}V{fmt(y + h)}H{fmt(x)}Z"
    tl, tr, br, bl = (r if r[0] > 0 and r[1] > 0 else (0.0, 0.0) for r in corners.all)
    return (
        f"M{fmt(x + tl[0])} {fmt(y)}H{fmt(x + w - tr[0])}{_arc(tr, x + w, y + tr[1])}"
        f"V{fmt(y + h - br[1])}{_arc(br, x + w - br[0], y + h)}H{fmt(x + bl[0])}"
        f"{_arc(bl, x, y + h - bl[1])}V{fmt(y + tl[1])}{_arc(tl, x + tl[0], y)}Z"
    )


def _arc(radius: tuple[float, float], x: float, y: float) -> str:
    """A clockwise quarter-ellipse to (x, y); nothing for a square corner."""
    rx, ry = radius
    if rx <= 0:
        return ""
    return f"A{fmt(rx)} {fmt(ry)} 0 0 1 {fmt(x)} {fmt(y)}"


def _ring(r: Ring) -> str:
    """The border ring as the image border draws it: outline and inset outline, even-odd."""
    path = _rounded_path(r.x, r.y, r.width, r.height, r.corners)
    b = r.thickness
    if r.width - 2 * b > 0 and r.height - 2 * b > 0:
        inner = r.corners.inset(b)
        path += _rounded_path(r.x + b, r.y + b, r.width - 2 * b, r.height - 2 * b, inner)
    return f'<path fill-rule="evenodd" {_fill(r.color)} d="{path}"/>'


def _image(item: ImageItem, index: str, defs: list[str], pixels: _Pixels) -> str:
    """The image, clipped to its rounded box, then its border ring; faded together.

    The clip and the border ring share one arc-drawn outline (true circles, unlike CairoSVG's
    `<rect rx>`), so no image pixel shows outside the ring.
    """
    attrs = ""
    bordered = item.border_color is not None and item.border_width > 0
    if not item.corners.square:
        clip = f"clip{index}"
        outline = _rounded_path(item.x, item.y, item.width, item.height, item.corners)
        shape = f'<path d="{outline}"/>'
        defs.append(f'<clipPath id="{clip}">{shape}</clipPath>')
        attrs += f' clip-path="url(#{clip})"'
    if item.opacity < 1 and not bordered:
        attrs += f' opacity="{fmt(item.opacity, 4)}"'
    x, y, w, h = item.content or (item.x, item.y, item.width, item.height)
    data = base64.b64encode(pixels(item).png).decode("ascii")
    image = (
        f'<image x="{fmt(x)}" y="{fmt(y)}" width="{fmt(w)}" '
        f'height="{fmt(h)}" preserveAspectRatio="none"{attrs} '
        f'xlink:href="data:image/png;base64,{data}"/>'
    )
    if not bordered or item.border_color is None:
        return image
    ring = Ring(
        item.x, item.y, item.width, item.height, item.corners, item.border_width, item.border_color
    )
    border = _ring(ring)
    if item.opacity < 1:
        return f'<g opacity="{fmt(item.opacity, 4)}">{image}{border}</g>'
    return image + border


def _item(item: Item, index: str, defs: list[str], pixels: _Pixels) -> str:
    match item:
        case Rect():
            return _rect(item)
        case Ring():
            return _ring(item)
        case GlyphRunItem():
            return _glyph_run(item)
        case EmojiItem():
            return _emoji(item, index)
        case ImageItem():
            return _image(item, index, defs, pixels)
        case Group():
            inner = "".join(
                _item(sub, f"{index}-{i}", defs, pixels) for i, sub in enumerate(item.items)
            )
            return f'<g opacity="{fmt(item.opacity, 4)}">{inner}</g>'
        case _:
            assert_never(item)


def build_svg(scene: Scene, scale: float = 1.0, *, raster: bool = False) -> bytes:
    """The scene as an SVG document of `scene.width` × `scene.height` CSS px. Images embed no
    more pixels than their source has at `scale`; with `raster`, the SVG is for CairoSVG to
    draw at `scale`, so they embed the device pixels the raster painter would draw."""
    w, h = scene.width, scene.height
    defs: list[str] = []

    def pixels(item: ImageItem) -> LoadedImage:
        return item.image.for_raster(scale) if raster else item.image.for_svg(scale)

    body = [_item(item, str(i), defs, pixels) for i, item in enumerate(scene.items)]
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        f'width="{w}" height="{h}" viewBox="0 0 {w} {h}">'
    ]
    if defs:
        out.append("<defs>" + "".join(defs) + "</defs>")
    if scene.background is not None:
        out.append(f'<rect width="{w}" height="{h}" {_fill(scene.background)}/>')
    out.extend(b for b in body if b)
    out.append("</svg>\n")
    return "\n".join(out).encode("utf-8")
