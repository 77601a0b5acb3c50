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

import functools
import math
import threading
from collections.abc import Hashable
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

import numpy as np
from PIL import Image, ImageFilter
from typing_extensions import assert_never

from . import parallel
from .cairolib import cairocffi as cairo  # with its C declarations pre-parsed
from .deadline import check as check_deadline
from .errors import RasterError
from .fonts import OBLIQUE_SLANT, FontFace, library
from .geometry import Affine, Box, Corners
from .imagefit import LoadedImage
from .model import Color
from .paint import (
    Fill,
    LinearFill,
    RadialFill,
    fill_opaque,
    gradient_matrix,
    run_matrix,
    written,
)
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
from .text.outline import GlyphOutline, glyph_path

__all__ = ["Raster", "needs_svg", "paint_onto", "paint_scene", "rasterize"]

_C = cairo.cairo  # the cffi library: cairo's C functions
ffi = cairo.ffi
_check_status = cairo._check_status


def _q(value: float, digits: int = 2) -> float:
    """`value` as the SVG writes it (so both raster paths see the same double): what
    float(fmt(value, digits)) gives, bit for bit, without formatting a string.

    fmt and round() both round the exact binary value half-to-even and give the double nearest
    to that decimal; + 0.0 drops a negative zero as fmt does. Faster still: while value × 10^d
    stays under 1e9 it is off the exact product by under 1e-7, so away from a tie (more than
    1e-6 from one) rounding it to an integer n picks the same decimal, and n / 10^d is the
    double nearest to it. Near a tie, and for huge values, round() itself."""
    tens = _TENS[digits]
    t = value * tens
    if abs(t) < 1e9:
        n = round(t)
        if abs(abs(t - n) - 0.5) > 1e-6:
            return n / tens + 0.0
    return round(value, digits) + 0.0


_TENS = [10.0**d for d in range(16)]


def _q_array(values: np.ndarray, digits: int) -> np.ndarray:
    """`_q` of every value, the same doubles: np.rint rounds half to even as round() does, and
    the few values near a tie (or huge) go through `_q` itself."""
    tens = _TENS[digits]
    t = values * tens
    n = np.rint(t)
    out: np.ndarray = n / tens + 0.0
    near = ~((np.abs(t) < 1e9) & (np.abs(np.abs(t - n) - 0.5) > 1e-6))
    for i in np.flatnonzero(near).tolist():
        out[i] = _q(float(values[i]), digits)
    return out


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


def _to_raster(rows: np.ndarray, width: int, height: int, opaque: bool) -> Raster:
    """Un-premultiply in place: only pixels neither opaque nor empty need dividing (edges,
    mostly), with the rounding cairo's own PNG writer uses."""
    bgra = rows[:, : width * 4].reshape(height, width, 4)
    if not opaque:
        alpha = bgra[..., 3]
        ys, xs = np.nonzero((alpha != 255) & (alpha != 0))
        if ys.size:
            a = alpha[ys, xs].astype(np.uint32)[:, None]
            value = bgra[ys, xs, :3].astype(np.uint32)
            bgra[ys, xs, :3] = np.minimum((value * 255 + a // 2) // a, 255)
        opaque = bool((alpha == 255).all())
    return Raster(width, height, bgra, opaque)


def _over(raster: Raster, color: Color) -> Raster:
    """`raster` composited over an opaque colour. CairoSVG leaves the last row and column of a
    canvas that came out a fractional number of pixels part-covered; an opaque card must be
    opaque to its edge. Pixels that are already opaque keep their values."""
    bgra = raster.bgra.copy()
    alpha = bgra[..., 3:4].astype(np.uint32)
    under = np.array([color.b, color.g, color.r], dtype=np.uint32)
    mixed = (bgra[..., :3] * alpha + under * (255 - alpha) + 127) // 255
    bgra[..., :3] = mixed.astype(np.uint8)
    bgra[..., 3] = 255
    return Raster(raster.width, raster.height, bgra, True)


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
        w, h = cairo_surface.get_width(), cairo_surface.get_height()
        stride = cairo_surface.get_stride()
        rows = np.frombuffer(cairo_surface.get_data(), dtype=np.uint8).reshape(h, stride).copy()
        image = _to_raster(rows, w, h, opaque=False)
        surface.finish()
    except Exception as e:  # cairo reports out-of-memory and invalid sizes this way
        msg = f"cairo could not draw the card: {e}"
        raise RasterError(msg) from e
    return image


def _rgba(color: Color) -> tuple[float, float, float, float]:
    """The source cairo is given for `color` (alpha rounded as CairoSVG writes it)."""
    alpha = 1.0 if color.a == 255 else _q(color.a / 255, 4)
    return color.r / 255, color.g / 255, color.b / 255, alpha


def _set_color(ctx: cairo.Context, color: Color) -> None:
    ctx.set_source_rgba(*_rgba(color))


def _gradient(fill: LinearFill | RadialFill, inside: Affine | None = None) -> cairo.Gradient:
    """The pattern CairoSVG makes of `svg.gradient_element`'s numbers, made the same way:
    the gradient's matrix is the inverse of its written `gradientTransform`, stops are
    clamped to never go back, and the ends pad."""
    pattern: cairo.Gradient
    if isinstance(fill, LinearFill):
        line = (_q(fill.x1, 3), _q(fill.y1, 3), _q(fill.x2, 3), _q(fill.y2, 3))
        pattern = cairo.LinearGradient(*line)
    else:
        pattern = cairo.RadialGradient(0.0, 0.0, 0.0, 0.0, 0.0, 1.0)
    matrix = gradient_matrix(fill, inside)
    if matrix is not None:
        written = cairo.Matrix(*(_q(v, 6) for v in matrix)).multiply(cairo.Matrix())
        written.invert()
        pattern.set_matrix(pattern.get_matrix().multiply(written))
    offset = 0.0
    for at, color in fill.stops:
        offset = max(offset, _q(at, 4))
        alpha = 1.0 if color.a == 255 else _q(color.a / 255, 4)
        pattern.add_color_stop_rgba(offset, color.r / 255, color.g / 255, color.b / 255, alpha)
    pattern.set_extend(cairo.EXTEND_PAD)
    return pattern


def _set_fill(ctx: cairo.Context, fill: Fill) -> None:
    if isinstance(fill, Color):
        _set_color(ctx, fill)
    else:
        ctx.set_source(_gradient(fill))


def _svg_arc(
    ctx: cairo.Context,
    x1: float,
    y1: float,
    rx: float,
    ry: float,
    x2: float,
    y2: float,
    sweep: bool = True,
) -> None:
    """`A rx ry 0 0 1 x2 y2` (or `0 0 0`, not `sweep`) from the current point (x1, y1),
    computed as CairoSVG computes it (centre from the rounded end points, the ellipse as a
    circle scaled by ry / rx), so both raster paths draw the same curve. A circle skips the
    scale, as exact as CairoSVG's."""
    ratio = ry / rx
    xe, ye = x2 - x1, y2 - y1
    if ratio != 1:
        ye /= ratio
    angle = math.atan2(ye, xe)
    xe = math.hypot(xe, ye)
    rx = max(rx, xe / 2)
    xc = xe / 2
    yc = (rx**2 - xc**2) ** 0.5
    if not sweep:  # CairoSVG's other centre: `not (large ^ sweep)` with large 0
        yc = -yc
    xe, ye = xe * math.cos(angle), xe * math.sin(angle)
    xc, yc = (
        xc * math.cos(angle) - yc * math.sin(angle),
        yc * math.cos(angle) + xc * math.sin(angle),
    )
    ctx.save()
    ctx.translate(x1, y1)
    if ratio != 1:
        ctx.scale(1, ratio)
    arc = ctx.arc if sweep else ctx.arc_negative
    arc(xc, yc, rx, math.atan2(0 - yc, 0 - xc), math.atan2(ye - yc, xe - xc))  # 0 - v: +0.0
    ctx.restore()


def _rounded(ctx: cairo.Context, x: float, y: float, w: float, h: float, corners: Corners) -> None:
    """The path svg._rounded_path writes, drawn as CairoSVG draws it (same rounded numbers)."""
    if corners.square:
        ctx.move_to(_q(x), _q(y))
        ctx.line_to(_q(x + w), _q(y))
        ctx.line_to(_q(x + w), _q(y + h))
        ctx.line_to(_q(x), _q(y + h))
        ctx.close_path()
        return
    ctx.set_tolerance(0.00001)  # CairoSVG flattens arcs this finely (the state is saved per node)
    tl, tr, br, bl = (r if r[0] > 0 and r[1] > 0 else (0.0, 0.0) for r in corners.all)
    sides = [  # (corner radius, where the side before it ends, where its arc ends)
        (tr, (_q(x + w - tr[0]), _q(y)), (_q(x + w), _q(y + tr[1]))),
        (br, (_q(x + w), _q(y + h - br[1])), (_q(x + w - br[0]), _q(y + h))),
        (bl, (_q(x + bl[0]), _q(y + h)), (_q(x), _q(y + h - bl[1]))),
        (tl, (_q(x), _q(y + tl[1])), (_q(x + tl[0]), _q(y))),
    ]
    ctx.move_to(_q(x + tl[0]), _q(y))
    for radius, line_end, arc_end in sides:
        ctx.line_to(*line_end)
        rx, ry = _q(radius[0]), _q(radius[1])
        if rx and ry:
            _svg_arc(ctx, *line_end, rx, ry, *arc_end)
        elif radius[0] > 0:  # a radius the SVG writes as 0: CairoSVG draws a line
            ctx.line_to(*arc_end)
    ctx.close_path()


def _reversed(ctx: cairo.Context, x: float, y: float, w: float, h: float, corners: Corners) -> None:
    """The path svg.reversed_path writes (the outline counter-clockwise), drawn as CairoSVG
    draws it."""
    if corners.square:
        ctx.move_to(_q(x), _q(y))
        ctx.line_to(_q(x), _q(y + h))
        ctx.line_to(_q(x + w), _q(y + h))
        ctx.line_to(_q(x + w), _q(y))
        ctx.close_path()
        return
    ctx.set_tolerance(0.00001)
    tl, tr, br, bl = (r if r[0] > 0 and r[1] > 0 else (0.0, 0.0) for r in corners.all)
    start = (_q(x + tl[0]), _q(y))
    sides = [  # (corner radius, where its arc ends, where the side after it ends)
        (tl, (_q(x), _q(y + tl[1])), (_q(x), _q(y + h - bl[1]))),
        (bl, (_q(x + bl[0]), _q(y + h)), (_q(x + w - br[0]), _q(y + h))),
        (br, (_q(x + w), _q(y + h - br[1])), (_q(x + w), _q(y + tr[1]))),
        (tr, (_q(x + w - tr[0]), _q(y)), None),
    ]
    ctx.move_to(*start)
    here = start
    for radius, arc_end, line_end in sides:
        rx, ry = _q(radius[0]), _q(radius[1])
        if rx and ry:
            _svg_arc(ctx, *here, rx, ry, *arc_end, sweep=False)
        elif radius[0] > 0:
            ctx.line_to(*arc_end)
        here = arc_end if radius[0] > 0 else here
        if line_end is not None:
            ctx.line_to(*line_end)
            here = line_end
    ctx.close_path()


def paint_rect(ctx: cairo.Context, r: Rect) -> None:
    ctx.save()
    if not r.corners.square:
        _rounded(ctx, r.x, r.y, r.width, r.height, r.corners)
    else:
        ctx.rectangle(_q(r.x), _q(r.y), _q(r.width), _q(r.height))
    _set_fill(ctx, r.paint)
    ctx.fill()
    ctx.restore()


# cairo_path_data_t: a union of a header (int type, int length) and a point (double x, y).
_MOVE, _LINE, _CURVE, _CLOSE = 0, 1, 2, 3
_ROWS = np.array([2, 2, 4, 1], dtype=np.int32)  # rows of each element, header included
_MIN_BAND = 32  # device rows: below this a band costs more to hand over than it saves
# Glyph path records (moves, lines, curves) below which one band is quicker: the hand-over
# costs ~0.3 ms and a second band saves about half the fill time, ~0.13 us a record (the hello
# card, 649 records: 0.51 ms in one band, 0.80 in two; blog, 8,712: 3.0 against 2.2).
_MIN_SPLIT_PATH = 2500
_DEVICE_PATHS_MAX = 16_384  # entries; a Latin card needs ~100, a CJK paragraph ~1,000


@dataclass(frozen=True, slots=True)
class _DevicePath:
    """One glyph outline as cairo path data under one device matrix, every point an offset in
    1/256 px (cairo's fixed point) from the glyph's first point.

    Replaying an outline through cairo's relative calls costs a Python call per segment, most
    of the painting time. cairo turns each relative step into fixed point on its own (the step
    through the matrix, rounded to 1/256 px, added to the current point), so the same
    arithmetic done here once per (glyph, matrix) gives the very points cairo would store, and
    a run becomes those offsets plus each glyph's start, handed to cairo in one call. (Native
    byte order throughout: the header rows are written through an int32 view.)"""

    recs: np.ndarray  # (n, 2) float64: points; header rows hold cairo's (type, length) bits
    points: np.ndarray  # (n,) bool: which rows are points
    x: float  # the outline's first point, font units (GlyphOutline.x, .y)
    y: float
    empty: bool  # nothing to draw (a space)


# (face, device matrix) -> glyph id -> path; `_device_path_count` paths in all
_device_paths: dict[tuple[str, float, float, float, float], dict[int, _DevicePath]] = {}
_device_path_count = 0


def _device_table(
    face: FontFace, xx: float, yx: float, xy: float, yy: float
) -> dict[int, _DevicePath]:
    """The device paths of `face`'s glyphs under one matrix, by glyph id."""
    key = (face.key, xx, yx, xy, yy)
    table = _device_paths.get(key)
    if table is None:
        table = _device_paths[key] = {}
    return table


def _new_device_path(
    face: FontFace, gid: int, matrix: tuple[float, float, float, float]
) -> tuple[_DevicePath, dict[int, _DevicePath]]:
    """A glyph's device path made and kept, with the table now holding it (a new one when the
    cache was full: it starts afresh, every path cheap to rebuild)."""
    global _device_path_count
    if _device_path_count >= _DEVICE_PATHS_MAX:
        _device_paths.clear()
        _device_path_count = 0
    table = _device_table(face, *matrix)
    path = table[gid] = _device_path(glyph_path(face, gid), *matrix)
    _device_path_count += 1
    return path, table


def _device_path(outline: GlyphOutline, xx: float, yx: float, xy: float, yy: float) -> _DevicePath:
    # Each step: cairo_matrix_transform_distance, then _cairo_fixed_from_double (nearest, ties
    # even), written out inline: a new glyph's whole cost is this loop (a CJK glyph has ~100
    # segments), so no call or tuple per step. `vals` holds two numbers a row: a header row's
    # are placeholders, its (type, length) bits written after.
    vals: list[float] = [0.0, 0.0, 0.0, 0.0]  # the first move, to (0, 0)
    heads, kinds = [0], [_MOVE]
    cx = cy = sx = sy = 0  # the current point and the sub-path's start, relative, fixed
    for cmd, n in outline.ops:
        heads.append(len(vals) >> 1)
        if cmd == "l" or cmd == "m":
            dx, dy = n
            cx += round((xx * dx + xy * dy) * 256)
            cy += round((yx * dx + yy * dy) * 256)
            vals += (0.0, 0.0, cx, cy)
            if cmd == "m":
                sx, sy = cx, cy
            kinds.append(_MOVE if cmd == "m" else _LINE)
        elif cmd == "q" or cmd == "c":
            if cmd == "q":  # CairoSVG's quadratic-to-cubic conversion, relative
                x1, y1 = n[0] * 2 / 3, n[1] * 2 / 3
                ux, uy, vx, vy, ex, ey = x1, y1, x1 + n[2] / 3, y1 + n[3] / 3, n[2], n[3]
            else:
                ux, uy, vx, vy, ex, ey = n
            ax, ay = round((xx * ux + xy * uy) * 256), round((yx * ux + yy * uy) * 256)
            bx, by = round((xx * vx + xy * vy) * 256), round((yx * vx + yy * vy) * 256)
            dx, dy = round((xx * ex + xy * ey) * 256), round((yx * ex + yy * ey) * 256)
            vals += (0.0, 0.0, cx + ax, cy + ay, cx + bx, cy + by, cx + dx, cy + dy)
            cx, cy = cx + dx, cy + dy
            kinds.append(_CURVE)
        else:  # close: cairo's current point returns to the sub-path's start
            vals += (0.0, 0.0)
            kinds.append(_CLOSE)
            cx, cy = sx, sy
    recs = np.array(vals, dtype=np.float64).reshape(-1, 2)
    n_rows = len(recs)
    is_point = np.ones(n_rows, dtype=bool)
    is_point[heads] = False
    ints = recs.view(np.int32).reshape(n_rows, 4)
    ints[heads, 0] = kinds
    ints[heads, 1] = _ROWS[kinds]
    return _DevicePath(recs, is_point, outline.x, outline.y, outline.empty)


class _RunPath(NamedTuple):
    """One glyph run's slice of the scene's path data, with its rows: a band skips runs
    outside it without touching cairo. (A tuple: a CJK card makes one per character.)"""

    path: Any  # cairo_path_t *, pointing into _GlyphData.data
    top: float  # device px: the run's points lie between these rows (so does its outline)
    bottom: float


@dataclass(frozen=True, slots=True)
class _GlyphData:
    """Path data for every glyph run of a scene, built in one pass; `runs[id(run)]` is the
    run's slice of it, as cairo takes it."""

    data: np.ndarray  # (n, 2) float64 cairo_path_data_t for every run, one after another
    keep: Any  # the cdata `runs` point into (kept alive with `data`)
    runs: dict[int, _RunPath]
    ys: np.ndarray  # device y of each glyph's first point
    weights: np.ndarray  # path rows per glyph: roughly what filling it costs
    masks: dict[int, _Mask] = field(default_factory=dict)  # id(shadow) → its blurred silhouette
    fonts: bool = False  # one-colour runs shown as glyphs of user fonts (a PDF: `pdftext`)


def _glyph_runs(
    items: tuple[Item, ...], turned: cairo.Matrix | None = None, fonts: bool = False
) -> list[tuple[GlyphRunItem, cairo.Matrix | None]]:
    """Every glyph run with the CTM its `Rotated` groups give it (None: only the scale); with
    `fonts`, not those a font shows (`_by_font`): they need no path. A shadow's runs always do
    (its silhouette is filled from them)."""
    runs: list[tuple[GlyphRunItem, cairo.Matrix | None]] = []
    for item in items:
        if isinstance(item, GlyphRunItem):
            if not (fonts and _by_font(item)):
                runs.append((item, turned))
        elif isinstance(item, Group):
            runs += _glyph_runs(item.items, turned, fonts)
        elif isinstance(item, ShadowItem):
            runs += _glyph_runs(item.shapes, turned)
        elif isinstance(item, Rotated):
            outer = turned if turned is not None else cairo.Matrix()
            runs += _glyph_runs(item.items, _rotate_matrix(item).multiply(outer), fonts)
    return runs


def _by_font(g: GlyphRunItem) -> bool:
    """A run a PDF shows as glyphs of a font (`pdftext`): one colour, no stroke, a size."""
    return (
        isinstance(g.paint, Color)
        and g.stroke is None
        and _run_scale(g.size, g.face.upem, g.oblique)[0] != 0
    )


def _rotate_matrix(item: Rotated) -> cairo.Matrix:
    """The matrix CairoSVG's `transform="rotate(a cx cy)"` applies (the numbers `svg`
    writes: translate, rotate, translate back, inverted twice)."""
    r = item.rotation
    x, y = _q(r.cx, 3), _q(r.cy, 3)
    matrix = cairo.Matrix()
    matrix.translate(x, y)
    matrix.rotate(math.radians(_q(r.degrees, 4)))
    matrix.translate(-x, -y)
    matrix.invert()
    matrix.invert()
    return matrix


def _image_rows(items: tuple[Item, ...], scale: float) -> list[tuple[int, int]]:
    """Device rows each image touches, a little widened: a band edge must not cross one.
    (Where a clip edge crosses an image, cairo may take another sampling path for the whole
    image and move a pixel by a level; across glyphs and rectangles a pixel-aligned clip is
    exact.)"""
    spans: list[tuple[int, int]] = []
    for item in items:
        if isinstance(item, ImageItem):
            spans.append(_rows_of(item, scale))
        elif isinstance(item, Group):
            spans += _image_rows(item.items, scale)
    return spans


def _rows_of(item: ImageItem, scale: float) -> tuple[int, int]:
    x, y, w, h = item.content or (item.x, item.y, item.width, item.height)
    return _device_rows(min(y, item.y), max(y + h, item.y + item.height), scale, 2)


def _device_rows(top: float, bottom: float, scale: float, margin: int) -> tuple[int, int]:
    """The device rows [first, last) that CSS rows from `top` to `bottom` (either way round:
    cairo takes a negative height) can touch, widened by `margin` rows."""
    top, bottom = sorted((top * scale, bottom * scale))
    return math.floor(top) - margin, math.ceil(bottom) + margin


def _touches(rows: tuple[int, int], band: tuple[int, int]) -> bool:
    return rows[0] < band[1] and rows[1] > band[0]


def _split(scene: Scene, scale: float, glyphs: _GlyphData, height: int) -> int | None:
    """Where to cut the canvas into two bands: near the row with half the glyphs' path rows
    above it (filling glyphs is most of the painting), on a row no image crosses; None when
    the card is too short to be worth two bands or no such row is left, and for a scene with
    a gradient (pixman steps a gradient along each span from where the span starts, so a band
    edge moves some of its pixels by a level) or a turned component (its images and glyphs
    cross rows the bands do not know of)."""
    if height < 2 * _MIN_BAND or _has_gradient(scene) or _has(scene.items, (Rotated, EmojiItem)):
        return None
    if float(glyphs.weights.sum()) < _MIN_SPLIT_PATH:
        return None
    target = height // 2
    if glyphs.ys.size:
        order = np.argsort(glyphs.ys, kind="stable")
        cumulative = np.cumsum(glyphs.weights[order])
        target = int(glyphs.ys[order][np.searchsorted(cumulative, cumulative[-1] / 2)])
    target = min(max(target, _MIN_BAND), height - _MIN_BAND)
    blocked = _image_rows(scene.items, scale)
    free = [
        row
        for row in (target, *(c for _, c in blocked), *(t for t, _ in blocked))
        if _MIN_BAND <= row <= height - _MIN_BAND and not any(t < row < b for t, b in blocked)
    ]
    return min(free, key=lambda row: (abs(row - target), row)) if free else None


def _run_matrix(g: GlyphRunItem, scale: float) -> tuple[float, ...]:
    """The CTM `ctx.scale(scale)` then `ctx.transform(run matrix)` gives (cairo_matrix_multiply
    with the zero terms left out: adding ±0 changes no product)."""
    k, shear = _run_scale(g.size, g.face.upem, g.oblique)
    return (k * scale, 0.0, shear * scale, -k * scale, _q(g.x, 3) * scale, _q(g.y, 3) * scale)


@functools.lru_cache(maxsize=256)
def _run_scale(size: float, upem: int, oblique: bool) -> tuple[float, float]:
    """A run's scale and shear as the SVG writes them: the same for every run of a size and
    face (a CJK line is a run per character: the font comes in unicode-range slices)."""
    k = _q(size / upem, 6)
    return k, _q(size / upem * OBLIQUE_SLANT, 6) if oblique else 0.0


def _glyph_data(scene: Scene, scale: float, fonts: bool = False) -> _GlyphData:
    drawn: list[_DevicePath] = []  # every glyph that draws, run after run
    # ... and its pen position (font units over the run's scale, as the run holds it)
    pen_x: list[float] = []
    pen_y: list[float] = []
    matrices: list[tuple[float, ...]] = []  # (xx, yx, xy, yy, x0, y0, k) of each run drawn
    per_run: list[int] = []  # glyphs each of those runs draws
    spans: list[tuple[int, int, int]] = []  # (id(run), first row, rows)
    row = 0
    for g, turned in _glyph_runs(scene.items, fonts=fonts):
        if _run_scale(g.size, g.face.upem, g.oblique)[0] == 0:  # the SVG skips such runs too:
            continue  # their transform would be singular
        if turned is None:
            xx, yx, xy, yy, x0, y0 = _run_matrix(g, scale)
        else:  # the CTM cairo builds: the run's matrix, the turns, the scale
            ctm = turned.multiply(cairo.Matrix(scale, 0, 0, scale, 0, 0))
            run = _svg_transform(run_matrix(g.size, g.face.upem, g.oblique, g.x, g.y))
            xx, yx, xy, yy, x0, y0 = run.multiply(ctm).as_tuple()
        table = _device_table(g.face, xx, yx, xy, yy)
        first, before = row, len(drawn)
        for gid, gx, gy in g.glyphs:
            path = table.get(gid)
            if path is None:
                path, table = _new_device_path(g.face, gid, (xx, yx, xy, yy))
            if not path.empty:
                drawn.append(path)
                pen_x.append(gx)
                pen_y.append(gy)
                row += len(path.recs)
        if row > first:
            matrices.append((xx, yx, xy, yy, x0, y0, g.size / g.face.upem))
            per_run.append(len(drawn) - before)
            spans.append((id(g), first, row - first))
    recs = [path.recs for path in drawn]
    if not recs:
        return _GlyphData(np.zeros((0, 2)), None, {}, np.zeros(0), np.zeros(0))
    # Each glyph's absolute move as the SVG writes it (`fmt(.., 1)`), through
    # cairo_matrix_transform_point, to fixed point: `_q` and round() over every glyph at once.
    m = np.repeat(np.array(matrices), per_run, axis=0)
    scales = m[:, 6]  # each glyph's run's k
    mx = _q_array(np.array(pen_x) / scales + np.array([path.x for path in drawn]), 1)
    my = _q_array(np.array(pen_y) / scales + np.array([path.y for path in drawn]), 1)
    starts = np.empty((len(drawn), 2))
    np.rint(((m[:, 0] * mx + m[:, 2] * my) + m[:, 4]) * 256, out=starts[:, 0])
    np.rint(((m[:, 1] * mx + m[:, 3] * my) + m[:, 5]) * 256, out=starts[:, 1])
    counts = [len(r) for r in recs]
    data = np.concatenate(recs)
    shift = np.repeat(starts, counts, axis=0)
    is_point = np.concatenate([path.points for path in drawn])
    points = (data + shift) * (1 / 256)  # header rows: integer bits, not numbers (overwritten)
    data = np.where(is_point[:, None], points, data)
    y = np.where(is_point, points[:, 1], np.nan)
    firsts = [first for _, first, _ in spans]
    tops, bottoms = np.fmin.reduceat(y, firsts).tolist(), np.fmax.reduceat(y, firsts).tolist()
    buffer = ffi.cast("cairo_path_data_t *", ffi.from_buffer(data))
    paths = ffi.new("cairo_path_t[]", len(spans))  # status 0 (success) in every one
    runs = {}
    for i, ((key, first, n), top, bottom) in enumerate(zip(spans, tops, bottoms, strict=True)):
        path = paths + i
        path.data, path.num_data = buffer + first, n
        runs[key] = _RunPath(path, top, bottom)
    ys = starts[:, 1] / 256
    return _GlyphData(data, (buffer, paths), runs, ys, np.array(counts, dtype=np.float64))


def paint_glyph_run(
    ctx: cairo.Context, g: GlyphRunItem, glyphs: _GlyphData, band: tuple[int, int]
) -> None:
    run = glyphs.runs.get(id(g))
    if run is None:
        if glyphs.fonts and isinstance(g.paint, Color) and _by_font(g):  # a PDF's: no path
            from . import pdftext  # only a PDF asks: its user fonts stay out of start-up

            ctx.save()
            _set_color(ctx, g.paint)
            pdftext.show_run(ctx, g)
            ctx.restore()
        return  # else nothing to see
    if g.stroke is None:
        reach = 0.0
    else:
        m = ctx.get_matrix()
        reach = 2 * g.stroke.width * math.hypot(m.xx, m.yx) + 2
    if not _run_in_band(run, band, reach):
        return  # nothing in this band
    stroke = g.stroke
    if stroke is None or stroke.position != "outside":
        _fill_run(ctx, g, run)
    if stroke is not None:
        width = stroke.width if stroke.position == "center" else 2 * stroke.width
        _stroke_run(ctx, g, run, width, clipped=stroke.position == "inside")
    if stroke is not None and stroke.position == "outside":
        _fill_run(ctx, g, run)


def _run_in_band(run: _RunPath, band: tuple[int, int], reach: float = 0.0) -> bool:
    """Whether a run's points, widened by `reach` (a stroke's), can touch the band's rows."""
    return not (run.bottom + reach < band[0] - 1 or run.top - reach > band[1] + 1)


def _fill_run(ctx: cairo.Context, g: GlyphRunItem, run: _RunPath) -> None:
    p = ctx._pointer
    if isinstance(g.paint, Color):
        _fill_solid(p, g.paint, run)
        return
    _C.cairo_save(p)
    # a gradient is set under the run's transform, as CairoSVG sets it: it is locked there
    inside = run_matrix(g.size, g.face.upem, g.oblique, g.x, g.y)
    ctx.transform(_svg_transform(inside))
    ctx.set_source(_gradient(g.paint, inside))
    _C.cairo_identity_matrix(p)  # the points are device pixels already
    _C.cairo_append_path(p, run.path)
    _C.cairo_fill(p)
    _C.cairo_restore(p)
    _check_status(_C.cairo_status(p))


def _fill_solid(p: Any, color: Color, run: _RunPath) -> None:
    """A one-colour run in as few calls into cairo as it takes (each lets the other band's
    thread take the GIL, and each waits to get it back): under an identity CTM (a card at
    scale 1) the points, device pixels already, are filled as they are, with no save and
    restore. Every painter sets its own source, so the colour left behind is never used."""
    matrix = ffi.new("cairo_matrix_t *")
    _C.cairo_get_matrix(p, matrix)
    device = (matrix.xx, matrix.yx, matrix.xy, matrix.yy, matrix.x0, matrix.y0) == _IDENTITY
    _fill(p, _Fill(_rgba(color), run.path), device)
    _check_status(_C.cairo_status(p))


_IDENTITY = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)


def _stroke_run(
    ctx: cairo.Context, g: GlyphRunItem, run: _RunPath, width: float, clipped: bool
) -> None:
    """The run's path stroked as CairoSVG strokes the SVG's: appended in device pixels (the
    points the fill uses), then stroked under the run's transform, whose units the width is
    written in (the pen is the CTM's), with round joins and CairoSVG's miter limit; `clipped`
    first clips to the glyphs (an inside stroke)."""
    assert g.stroke is not None
    p = ctx._pointer
    _C.cairo_save(p)
    ctm = _svg_transform(run_matrix(g.size, g.face.upem, g.oblique, g.x, g.y))
    ctm = ctm.multiply(ctx.get_matrix())
    _C.cairo_identity_matrix(p)
    if clipped:
        _C.cairo_append_path(p, run.path)
        _C.cairo_clip(p)
    _C.cairo_append_path(p, run.path)
    ctx.set_matrix(ctm)
    ctx.set_line_width(_q(width * g.face.upem / g.size, 2))
    ctx.set_line_join(cairo.LINE_JOIN_ROUND)
    ctx.set_miter_limit(4)
    _set_color(ctx, g.stroke.color)
    _C.cairo_stroke(p)
    _C.cairo_restore(p)
    _check_status(_C.cairo_status(p))


def _svg_transform(m: Affine) -> cairo.Matrix:
    """The matrix CairoSVG's `transform="matrix(...)"` applies: the written one, inverted and
    inverted back (its way of testing that it can be inverted)."""
    matrix = cairo.Matrix(*m).multiply(cairo.Matrix())
    matrix.invert()
    matrix.invert()
    return matrix


def _premultiplied(image: Image.Image) -> bytearray:
    """`image`'s pixels as ARGB32 rows, premultiplied the way cairo's PNG loader does it.

    Pillow's RGBA → RGBa conversion rounds exactly as cairo does (c·a/255 to nearest, the
    `(t + (t >> 8)) >> 8` form), in C: a 16-megapixel image takes 0.4 s instead of 2.4 s in
    numpy. ARGB32 rows need no padding (four bytes a pixel), so the bytes are the surface."""
    return bytearray(image.convert("RGBA").convert("RGBa").tobytes("raw", "BGRa"))


def _image_surface(image: LoadedImage) -> cairo.ImageSurface:
    """A cairo surface over the image's premultiplied pixels, converted on its first draw only
    (`LoadedImage.for_painter`: the copy stays with the image in the fitted-image cache). cairo
    only reads a source, so one copy serves every thread; each draw wraps it in a surface of
    its own."""
    data = image.for_painter(_premultiplied)
    w, h = image.pixels.size
    stride = cairo.ImageSurface.format_stride_for_width(cairo.FORMAT_ARGB32, w)
    assert stride == 4 * w
    return cairo.ImageSurface.create_for_data(data, cairo.FORMAT_ARGB32, w, h, stride)


def paint_cells(ctx: cairo.Context, item: Cells) -> None:
    """The path svg.cells writes, drawn as CairoSVG draws it: under the path's own transform,
    each run a move and three relative lines, closed; nonzero, so touching runs join."""
    inside = (
        written(item.cell, 6),
        0.0,
        0.0,
        written(item.cell, 6),
        written(item.x, 3),
        written(item.y, 3),
    )
    ctx.save()
    ctx.transform(_svg_transform(inside))
    for r, c, n in item.runs:
        ctx.move_to(c, r)
        ctx.rel_line_to(n, 0)
        ctx.rel_line_to(0, 1)
        ctx.rel_line_to(-n, 0)
        ctx.close_path()
    if isinstance(item.paint, Color):
        _set_color(ctx, item.paint)
    else:
        ctx.set_source(_gradient(item.paint, inside))
    ctx.fill()
    ctx.restore()


def paint_ring(ctx: cairo.Context, r: Ring) -> None:
    """A border ring, as the SVG writes it: the outline and the inset outline, even-odd."""
    ctx.save()
    _rounded(ctx, r.x, r.y, r.width, r.height, r.corners)
    b = r.thickness
    if r.width - 2 * b > 0 and r.height - 2 * b > 0:
        _rounded(ctx, r.x + b, r.y + b, r.width - 2 * b, r.height - 2 * b, r.corners.inset(b))
    ctx.set_fill_rule(cairo.FILL_RULE_EVEN_ODD)
    _set_color(ctx, r.color)
    ctx.fill()
    ctx.restore()


def paint_image(ctx: cairo.Context, item: ImageItem, scale: float) -> None:
    bordered = item.border_color is not None and item.border_width > 0
    layered = bordered or item.overlay is not None
    if layered and item.opacity < 1:
        ctx.push_group()
    ctx.save()
    if not item.corners.square:
        _rounded(ctx, item.x, item.y, item.width, item.height, item.corners)
        ctx.set_tolerance(0.1)  # CairoSVG restores cairo's default before it clips
        ctx.clip()
    x, y, w, h = item.content or (item.x, item.y, item.width, item.height)
    source = _image_surface(item.image.for_raster(scale))
    pattern = cairo.SurfacePattern(source)
    pattern.set_filter(cairo.FILTER_GOOD)
    ctx.translate(_q(x), _q(y))
    ctx.scale(_q(w) / source.get_width(), _q(h) / source.get_height())
    ctx.set_source(pattern)
    ctx.paint_with_alpha(1.0 if layered or item.opacity >= 1 else _q(item.opacity, 4))
    ctx.restore()
    if item.overlay is not None:
        box = (item.x, item.y, item.width, item.height, item.corners)
        paint_rect(ctx, Rect(*box, item.overlay))
    if bordered and item.border_color is not None:
        ring = (item.x, item.y, item.width, item.height, item.corners, item.border_width)
        paint_ring(ctx, Ring(*ring, item.border_color))
    if layered and item.opacity < 1:
        ctx.pop_group_to_source()
        ctx.paint_with_alpha(_q(item.opacity, 4))


def _paint(
    ctx: cairo.Context, item: Item, glyphs: _GlyphData, band: tuple[int, int], scale: float
) -> None:
    match item:
        case Rect():
            if _touches(_box_rows(item.y, item.height, scale), band):
                paint_rect(ctx, item)
        case Ring():
            if _touches(_box_rows(item.y, item.height, scale), band):
                paint_ring(ctx, item)
        case GlyphRunItem():
            paint_glyph_run(ctx, item, glyphs, band)
        case ImageItem():
            # Only the band holding the image draws it (no band edge crosses an image), so the
            # two threads never share its Pillow pixels: converting one image from two threads
            # at once is not safe.
            if _touches(_rows_of(item, scale), band):
                paint_image(ctx, item, scale)
        case Group():
            ctx.push_group()
            for sub in item.items:
                _paint(ctx, sub, glyphs, band, scale)
            ctx.pop_group_to_source()
            ctx.paint_with_alpha(_q(item.opacity, 4))
        case ShadowItem():
            paint_shadow(ctx, item, glyphs, band)
        case Cells():
            paint_cells(ctx, item)
        case Rotated():
            ctx.save()
            ctx.transform(_rotate_matrix(item))
            for sub in item.items:  # a turned scene is one band; its image rows are not known
                _paint(ctx, sub, glyphs, _ANYWHERE, scale)
            ctx.restore()
        case EmojiItem():  # only where CairoSVG cannot draw the scene (a blur; a PDF)
            paint_emoji(ctx, item)
        case _:
            assert_never(item)


_ANYWHERE = (-(2**31), 2**31)  # device rows: a band that holds everything


def _box_rows(y: float, height: float, scale: float) -> tuple[int, int]:
    """The device rows a box (a Rect or Ring: its fill never leaves it) can touch, with a row
    of margin. A band skips a box wholly outside it, which would be clipped away whole: a
    tag's rounded outline takes two dozen calls into cairo, each of which lets the other
    band's thread take the GIL and waits to get it back (0.3 ms on two threads against 0.06
    on one), and its arcs flatten into some 270 lines."""
    return _device_rows(y, y + height, scale, 1)


_EMOJI_MAX = 512  # recorded emoji drawings kept (a few KB of drawing commands each)
_emoji: dict[str, tuple[cairo.RecordingSurface, float]] = {}
_emoji_lock = threading.Lock()


def _emoji_drawing(key: str) -> tuple[cairo.RecordingSurface, float]:
    """The Twemoji drawing as CairoSVG draws it, recorded (vector: a PDF embeds it as a
    drawing, a raster replays it at its resolution), and its side in its own units."""
    import cairosvg.parser
    import cairosvg.surface

    class _Recording(cairosvg.surface.Surface):  # type: ignore[misc]
        def _create_surface(self, width: float, height: float) -> tuple[Any, float, float]:
            extents = (0, 0, width, height)
            return cairo.RecordingSurface(cairo.CONTENT_COLOR_ALPHA, extents), width, height

    with _emoji_lock:
        found = _emoji.get(key)
        if found is None:
            if len(_emoji) >= _EMOJI_MAX:
                _emoji.clear()
            source = library().emoji.svg(key).encode("utf-8")
            drawn = _Recording(cairosvg.parser.Tree(bytestring=source, unsafe=False), None, 96)
            found = _emoji[key] = (drawn.cairo, float(drawn.width))
        return found


def paint_emoji(ctx: cairo.Context, item: EmojiItem) -> None:
    """A colour emoji in its square, from its recorded drawing (used where the scene is not
    drawn through CairoSVG: a scene with a blur, and PDF)."""
    drawing, side = _emoji_drawing(item.key)
    ctx.save()
    ctx.translate(item.x, item.y)
    ctx.scale(item.size / side, item.size / side)
    ctx.set_source_surface(drawing, 0, 0)
    ctx.paint_with_alpha(item.opacity)
    ctx.restore()


@dataclass(frozen=True, slots=True)
class _Mask:
    """A shadow's blurred silhouette, made once per card (both bands composite it)."""

    surface: cairo.ImageSurface  # A8, device pixels
    x: float  # device px of its top-left corner (fractional for a silhouette moved by another
    y: float  # shadow's offset)


def _shadows(items: tuple[Item, ...], ctm: cairo.Matrix) -> list[tuple[ShadowItem, cairo.Matrix]]:
    """Every blurred shadow with the CTM it is drawn under."""
    found: list[tuple[ShadowItem, cairo.Matrix]] = []
    for item in items:
        if isinstance(item, ShadowItem) and item.sigma > 0:
            found.append((item, ctm))
        elif isinstance(item, Group):
            found += _shadows(item.items, ctm)
        elif isinstance(item, Rotated):
            found += _shadows(item.items, _rotate_matrix(item).multiply(ctm))
    return found


def _silhouette_key(item: ShadowItem, ctm: cairo.Matrix) -> Hashable:
    """What a silhouette is, wherever its offset moved it: shadows of one element that
    differ only in offset and blur (a text's glow and drop shadow) draw it once."""
    dx, dy = item.offset
    shapes: list[Hashable] = []
    for s in item.shapes:
        if isinstance(s, Rect):
            shapes.append((s.x - dx, s.y - dy, s.width, s.height, s.corners))
        else:
            shapes.append((s.face.key, s.size, s.oblique, s.x - dx, s.y - dy, s.glyphs, s.stroke))
    return tuple(shapes), ctm.as_tuple()


def _shadow_masks(scene: Scene, scale: float, glyphs: _GlyphData) -> None:
    """Draw every silhouette once and blur it for each shadow that casts it (into
    `glyphs.masks`) before the bands paint."""
    canvas = (round(scene.width * scale), round(scene.height * scale))
    groups: dict[Hashable, list[tuple[ShadowItem, cairo.Matrix]]] = {}
    for item, ctm in _shadows(scene.items, cairo.Matrix(scale, 0, 0, scale, 0, 0)):
        groups.setdefault(_silhouette_key(item, ctm), []).append((item, ctm))
    for group in groups.values():
        check_deadline()
        _blur_group(group, glyphs, canvas)


def _device_box(box: Box, ctm: cairo.Matrix) -> tuple[float, float, float, float]:
    points = [
        ctm.transform_point(x, y)
        for x in (box.x, box.x + box.width)
        for y in (box.y, box.y + box.height)
    ]
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return min(xs), min(ys), max(xs), max(ys)


def _blur_group(
    group: list[tuple[ShadowItem, cairo.Matrix]], glyphs: _GlyphData, canvas: tuple[int, int]
) -> None:
    """One silhouette, drawn where the first shadow casts it on an A8 surface wide enough
    for every shadow of the group (cut to the canvas widened as much: what lies further off
    cannot reach a pixel); then, for each shadow, the part three of its standard deviations
    around it blurred, placed where its offset moves it."""
    first, ctm = group[0]
    k = math.hypot(ctm.xx, ctm.yx)  # device px per card px
    moves = [
        ctm.transform_distance(i.offset[0] - first.offset[0], i.offset[1] - first.offset[1])
        for i, _ in group
    ]
    pads = [math.ceil(3 * i.sigma * k) + 1 for i, _ in group]
    reach = max(pads) + math.ceil(max(max(abs(mx), abs(my)) for mx, my in moves))
    x0, y0, x1, y1 = _device_box(first.bounds, ctm)
    left, top = max(math.floor(x0) - reach, -reach), max(math.floor(y0) - reach, -reach)
    right = min(math.ceil(x1) + reach, canvas[0] + reach)
    bottom = min(math.ceil(y1) + reach, canvas[1] + reach)
    if right <= left or bottom <= top:
        return
    rows = _silhouette(first, ctm, glyphs, (left, top, right, bottom))
    for (item, _), (mx, my), pad in zip(group, moves, pads, strict=True):
        # this shadow's part of the silhouette: its ink three deviations wide, and no more
        # than can land on the canvas widened as much once it is moved
        a = max(math.floor(x0) - pad, math.floor(-pad - mx), left) - left
        b = max(math.floor(y0) - pad, math.floor(-pad - my), top) - top
        c = min(math.ceil(x1) + pad, math.ceil(canvas[0] + pad - mx), right) - left
        d = min(math.ceil(y1) + pad, math.ceil(canvas[1] + pad - my), bottom) - top
        if c > a and d > b:
            blurred = _blurred(rows[b:d, a:c], item.sigma * k)
            glyphs.masks[id(item)] = _Mask(blurred, left + a + mx, top + b + my)


def _silhouette(
    item: ShadowItem, ctm: cairo.Matrix, glyphs: _GlyphData, area: tuple[int, int, int, int]
) -> np.ndarray:
    """The coverage of the item's shapes over the device rectangle `area` (left, top, right,
    bottom), one byte a pixel."""
    left, top, right, bottom = area
    surface = cairo.ImageSurface(cairo.FORMAT_A8, right - left, bottom - top)
    surface.set_device_offset(-left, -top)
    ctx = cairo.Context(surface)
    ctx.set_matrix(ctm)
    for shape in item.shapes:
        if isinstance(shape, Rect):
            paint_rect(ctx, shape)
        else:
            paint_glyph_run(ctx, shape, glyphs, _ANYWHERE)
    surface.flush()
    stride = surface.get_stride()
    data = np.frombuffer(surface.get_data(), dtype=np.uint8).reshape(bottom - top, stride)
    rows: np.ndarray = data[:, : right - left].copy()  # the surface's memory goes with it
    return rows


def _blurred(rows: np.ndarray, sigma: float) -> cairo.ImageSurface:
    """`rows` (coverage, one byte a pixel) blurred by a Gaussian of `sigma` device px, as an
    A8 surface (Pillow's blur: three box blurs of the sizes that give its variance, linear in
    the pixels whatever `sigma` is). Edge pixels extend past the border, which is right at a
    cut through a silhouette that goes on."""
    h, w = rows.shape
    blurred = Image.fromarray(np.ascontiguousarray(rows), "L").filter(
        ImageFilter.GaussianBlur(sigma)
    )
    stride = cairo.ImageSurface.format_stride_for_width(cairo.FORMAT_A8, w)
    out = np.zeros((h, stride), dtype=np.uint8)
    out[:, :w] = np.asarray(blurred)
    return cairo.ImageSurface.create_for_data(
        bytearray(out.tobytes()), cairo.FORMAT_A8, w, h, stride
    )


def paint_shadow(
    ctx: cairo.Context, item: ShadowItem, glyphs: _GlyphData, band: tuple[int, int]
) -> None:
    """A shadow as the SVG draws it: clipped to outside the element's outline (a box
    shadow), the silhouette in the shadow's colour, blurred (a mask drawn before the bands)
    or hard-edged (drawn here, as CairoSVG draws the SVG's group), faded by its alpha."""
    if item.sigma > 0 and id(item) not in glyphs.masks:
        return  # wholly off the canvas
    ctx.save()
    if item.cutout is not None:
        c = item.cutout
        x, y, w, h = item.region
        ctx.move_to(_q(x), _q(y))
        ctx.line_to(_q(x + w), _q(y))
        ctx.line_to(_q(x + w), _q(y + h))
        ctx.line_to(_q(x), _q(y + h))
        ctx.close_path()
        _reversed(ctx, c.x, c.y, c.width, c.height, c.corners)
        ctx.set_tolerance(0.1)  # CairoSVG restores cairo's default before it clips
        ctx.clip()
    if item.sigma > 0:
        mask = glyphs.masks[id(item)]
        _set_color(ctx, item.color)
        ctx.identity_matrix()
        ctx.mask_surface(mask.surface, mask.x, mask.y)
    else:
        faded = item.color.a < 255
        if faded:
            ctx.push_group()
        for shape in item.shapes:
            if isinstance(shape, Rect):
                paint_rect(ctx, shape)
            else:
                paint_glyph_run(ctx, shape, glyphs, band)
        if faded:
            ctx.pop_group_to_source()
            ctx.paint_with_alpha(_q(item.color.a / 255, 4))
    ctx.restore()


def needs_svg(scene: Scene) -> bool:
    """Whether `paint_scene` will draw this scene through CairoSVG: it holds emoji, and no
    blur (which CairoSVG does not draw; then the painter draws the emoji itself)."""
    return _has_emoji(scene.items) and not _has_blur(scene.items)


def _has_blur(items: tuple[Item, ...]) -> bool:
    for item in items:
        if isinstance(item, ShadowItem) and item.sigma > 0:
            return True
        if isinstance(item, Group | Rotated) and _has_blur(item.items):
            return True
    return False


def _has(items: tuple[Item, ...], kind: type | tuple[type, ...]) -> bool:
    """Whether any item, at any depth, is a `kind`."""
    for item in items:
        if isinstance(item, kind):
            return True
        if isinstance(item, Group | Rotated) and _has(item.items, kind):
            return True
    return False


def _has_gradient(scene: Scene) -> bool:
    fills = [scene.background] if scene.background is not None else []
    return any(not isinstance(f, Color) for f in fills) or _gradient_items(scene.items)


def _gradient_items(items: tuple[Item, ...]) -> bool:
    for item in items:
        if isinstance(item, Rect | GlyphRunItem | Cells) and not isinstance(item.paint, Color):
            return True
        if isinstance(item, ImageItem) and item.overlay is not None:
            if not isinstance(item.overlay, Color):
                return True
        if isinstance(item, Group | Rotated) and _gradient_items(item.items):
            return True
    return False


def _has_emoji(items: tuple[Item, ...]) -> bool:
    return _has(items, EmojiItem)


def paint_scene(scene: Scene, scale: float = 1.0, svg: bytes | None = None) -> Raster:
    """Draw `scene` at `scale`; scenes with emoji (and no blur) go through CairoSVG (`svg`
    must be given)."""
    if needs_svg(scene):
        if svg is None:
            msg = "a scene with emoji needs its SVG for the CairoSVG path"
            raise RasterError(msg)
        drawn = rasterize(svg, scale)
        background = scene.background
        if background is None or not fill_opaque(background) or drawn.opaque:
            return drawn
        under = background if isinstance(background, Color) else background.stops[-1][1]
        return _over(drawn, under)
    width, height = round(scene.width * scale), round(scene.height * scale)
    stride = cairo.ImageSurface.format_stride_for_width(cairo.FORMAT_ARGB32, width)
    opaque = scene.background is not None and fill_opaque(scene.background)
    # Ours, so the raster outlives cairo's. An opaque background is painted over every device
    # pixel by the bands first, whatever they held (OVER an opaque source gives the source
    # alone), so such a canvas needs no clearing: 3 MB a 1200 x 630 card not written twice.
    rows = (np.empty if opaque else np.zeros)((height, stride), dtype=np.uint8)
    try:
        glyphs = _glyph_data(scene, scale)
        _shadow_masks(scene, scale, glyphs)
        split = _split(scene, scale, glyphs, height)
        with parallel.helper() as pool:
            if pool is None or split is None:
                whole = _band_plan(scene, glyphs, (0, height))
                _paint_band(scene, scale, glyphs, rows, 0, height, whole)
            else:  # the lower band on the helper thread (cairo drops the GIL while it fills)
                upper = _band_plan(scene, glyphs, (0, split))
                lower = _band_plan(scene, glyphs, (split, height))
                parallel.beside(
                    pool,
                    lambda: _paint_band(scene, scale, glyphs, rows, 0, split, upper),
                    lambda: _paint_band(scene, scale, glyphs, rows, split, height, lower),
                )
    except cairo.Error as e:
        msg = f"cairo could not draw the card: {e}"
        raise RasterError(msg) from e
    return _to_raster(rows, width, height, opaque)


class _Fill(NamedTuple):
    """A one-colour glyph run of a band's plan: all its painting is these three cairo calls."""

    rgba: tuple[float, float, float, float]
    path: Any  # cairo_path_t *, device pixels (`_RunPath.path`)


def _band_plan(scene: Scene, glyphs: _GlyphData, band: tuple[int, int]) -> list[Item | _Fill]:
    """The scene's items in order for one band, made in the caller's thread before the bands
    start: each top-level one-colour glyph run without a stroke as a `_Fill` (left out when its
    rows miss the band, as `paint_glyph_run` would), every other item as it is. The bands'
    threads then spend as little time as they can holding the GIL between fills: each return
    from cairo must wait for the GIL whenever the other band's thread holds it, and on this
    project's 2-core machine such a wait costs tens of microseconds (cjk: paint 0.92x)."""
    plan: list[Item | _Fill] = []
    for item in scene.items:
        if isinstance(item, GlyphRunItem) and item.stroke is None and isinstance(item.paint, Color):
            run = glyphs.runs.get(id(item))
            if run is None:  # no path: nothing to see, or a font shows it (`paint_glyph_run`)
                plan.append(item)
            elif _run_in_band(run, band):
                plan.append(_Fill(_rgba(item.paint), run.path))
        else:
            plan.append(item)
    return plan


def _fill(p: Any, fill: _Fill, device: bool) -> None:
    """A one-colour run filled in device pixels; `device`: the CTM is the identity already
    (else it is set so for the fill, and put back)."""
    if not device:
        _C.cairo_save(p)
        _C.cairo_identity_matrix(p)
    _C.cairo_set_source_rgba(p, *fill.rgba)
    _C.cairo_append_path(p, fill.path)
    _C.cairo_fill(p)
    if not device:
        _C.cairo_restore(p)


def _paint_band(
    scene: Scene,
    scale: float,
    glyphs: _GlyphData,
    rows: np.ndarray,
    top: int,
    bottom: int,
    plan: list[Item | _Fill],
) -> None:
    """Draw the whole scene, clipped to the rows [top, bottom). Each band has its own cairo
    surface over the whole canvas, so every path and image lands where a single surface would
    put it, and a pixel-aligned clip changes no pixel inside it."""
    height, stride = rows.shape
    surface = cairo.ImageSurface.create_for_data(
        rows.reshape(-1).data, cairo.FORMAT_ARGB32, round(scene.width * scale), height, stride
    )
    ctx = cairo.Context(surface)
    if (top, bottom) != (0, height):
        ctx.rectangle(0, top, surface.get_width(), bottom - top)
        ctx.clip()
    ctx.scale(scale, scale)
    if scene.background is not None:
        # Every device pixel, in device space: at a scale that makes the card a fractional
        # number of pixels (120 px × 0.73 = 87.6), the card's own rectangle would leave the last
        # row and column part-covered, and an opaque card's PNG would show them as a grey line.
        ctx.save()
        _set_fill(ctx, scene.background)  # a gradient is locked to the card's user space
        ctx.identity_matrix()
        ctx.rectangle(0, 0, surface.get_width(), height)
        ctx.fill()
        ctx.restore()
    p = ctx._pointer
    device = scale == 1  # the CTM at the top level: the scale, as `_fill_solid` would find
    for entry in plan:
        if top == 0:  # the caller's thread (the helper thread has no deadline of its own)
            check_deadline()
        if isinstance(entry, _Fill):
            _fill(p, entry, device)
        else:
            _paint(ctx, entry, glyphs, (top, bottom), scale)
    _check_status(_C.cairo_status(p))  # a failed fill leaves the context failed: said here
    surface.finish()


def paint_onto(
    ctx: cairo.Context,
    scene: Scene,
    scale: float,
    size: tuple[float, float],
    glyph_fonts: bool = False,
) -> None:
    """Draw `scene` on any cairo context whose device space is `scale` units per CSS px and
    `size` units large (a PDF page under a device scale): the calls `paint_scene` makes, in
    one band, emoji drawn from their recorded drawings; with `glyph_fonts`, one-colour glyph
    runs as glyphs of fonts the surface embeds (see `pdftext`)."""
    glyphs = replace(_glyph_data(scene, scale, glyph_fonts), fonts=glyph_fonts)
    _shadow_masks(scene, scale, glyphs)
    ctx.scale(scale, scale)
    if scene.background is not None:
        ctx.save()
        _set_fill(ctx, scene.background)
        ctx.identity_matrix()
        ctx.rectangle(0, 0, *size)
        ctx.fill()
        ctx.restore()
    for item in scene.items:
        check_deadline()
        _paint(ctx, item, glyphs, _ANYWHERE, scale)
