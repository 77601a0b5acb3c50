"""Raster stage: a `Scene` in, an RGBA Pillow image of the device-pixel size out.

Two ways, one result. `paint_scene` (the default) draws the scene straight onto a cairo surface.
`rasterize` hands the SVG the builder wrote to CairoSVG, which parses it and makes the same cairo
calls; it stays as the reference (a test renders every golden case both ways and requires them to
agree within the golden tolerance) and draws scenes holding emoji, whose Twemoji drawings are SVG.
To agree, the painter replays CairoSVG's calls on the very numbers the SVG carries (the same
rounding), draws corners with `cairo.arc` as CairoSVG does for our arcs, and samples images with
the same filter after cairo's own premultiplication. Size: round(width × scale) ×
round(height × scale). Only this module knows cairo.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cairocffi as cairo
import numpy as np
from cairocffi import cairo as _C  # the cffi library: cairo's C functions
from PIL import Image

from .errors import RasterError
from .fonts import OBLIQUE_SLANT
from .model import Color
from .numfmt import fmt
from .scene import EmojiItem, GlyphRunItem, Group, ImageItem, Item, Rect, Scene
from .text.outline import glyph_path

__all__ = ["Raster", "needs_svg", "paint_scene", "rasterize"]


def _q(value: float, digits: int = 2) -> float:
    """`value` as the SVG writes it (so both raster paths see the same double)."""
    return float(fmt(value, digits))


@dataclass(frozen=True, slots=True, eq=False)
class Raster:
    """The drawn card: what the encoders read.

    Pixels stay in cairo's byte order (B, G, R, A on little-endian machines) but with straight,
    not premultiplied, alpha, in memory this module owns, so the PNG writer can build its rows in
    one strided copy and Pillow converts only for the formats it encodes."""

    width: int  # device px
    height: int  # device px
    bgra: np.ndarray  # (height, width, 4) uint8: B, G, R, straight A
    opaque: bool  # every pixel's alpha is 255

    def to_image(self) -> Image.Image:
        """RGB when opaque, else RGBA, as Pillow wants it (one conversion in C)."""
        data = np.ascontiguousarray(self.bgra)
        if self.opaque:
            return Image.frombuffer("RGB", (self.width, self.height), data, "raw", "BGRX", 0, 1)
        return Image.frombuffer("RGBA", (self.width, self.height), data, "raw", "BGRA", 0, 1)

    @classmethod
    def from_image(cls, image: Image.Image) -> Raster:
        rgba = np.asarray(image.convert("RGBA"), dtype=np.uint8)
        bgra = np.ascontiguousarray(rgba[..., [2, 1, 0, 3]])
        return cls(image.width, image.height, bgra, bool((rgba[..., 3] == 255).all()))


def _new_surface(width: int, height: int) -> tuple[cairo.ImageSurface, np.ndarray]:
    """An ARGB32 surface over a NumPy buffer we own (so views of it outlive the surface)."""
    stride = cairo.ImageSurface.format_stride_for_width(cairo.FORMAT_ARGB32, width)
    flat = np.zeros(height * stride, dtype=np.uint8)  # cairo checks len() of a flat buffer
    surface = cairo.ImageSurface.create_for_data(
        flat.data, cairo.FORMAT_ARGB32, width, height, stride
    )
    rows = flat.reshape(height, stride)
    return surface, rows


def _to_raster(surface: cairo.ImageSurface, rows: np.ndarray, opaque: bool) -> Raster:
    """Un-premultiply in place: only pixels neither opaque nor empty need dividing (edges,
    mostly), with the rounding cairo's own PNG writer uses."""
    surface.flush()
    w, h = surface.get_width(), surface.get_height()
    bgra = rows[:, : w * 4].reshape(h, w, 4)
    if not opaque:
        alpha = bgra[..., 3]
        ys, xs = np.nonzero((alpha != 255) & (alpha != 0))
        if ys.size:
            a = alpha[ys, xs].astype(np.uint32)[:, None]
            value = bgra[ys, xs, :3].astype(np.uint32)
            bgra[ys, xs, :3] = np.minimum((value * 255 + a // 2) // a, 255)
        opaque = bool((alpha == 255).all())
    return Raster(w, h, bgra, opaque)


def rasterize(svg: bytes, scale: float = 1.0) -> Raster:
    """The reference path: CairoSVG draws the SVG document (imported on first use: most cards
    never need it)."""
    import cairosvg.parser
    import cairosvg.surface

    try:
        tree = cairosvg.parser.Tree(bytestring=svg, unsafe=False)
        surface = cairosvg.surface.PNGSurface(tree, None, 96, scale=scale)
        cairo_surface = surface.cairo
        cairo_surface.flush()
        h = cairo_surface.get_height()
        stride = cairo_surface.get_stride()
        rows = np.frombuffer(cairo_surface.get_data(), dtype=np.uint8).reshape(h, stride).copy()
        image = _to_raster(cairo_surface, rows, opaque=False)
        surface.finish()
    except Exception as e:  # cairo reports out-of-memory and invalid sizes this way
        msg = f"cairo could not draw the card: {e}"
        raise RasterError(msg) from e
    return image


def _set_color(ctx: cairo.Context, color: Color) -> None:
    alpha = 1.0 if color.a == 255 else _q(color.a / 255, 4)
    ctx.set_source_rgba(color.r / 255, color.g / 255, color.b / 255, alpha)


def _svg_arc(ctx: cairo.Context, x1: float, y1: float, r: float, x2: float, y2: float) -> None:
    """`A r r 0 0 1 x2 y2` from the current point (x1, y1), computed as CairoSVG computes it
    (centre from the rounded end points), so both raster paths draw the same curve."""
    xe, ye = x2 - x1, y2 - y1
    angle = math.atan2(ye, xe)
    xe = math.hypot(xe, ye)
    rx = max(r, xe / 2)
    xc = xe / 2
    yc = (rx**2 - xc**2) ** 0.5
    xe, ye = xe * math.cos(angle), xe * math.sin(angle)
    xc, yc = (
        xc * math.cos(angle) - yc * math.sin(angle),
        yc * math.cos(angle) + xc * math.sin(angle),
    )
    ctx.save()
    ctx.translate(x1, y1)
    ctx.arc(xc, yc, rx, math.atan2(0 - yc, 0 - xc), math.atan2(ye - yc, xe - xc))  # 0 - v: +0.0
    ctx.restore()


def _rounded(ctx: cairo.Context, x: float, y: float, w: float, h: float, r: float) -> None:
    """The path svg._rounded_path writes, drawn as CairoSVG draws it (same rounded numbers)."""
    if r <= 0:
        ctx.move_to(_q(x), _q(y))
        ctx.line_to(_q(x + w), _q(y))
        ctx.line_to(_q(x + w), _q(y + h))
        ctx.line_to(_q(x), _q(y + h))
        ctx.close_path()
        return
    ctx.set_tolerance(0.00001)  # CairoSVG flattens arcs this finely (the state is saved per node)
    rr = _q(r)
    corners = [
        ((_q(x + r), _q(y)), (_q(x + w - r), _q(y)), (_q(x + w), _q(y + r))),
        (None, (_q(x + w), _q(y + h - r)), (_q(x + w - r), _q(y + h))),
        (None, (_q(x + r), _q(y + h)), (_q(x), _q(y + h - r))),
        (None, (_q(x), _q(y + r)), (_q(x + r), _q(y))),
    ]
    for start, line_end, arc_end in corners:
        if start is not None:
            ctx.move_to(*start)
        ctx.line_to(*line_end)
        _svg_arc(ctx, *line_end, rr, *arc_end)
    ctx.close_path()


def paint_rect(ctx: cairo.Context, r: Rect) -> None:
    ctx.save()
    if r.radius > 0:
        _rounded(ctx, r.x, r.y, r.width, r.height, r.radius)
    else:
        ctx.rectangle(_q(r.x), _q(r.y), _q(r.width), _q(r.height))
    _set_color(ctx, r.color)
    ctx.fill()
    ctx.restore()


def paint_glyph_run(ctx: cairo.Context, g: GlyphRunItem) -> None:
    k = g.size / g.face.upem
    outlines = [(glyph_path(g.face, gid), gx, gy) for gid, gx, gy in g.glyphs]
    if all(o.empty for o, _, _ in outlines) or _q(k, 6) == 0:  # nothing to see (the SVG skips
        return  # such runs too: their transform would be singular)
    ctx.save()
    shear = _q(k * OBLIQUE_SLANT, 6) if g.oblique else 0.0
    ctx.transform(cairo.Matrix(_q(k, 6), 0, shear, _q(-k, 6), _q(g.x, 3), _q(g.y, 3)))
    # cairo's C functions directly: cairocffi's wrappers cost more than the drawing here.
    p = ctx._pointer
    move, rel_move, close = _C.cairo_move_to, _C.cairo_rel_move_to, _C.cairo_close_path
    line, curve = _C.cairo_rel_line_to, _C.cairo_rel_curve_to
    for outline, gx, gy in outlines:
        if outline.empty:
            continue
        move(p, _q(gx / k + outline.x, 1), _q(gy / k + outline.y, 1))
        for cmd, n in outline.ops:
            if cmd == "l":
                line(p, n[0], n[1])
            elif cmd == "q":  # CairoSVG's quadratic-to-cubic conversion, relative
                x1, y1 = n[0] * 2 / 3, n[1] * 2 / 3
                curve(p, x1, y1, x1 + n[2] / 3, y1 + n[3] / 3, n[2], n[3])
            elif cmd == "c":
                curve(p, *n)
            elif cmd == "m":
                rel_move(p, n[0], n[1])
            else:
                close(p)
    _set_color(ctx, g.color)
    ctx.fill()
    ctx.restore()


def _premultiplied(image: Image.Image) -> cairo.ImageSurface:
    """An ARGB32 surface of `image`, premultiplied the way cairo's PNG loader does it."""
    rgba = np.asarray(image.convert("RGBA"), dtype=np.uint32)
    alpha = rgba[..., 3:4]
    temp = rgba[..., :3] * alpha + 0x80
    rgb = (temp + (temp >> 8)) >> 8
    bgra = np.empty(rgba.shape, dtype=np.uint8)
    bgra[..., :3] = rgb[..., ::-1]
    bgra[..., 3:] = alpha
    w, h = image.size
    stride = cairo.ImageSurface.format_stride_for_width(cairo.FORMAT_ARGB32, w)
    buffer = bytearray(stride * h)
    np.frombuffer(buffer, dtype=np.uint8).reshape(h, stride)[:, : w * 4] = bgra.reshape(h, w * 4)
    return cairo.ImageSurface.create_for_data(buffer, cairo.FORMAT_ARGB32, w, h, stride)


def paint_image(ctx: cairo.Context, item: ImageItem) -> None:
    bordered = item.border_color is not None and item.border_width > 0
    if bordered and item.opacity < 1:
        ctx.push_group()
    ctx.save()
    if item.radius > 0:
        _rounded(ctx, item.x, item.y, item.width, item.height, item.radius)
        ctx.set_tolerance(0.1)  # CairoSVG restores cairo's default before it clips
        ctx.clip()
    x, y, w, h = item.content or (item.x, item.y, item.width, item.height)
    source = _premultiplied(item.image.pixels)
    pattern = cairo.SurfacePattern(source)
    pattern.set_filter(cairo.FILTER_GOOD)
    ctx.translate(_q(x), _q(y))
    ctx.scale(_q(w) / source.get_width(), _q(h) / source.get_height())
    ctx.set_source(pattern)
    ctx.paint_with_alpha(1.0 if bordered or item.opacity >= 1 else _q(item.opacity, 4))
    ctx.restore()
    if bordered and item.border_color is not None:
        ctx.save()
        b, r = item.border_width, item.radius
        _rounded(ctx, item.x, item.y, item.width, item.height, r)
        if item.width - 2 * b > 0 and item.height - 2 * b > 0:
            _rounded(
                ctx,
                item.x + b,
                item.y + b,
                item.width - 2 * b,
                item.height - 2 * b,
                max(0.0, r - b),
            )
        ctx.set_fill_rule(cairo.FILL_RULE_EVEN_ODD)
        _set_color(ctx, item.border_color)
        ctx.fill()
        ctx.restore()
    if bordered and item.opacity < 1:
        ctx.pop_group_to_source()
        ctx.paint_with_alpha(_q(item.opacity, 4))


def _paint(ctx: cairo.Context, item: Item) -> None:
    match item:
        case Rect():
            paint_rect(ctx, item)
        case GlyphRunItem():
            paint_glyph_run(ctx, item)
        case ImageItem():
            paint_image(ctx, item)
        case Group():
            ctx.push_group()
            for sub in item.items:
                _paint(ctx, sub)
            ctx.pop_group_to_source()
            ctx.paint_with_alpha(_q(item.opacity, 4))
        case EmojiItem():  # never reached: paint_scene routes emoji scenes to CairoSVG
            pass


def needs_svg(scene: Scene) -> bool:
    """Whether `paint_scene` will draw this scene through CairoSVG (it holds emoji)."""
    return _has_emoji(scene.items)


def _has_emoji(items: tuple[Item, ...]) -> bool:
    return any(
        isinstance(i, EmojiItem) or (isinstance(i, Group) and _has_emoji(i.items)) for i in items
    )


def paint_scene(scene: Scene, scale: float = 1.0, svg: bytes | None = None) -> Raster:
    """Draw `scene` at `scale`; scenes with emoji go through CairoSVG (`svg` must be given)."""
    if _has_emoji(scene.items):
        if svg is None:
            msg = "a scene with emoji needs its SVG for the CairoSVG path"
            raise RasterError(msg)
        return rasterize(svg, scale)
    try:
        surface, rows = _new_surface(round(scene.width * scale), round(scene.height * scale))
        ctx = cairo.Context(surface)
        ctx.scale(scale, scale)
        if scene.background is not None:
            ctx.rectangle(0, 0, scene.width, scene.height)
            _set_color(ctx, scene.background)
            ctx.fill()
        for item in scene.items:
            _paint(ctx, item)
        opaque = scene.background is not None and scene.background.a == 255
        return _to_raster(surface, rows, opaque)
    except cairo.Error as e:
        msg = f"cairo could not draw the card: {e}"
        raise RasterError(msg) from e
