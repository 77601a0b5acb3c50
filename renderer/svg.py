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
from .geometry import Affine, Corners
from .imagefit import LoadedImage
from .model import Color
from .numfmt import fmt
from .paint import Fill, LinearFill, RadialFill, gradient_matrix, run_matrix, written
from .scene import (
    Cells,
    EmojiItem,
    GlyphRunItem,
    Group,
    ImageItem,
    Item,
    Rect,
    Ring,
    Rotated,
    Scene,
    ShadowItem,
)
from .text.outline import glyph_path

__all__ = ["build_svg"]

_Pixels = Callable[[ImageItem], LoadedImage]

_SVG_ROOT = re.compile(r"^\s*<svg[^>]*>(.*)</svg>\s*$", re.S)
_ID = re.compile(r'(\bid="|url\(#)([^")]+)')


def _fill(color: Color) -> str:
    if color.a == 255:
        return f'fill="{color.hex6}"'
    return f'fill="{color.hex6}" fill-opacity="{fmt(color.a / 255, 4)}"'


def _stops(fill: LinearFill | RadialFill) -> str:
    out = []
    for offset, color in fill.stops:
        opacity = "" if color.a == 255 else f' stop-opacity="{fmt(color.a / 255, 4)}"'
        out.append(f'<stop offset="{fmt(offset, 4)}" stop-color="{color.hex6}"{opacity}/>')
    return "".join(out)


def _matrix(m: Affine, digits: int = 6) -> str:
    return "matrix(" + " ".join(fmt(v, digits) for v in m) + ")"


def gradient_element(fill: LinearFill | RadialFill, ident: str, inside: Affine | None) -> str:
    """The `<linearGradient>` or `<radialGradient>` of `fill`, in user-space units (the numbers
    the raster painter replays); `inside` is the filled element's own transform, if any."""
    matrix = gradient_matrix(fill, inside)
    transform = "" if matrix is None else f' gradientTransform="{_matrix(matrix)}"'
    units = f'id="{ident}" gradientUnits="userSpaceOnUse"'
    if isinstance(fill, LinearFill):
        line = (
            f'x1="{fmt(fill.x1, 3)}" y1="{fmt(fill.y1, 3)}" '
            f'x2="{fmt(fill.x2, 3)}" y2="{fmt(fill.y2, 3)}"'
        )
        return f"<linearGradient {units} {line}{transform}>{_stops(fill)}</linearGradient>"
    circle = 'cx="0" cy="0" r="1"'
    return f"<radialGradient {units} {circle}{transform}>{_stops(fill)}</radialGradient>"


def rotate_attr(item: Rotated) -> str:
    r = item.rotation
    return f"rotate({fmt(r.degrees, 4)} {fmt(r.cx, 3)} {fmt(r.cy, 3)})"


def _glyph_outlines(g: GlyphRunItem) -> str:
    """The run's glyphs as path data in font units; empty when nothing is drawn."""
    k = g.size / g.face.upem
    if fmt(k, 6) == "0":  # text too small to see: its transform would be singular
        return ""
    parts = []
    for gid, gx, gy in g.glyphs:
        outline = glyph_path(g.face, gid)
        if not outline.empty:
            parts.append(f"M{fmt(gx / k + outline.x, 1)} {fmt(gy / k + outline.y, 1)}{outline.d}")
    return "".join(parts)


def _stroke_attrs(g: GlyphRunItem, width: float) -> str:
    """A stroke `width` px wide (card px) on a run's path, whose units are the font's."""
    assert g.stroke is not None
    color = g.stroke.color
    opacity = "" if color.a == 255 else f' stroke-opacity="{fmt(color.a / 255, 4)}"'
    units = width * g.face.upem / g.size
    return f'stroke="{color.hex6}"{opacity} stroke-width="{fmt(units, 2)}" stroke-linejoin="round"'


def _run_transform(g: GlyphRunItem) -> str:
    k = g.size / g.face.upem
    shear = fmt(k * OBLIQUE_SLANT, 6) if g.oblique else "0"
    return f"matrix({fmt(k, 6)} 0 {shear} {fmt(-k, 6)} {fmt(g.x, 3)} {fmt(g.y, 3)})"


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


def _arc(radius: tuple[float, float], x: float, y: float, sweep: int = 1) -> str:
    """A quarter-ellipse to (x, y), clockwise (`sweep` 1) or not; nothing for a square
    corner."""
    rx, ry = radius
    if rx <= 0:
        return ""
    return f"A{fmt(rx)} {fmt(ry)} 0 0 {sweep} {fmt(x)} {fmt(y)}"


def reversed_path(x: float, y: float, w: float, h: float, corners: Corners) -> str:
    """`_rounded_path` counter-clockwise: inside a clockwise rectangle, a hole by the nonzero
    rule (CairoSVG clips by nonzero whatever `clip-rule` says)."""
    if corners.square:
        return f"M{fmt(x)} {fmt(y)}V{fmt(y + h)}H{fmt(x + w)}V{fmt(y)}Z"
    tl, tr, br, bl = (r if r[0] > 0 and r[1] > 0 else (0.0, 0.0) for r in corners.all)
    return (
        f"M{fmt(x + tl[0])} {fmt(y)}{_arc(tl, x, y + tl[1], 0)}V{fmt(y + h - bl[1])}"
        f"{_arc(bl, x + bl[0], y + h, 0)}H{fmt(x + w - br[0])}{_arc(br, x + w, y + h - br[1], 0)}"
        f"V{fmt(y + tr[1])}{_arc(tr, x + w - tr[0], y, 0)}Z"
    )


def _ring(r: Ring) -> str:
    """The border ring as the image border draws it: outline and inset outline, even-odd."""
    path = _rounded_path(r.x, r.y, r.width, r.height, r.corners)
    b = r.thickness
    if r.width - 2 * b > 0 and r.height - 2 * b > 0:
        inner = r.corners.inset(b)
        path += _rounded_path(r.x + b, r.y + b, r.width - 2 * b, r.height - 2 * b, inner)
    return f'<path fill-rule="evenodd" {_fill(r.color)} d="{path}"/>'


class _Writer:
    """One document's body and its `<defs>`: ids are numbered in document order, so the same
    scene gives the same bytes."""

    def __init__(self, pixels: _Pixels) -> None:
        self.defs: list[str] = []
        self.pixels = pixels
        self._paints: dict[tuple[Fill, Affine | None], str] = {}
        self._clips = 0  # glyph clips of inside strokes
        self._filters = 0  # shadows' blurs and clips

    def fill(self, fill: Fill, inside: Affine | None = None) -> str:
        """The fill attributes of an element painted with `fill` (a gradient goes to the
        defs, once per fill and element transform)."""
        if isinstance(fill, Color):
            return _fill(fill)
        key = (fill, inside)
        ident = self._paints.get(key)
        if ident is None:
            ident = self._paints[key] = f"p{len(self._paints)}"
            self.defs.append(gradient_element(fill, ident, inside))
        return f'fill="url(#{ident})"'

    def rect(self, r: Rect) -> str:
        if not r.corners.square:  # arcs: CairoSVG draws `<rect rx>` ~0.8 px inside the circle
            path = _rounded_path(r.x, r.y, r.width, r.height, r.corners)
            return f'<path {self.fill(r.paint)} d="{path}"/>'
        return (
            f'<rect x="{fmt(r.x)}" y="{fmt(r.y)}" width="{fmt(r.width)}" '
            f'height="{fmt(r.height)}" {self.fill(r.paint)}/>'
        )

    def glyph_run(self, g: GlyphRunItem) -> str:
        """The run as one path; a stroke as the same path stroked (in font units, the path's
        own): under the fill (outside), over it (center), or over it clipped to the glyphs
        (inside)."""
        outlines = _glyph_outlines(g)
        if not outlines:
            return ""
        inside = None
        if not isinstance(g.paint, Color):
            inside = run_matrix(g.size, g.face.upem, g.oblique, g.x, g.y)
        head = f'<path transform="{_run_transform(g)}"'
        fill = f'{head} {self.fill(g.paint, inside)} d="{outlines}"/>'
        stroke = g.stroke
        if stroke is None:
            return fill
        if stroke.position == "center":
            line = _stroke_attrs(g, stroke.width)
            return f'{head} {self.fill(g.paint, inside)} {line} d="{outlines}"/>'
        line = _stroke_attrs(g, 2 * stroke.width)
        if stroke.position == "outside":
            return f'{head} fill="none" {line} d="{outlines}"/>{fill}'
        clip = f"s{self._clips}"
        self._clips += 1
        self.defs.append(f'<clipPath id="{clip}"><path d="{outlines}"/></clipPath>')
        return f'{fill}{head} clip-path="url(#{clip})" fill="none" {line} d="{outlines}"/>'

    def cells(self, item: Cells) -> str:
        """One path in cell units (whole numbers, so rows and neighbours meet exactly),
        scaled to the card by its transform."""
        inside = (
            written(item.cell, 6),
            0.0,
            0.0,
            written(item.cell, 6),
            written(item.x, 3),
            written(item.y, 3),
        )
        fill = self.fill(item.paint, None if isinstance(item.paint, Color) else inside)
        d = "".join(f"M{c} {r}h{n}v1h-{n}z" for r, c, n in item.runs)
        return f'<path transform="{_matrix(inside)}" {fill} d="{d}"/>'

    def shadow(self, item: ShadowItem) -> str:
        """The silhouette in the shadow's colour, in a group that blurs it (an
        feGaussianBlur over a region three standard deviations wider) and fades it, clipped
        to outside the element's outline for a box shadow."""
        body = "".join(
            self.rect(s) if isinstance(s, Rect) else self.glyph_run(s) for s in item.shapes
        )
        x, y, w, h = item.region
        attrs = []
        if item.sigma > 0:
            ident = f"f{self._filters}"
            self._filters += 1
            region = f'x="{fmt(x)}" y="{fmt(y)}" width="{fmt(w)}" height="{fmt(h)}"'
            self.defs.append(
                f'<filter id="{ident}" filterUnits="userSpaceOnUse" {region} '
                f'color-interpolation-filters="sRGB">'
                f'<feGaussianBlur stdDeviation="{fmt(item.sigma, 3)}"/></filter>'
            )
            attrs.append(f'filter="url(#{ident})"')
        if item.color.a < 255:
            attrs.append(f'opacity="{fmt(item.color.a / 255, 4)}"')
        if attrs:
            body = f"<g {' '.join(attrs)}>{body}</g>"
        if item.cutout is None:
            return body
        c = item.cutout
        ident = f"o{self._filters}"
        self._filters += 1
        around = f"M{fmt(x)} {fmt(y)}H{fmt(x + w)}V{fmt(y + h)}H{fmt(x)}Z"
        hole = reversed_path(c.x, c.y, c.width, c.height, c.corners)
        self.defs.append(f'<clipPath id="{ident}"><path d="{around}{hole}"/></clipPath>')
        return f'<g clip-path="url(#{ident})">{body}</g>'

    def image(self, item: ImageItem, index: str) -> str:
        """The image, clipped to its rounded box, then its border ring; faded together.

        The clip and the border ring share one arc-drawn outline (true circles, unlike
        CairoSVG's `<rect rx>`), so no image pixel shows outside the ring.
        """
        attrs = ""
        bordered = item.border_color is not None and item.border_width > 0
        layered = bordered or item.overlay is not None  # parts that fade together
        if not item.corners.square:
            clip = f"clip{index}"
            outline = _rounded_path(item.x, item.y, item.width, item.height, item.corners)
            shape = f'<path d="{outline}"/>'
            self.defs.append(f'<clipPath id="{clip}">{shape}</clipPath>')
            attrs += f' clip-path="url(#{clip})"'
        if item.opacity < 1 and not layered:
            attrs += f' opacity="{fmt(item.opacity, 4)}"'
        x, y, w, h = item.content or (item.x, item.y, item.width, item.height)
        data = base64.b64encode(self.pixels(item).png).decode("ascii")
        image = (
            f'<image x="{fmt(x)}" y="{fmt(y)}" width="{fmt(w)}" '
            f'height="{fmt(h)}" preserveAspectRatio="none"{attrs} '
            f'xlink:href="data:image/png;base64,{data}"/>'
        )
        if not layered:
            return image
        corners, width = item.corners, item.border_width
        if item.overlay is not None:
            scrim = Rect(item.x, item.y, item.width, item.height, corners, item.overlay)
            image += self.rect(scrim)
        if bordered and item.border_color is not None:
            ring = Ring(item.x, item.y, item.width, item.height, corners, width, item.border_color)
            image += _ring(ring)
        if item.opacity < 1:
            return f'<g opacity="{fmt(item.opacity, 4)}">{image}</g>'
        return image

    def item(self, item: Item, index: str) -> str:
        match item:
            case Rect():
                return self.rect(item)
            case Ring():
                return _ring(item)
            case GlyphRunItem():
                return self.glyph_run(item)
            case EmojiItem():
                return _emoji(item, index)
            case ImageItem():
                return self.image(item, index)
            case Group():
                inner = "".join(self.item(sub, f"{index}-{i}") for i, sub in enumerate(item.items))
                return f'<g opacity="{fmt(item.opacity, 4)}">{inner}</g>'
            case Rotated():
                inner = "".join(self.item(sub, f"{index}-{i}") for i, sub in enumerate(item.items))
                return f'<g transform="{rotate_attr(item)}">{inner}</g>'
            case ShadowItem():
                return self.shadow(item)
            case Cells():
                return self.cells(item)
            case _:
                assert_never(item)


def build_svg(scene: Scene, scale: float = 1.0, *, raster: bool = False) -> bytes:
    """The scene as an SVG document of `scene.width` × `scene.height` CSS px. Images embed no
    more pixels than their source has at `scale`; with `raster`, the SVG is for CairoSVG to
    draw at `scale`, so they embed the device pixels the raster painter would draw."""
    w, h = scene.width, scene.height

    def pixels(item: ImageItem) -> LoadedImage:
        return item.image.for_raster(scale) if raster else item.image.for_svg(scale)

    writer = _Writer(pixels)
    background = "" if scene.background is None else writer.fill(scene.background)
    body = [writer.item(item, str(i)) for i, item in enumerate(scene.items)]
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        f'width="{w}" height="{h}" viewBox="0 0 {w} {h}">'
    ]
    if writer.defs:
        out.append("<defs>" + "".join(writer.defs) + "</defs>")
    if scene.background is not None:
        out.append(f'<rect width="{w}" height="{h}" {background}/>')
    out.extend(b for b in body if b)
    out.append("</svg>\n")
    return "\n".join(out).encode("utf-8")
