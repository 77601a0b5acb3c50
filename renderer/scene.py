"""Scene stage: a `CardLayout` (and its fitted images) in, absolutely positioned primitives out.

The scene is the one description both the SVG builder and any raster path read; nothing after it
knows what a "tag", a "divider" or a "stack" is. Component opacity is folded into colours where a
component is one primitive, and becomes a `Group` where overlapping parts must fade together (a
tag, a bordered image, a stack and everything in it).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from typing_extensions import assert_never

from . import qr
from .fonts import OBLIQUE_SLANT, FontFace
from .geometry import Box, Corners, Rotation
from .imagefit import FittedImage
from .layout import (
    CardLayout,
    Decoration,
    DividerBox,
    ImageBox,
    LayoutBox,
    PlacedEmoji,
    QrBox,
    ShapeBox,
    StackBox,
    TagBox,
    TextBox,
    TextLayout,
)
from .model import Color, Paint, Shadow, Stroke, visible
from .paint import Fill, LinearFill, RadialFill, fill_for

__all__ = [
    "Cells",
    "EmojiItem",
    "Fill",
    "GlyphRunItem",
    "Group",
    "ImageItem",
    "Item",
    "LinearFill",
    "RadialFill",
    "Rect",
    "Ring",
    "Rotated",
    "Scene",
    "ShadowItem",
    "build_scene",
]


@dataclass(frozen=True, slots=True)
class Rect:
    """A filled (rounded) box: backgrounds, tags, dividers, shapes, span backgrounds and
    underlines."""

    x: float  # px
    y: float  # px
    width: float  # px
    height: float  # px
    corners: Corners  # px, fitted to the box
    paint: Fill


@dataclass(frozen=True, slots=True)
class Ring:
    """A border: the (rounded) box minus the same box inset by `thickness` on every side (inner
    radii = radii - thickness), filled even-odd, so it never grows the box."""

    x: float  # px, the outer box
    y: float  # px
    width: float  # px
    height: float  # px
    corners: Corners  # px, outer, fitted to the box
    thickness: float  # px, capped at half the smaller side
    color: Color


@dataclass(frozen=True, slots=True)
class GlyphRunItem:
    """Glyphs of one face, size and paint on one baseline: the unit SVG writes as one path
    and the raster fills in one call."""

    face: FontFace
    size: float  # px
    oblique: bool  # shear by OBLIQUE_SLANT
    x: float  # px, run origin
    y: float  # px, baseline
    glyphs: tuple[tuple[int, float, float], ...]  # (glyph id, x px from origin, y px up)
    paint: Fill  # a gradient is placed on the card, not on the run
    stroke: Stroke | None = None  # an outline of the glyphs (px, card units)


@dataclass(frozen=True, slots=True)
class ImageItem:
    """An image clipped to its (rounded) box, with an optional scrim over it and an optional
    border inside that outline.

    The box is the clip outline; `content` is where the pixels land when that is not the whole
    box (fit contain or none). The border is the ring between the outline and the same outline
    inset by `border_width` (inner radii = radii - border_width), painted over the image, so
    it never grows the box; image and border fade together under `opacity`.
    """

    x: float  # px, the box
    y: float  # px
    width: float  # px
    height: float  # px
    corners: Corners  # px, fitted to the box
    opacity: float  # 0..1
    image: FittedImage  # resampled for each painter (`for_raster`, `for_svg`)
    content: tuple[float, float, float, float] | None = None  # px x, y, w, h; None = the box
    border_width: float = 0.0  # px, capped at half the smaller side; 0 = no border
    border_color: Color | None = None  # straight alpha; None = no border
    overlay: Fill | None = None  # a scrim over the pixels, inside the outline, under the border


@dataclass(frozen=True, slots=True)
class EmojiItem:
    """One colour emoji, drawn from its Twemoji SVG."""

    key: str  # Twemoji file name; the drawing comes from the bundled archive
    x: float  # px, left of the square
    y: float  # px, top of the square
    size: float  # px, side of the square
    opacity: float  # 0..1


@dataclass(frozen=True, slots=True)
class Group:
    """Items composited together before their opacity is applied, as CSS opacity does
    (overlaps do not show through)."""

    opacity: float  # 0..1, applied to the composited items
    items: tuple[Item, ...]


@dataclass(frozen=True, slots=True)
class Cells:
    """Filled squares of a grid, drawn as one path so that neighbours join without a seam:
    runs of cells along its rows (a QR code's dark modules)."""

    x: float  # px, the top-left corner of cell (0, 0)
    y: float  # px
    cell: float  # px, the side of a cell
    runs: tuple[tuple[int, int, int], ...]  # (row, first column, length)
    paint: Fill


@dataclass(frozen=True, slots=True)
class Rotated:
    """Items drawn turned about a point (a component's `rotate`): their coordinates are the
    component's own, unturned."""

    rotation: Rotation
    items: tuple[Item, ...]


@dataclass(frozen=True, slots=True)
class ShadowItem:
    """A shadow: the silhouette of `shapes` (placed where the shadow falls, filled with the
    shadow's colour at full alpha), blurred by a Gaussian of `sigma`, faded by the colour's
    alpha, and, for a box shadow, not drawn inside the element's own outline (`cutout`)."""

    shapes: tuple[Rect | GlyphRunItem, ...]
    sigma: float  # px, standard deviation of the blur (CSS blur radius / 2); 0 = hard edge
    color: Color  # straight alpha: how strong the silhouette shows
    bounds: Box  # px: where the silhouette's ink lies, before the blur spreads it
    cutout: Rect | None = None  # the element's outline (box shadows), or None (text shadows)
    offset: tuple[float, float] = (0.0, 0.0)  # px the silhouette was moved from its element

    @property
    def region(self) -> tuple[float, float, float, float]:
        """(x, y, width, height) px the blurred silhouette can reach: three standard
        deviations past its ink, and for a box shadow the element's outline too (the clip
        that keeps it outside is drawn around both)."""
        m = 3 * self.sigma
        b = self.bounds
        x0, y0, x1, y1 = b.x - m, b.y - m, b.x + b.width + m, b.y + b.height + m
        if self.cutout is not None:
            c = self.cutout
            x0, y0 = min(x0, c.x), min(y0, c.y)
            x1, y1 = max(x1, c.x + c.width), max(y1, c.y + c.height)
        return x0, y0, x1 - x0, y1 - y0


Item = Rect | Ring | GlyphRunItem | EmojiItem | ImageItem | Group | Rotated | ShadowItem | Cells


@dataclass(frozen=True, slots=True)
class Scene:
    """Positioned primitives for one card: the only input of the SVG writer and the raster,
    so both draw the same card."""

    width: int  # px
    height: int  # px
    background: Fill | None  # None = transparent
    items: tuple[Item, ...]


_SQUARE = Corners.uniform(0.0)


def _cap(radius: float, width: float, height: float) -> Corners:
    return Corners.fit((radius, radius, radius, radius), width, height)


def _glyph_runs(
    text: TextLayout,
    own: Paint,
    paint: Fill,
    box: Box,
    opacity: float = 1.0,
    stroke: Stroke | None = None,
) -> list[Item]:
    """A text's glyph runs, each in its own span's colour (`paint`, the component's `own` paint
    placed on `box` with its opacity, where the span's is the same) and the component's
    `stroke`, over its spans' backgrounds and under their underlines and strike-throughs (a
    gradient spans `box`)."""
    items: list[Item] = []
    for line in text.lines:
        items += [_band(d, box, opacity) for d in line.decorations if d.kind == "background"]
        for r in line.runs:
            if isinstance(r, PlacedEmoji):
                items.append(EmojiItem(r.key, r.x, r.y, r.size, opacity))
            elif r.glyphs:
                span = own if r.style is None else r.style.color
                same = span is own or span == own
                fill = paint if same else _fill(span, box, opacity)
                run = GlyphRunItem(r.face, r.size, r.oblique, r.x, r.y, r.glyphs, fill, stroke)
                items.append(run)
        items += [_band(d, box, opacity) for d in line.decorations if d.kind != "background"]
    return items


def _band(d: Decoration, box: Box, opacity: float) -> Rect:
    return Rect(d.x, d.y, d.width, d.height, _SQUARE, _fill(d.color, box, opacity))


def _spread_radius(r: float, spread: float) -> float:
    """A corner radius of a box shadow's shape grown by `spread` (CSS Backgrounds 3, 7.1.1):
    a square corner stays square, and a radius smaller than a positive spread grows by less,
    so a slightly rounded box casts a slightly rounded shadow."""
    if r <= 0:
        return 0.0
    if spread < 0:
        return max(0.0, r + spread)
    if r >= spread:
        return r + spread
    return r + spread * (1 + (r / spread - 1) ** 3)


def _spread(corners: Corners, spread: float) -> Corners:
    return Corners(
        *((_spread_radius(rx, spread), _spread_radius(ry, spread)) for rx, ry in corners.all)
    )


def _solid(color: Color) -> Color:
    return Color(color.r, color.g, color.b)


def box_shadows(box: Box, corners: Corners, shadows: tuple[Shadow, ...]) -> list[Item]:
    """CSS box shadows of the outline (`box`, `corners`), the last in the list painted first."""
    cutout = Rect(box.x, box.y, box.width, box.height, corners, Color(0, 0, 0))
    items: list[Item] = []
    for shadow in reversed(shadows):
        s = shadow.spread
        at = Box(box.x - s + shadow.x, box.y - s + shadow.y, box.width + 2 * s, box.height + 2 * s)
        if shadow.color.a == 0 or at.width <= 0 or at.height <= 0:
            continue
        shape = Rect(at.x, at.y, at.width, at.height, _spread(corners, s), _solid(shadow.color))
        offset = (shadow.x, shadow.y)
        items.append(ShadowItem((shape,), shadow.sigma, shadow.color, at, cutout, offset))
    return items


def text_shadows(runs: list[Item], shadows: tuple[Shadow, ...]) -> list[Item]:
    """CSS text shadows of the glyph runs (their strokes included; emoji cast none)."""
    glyphs = [r for r in runs if isinstance(r, GlyphRunItem)]
    if not glyphs:
        return []
    items: list[Item] = []
    for shadow in reversed(shadows):
        if shadow.color.a == 0:
            continue
        ink = _solid(shadow.color)
        shapes = tuple(
            replace(
                r,
                x=r.x + shadow.x,
                y=r.y + shadow.y,
                paint=ink,
                stroke=None if r.stroke is None else replace(r.stroke, color=ink),
            )
            for r in glyphs
        )
        bounds = _ink_bounds(shapes)
        offset = (shadow.x, shadow.y)
        items.append(ShadowItem(shapes, shadow.sigma, shadow.color, bounds, None, offset))
    return items


def _ink_bounds(runs: tuple[GlyphRunItem, ...]) -> Box:
    """A box holding every glyph's ink (the face's bounding box at each glyph, slant and
    stroke included)."""
    left = top = float("inf")
    right = bottom = float("-inf")
    for r in runs:
        k = r.size / r.face.upem
        x0, y0, x1, y1 = (v * k for v in r.face.bbox)
        grow = (OBLIQUE_SLANT * max(abs(y0), abs(y1)) if r.oblique else 0.0) + (
            r.stroke.reach if r.stroke else 0.0
        )
        xs = [gx for _, gx, _ in r.glyphs]
        ys = [gy for _, _, gy in r.glyphs]
        left = min(left, r.x + min(xs) + x0 - grow)
        right = max(right, r.x + max(xs) + x1 + grow)
        top = min(top, r.y - max(ys) - y1 - grow)
        bottom = max(bottom, r.y - min(ys) - y0 + grow)
    return Box(left, top, right - left, bottom - top)


def _fill(paint: Paint, box: Box, opacity: float = 1.0) -> Fill:
    return fill_for(paint if opacity >= 1 else paint.with_opacity(opacity), box)


def paint_text(b: TextBox) -> list[Item]:
    """The glyph runs; opacity is folded into the paint, except where a stroke overlaps the
    fill: then they fade together, as one picture."""
    c = b.component
    color = c.style.color
    grouped = c.opacity < 1 and (c.stroke is not None or bool(c.text_shadows))
    if not grouped:
        fill = _fill(color, b.box, c.opacity)
        runs = _glyph_runs(b.text, color, fill, b.box, c.opacity, c.stroke)
        return text_shadows(runs, c.text_shadows) + runs
    runs = _glyph_runs(b.text, color, _fill(color, b.box), b.box, 1.0, c.stroke)
    return [Group(c.opacity, tuple(text_shadows(runs, c.text_shadows) + runs))]


def paint_tag(b: TagBox) -> list[Item]:
    c, box = b.component, b.box
    radius = box.height / 2 if c.radius is None else c.radius
    corners = _cap(radius, box.width, box.height)
    items = box_shadows(box, corners, c.shadows)
    items.append(Rect(box.x, box.y, box.width, box.height, corners, _fill(c.background, box)))
    runs = _glyph_runs(b.text, c.style.color, _fill(c.style.color, box), box, stroke=c.stroke)
    items += text_shadows(runs, c.text_shadows) + runs
    return items if c.opacity >= 1 else [Group(c.opacity, tuple(items))]


def paint_image(b: ImageBox, fitted: FittedImage) -> list[Item]:
    box, c, inner = b.box, b.component, fitted.content
    content = None if inner == box else (inner.x, inner.y, inner.width, inner.height)
    border = min(c.border_width, box.width / 2, box.height / 2)
    corners = _cap(c.radius, box.width, box.height)
    shadows = box_shadows(box, corners, c.shadows)
    image = ImageItem(
        box.x,
        box.y,
        box.width,
        box.height,
        corners,
        1.0 if shadows else c.opacity,
        fitted,
        content,
        border if border > 0 and c.border_color.a > 0 else 0.0,
        c.border_color if border > 0 and c.border_color.a > 0 else None,
        None if c.overlay is None or not visible(c.overlay) else _fill(c.overlay, box),
    )
    if not shadows:
        return [image]
    items = (*shadows, image)
    return list(items) if c.opacity >= 1 else [Group(c.opacity, items)]


def paint_divider(b: DividerBox) -> list[Item]:
    box = b.box
    return [
        Rect(
            box.x,
            box.y,
            box.width,
            box.height,
            _SQUARE,
            _fill(b.component.color, box, b.component.opacity),
        )
    ]


def paint_shape(b: ShapeBox) -> list[Item]:
    """The fill, then the border ring inside the outline; they fade together."""
    c, box = b.component, b.box
    if c.ellipse:
        corners = Corners.ellipse(box.width, box.height)
    else:
        corners = Corners.fit(c.radius, box.width, box.height)
    items = box_shadows(box, corners, c.shadows)
    if visible(c.fill):
        items.append(Rect(box.x, box.y, box.width, box.height, corners, _fill(c.fill, box)))
    thickness = min(c.border_width, box.width / 2, box.height / 2)
    if thickness > 0 and c.border_color.a > 0:
        items.append(Ring(box.x, box.y, box.width, box.height, corners, thickness, c.border_color))
    if c.opacity >= 1 or not items:
        return items
    if len(items) == 1 and isinstance(items[0], Rect):
        return [replace(items[0], paint=_fill(c.fill, box, c.opacity))]
    return [Group(c.opacity, tuple(items))]


def paint_qr(b: QrBox) -> list[Item]:
    """The light square (quiet zone included), then the dark modules as one path."""
    c, box = b.component, b.box
    code = qr.encode(c.data, c.error)
    cell = box.width / (code.modules + 2 * c.quiet)
    at = (box.x + c.quiet * cell, box.y + c.quiet * cell)
    items: list[Item] = []
    if c.background.a > 0:
        items.append(Rect(box.x, box.y, box.width, box.height, _SQUARE, c.background))
    if code.runs and visible(c.color):
        items.append(Cells(*at, cell, code.runs, _fill(c.color, box)))
    if c.opacity >= 1 or not items:
        return items
    return [Group(c.opacity, tuple(items))]


def paint_stack(b: StackBox, images: dict[str, FittedImage]) -> list[Item]:
    """The panel (fill, then border), then the children in array order; a stack that fades
    fades as one picture."""
    c, box = b.component, b.box
    radius = _cap(c.radius, box.width, box.height)
    items = box_shadows(box, radius, c.shadows)
    if c.background is not None and visible(c.background):
        items.append(Rect(box.x, box.y, box.width, box.height, radius, _fill(c.background, box)))
    thickness = min(c.border_width, box.width / 2, box.height / 2)
    if thickness > 0 and c.border_color.a > 0:
        items.append(Ring(box.x, box.y, box.width, box.height, radius, thickness, c.border_color))
    for child in b.children:
        items += _paint(child, images)
    if c.opacity >= 1 or not items:
        return items
    return [Group(c.opacity, tuple(items))]


def _paint(b: LayoutBox, images: dict[str, FittedImage]) -> list[Item]:
    items = _paint_box(b, images)
    if b.rotation is None or not items:
        return items
    return [Rotated(b.rotation, tuple(items))]


def _paint_box(b: LayoutBox, images: dict[str, FittedImage]) -> list[Item]:
    match b:
        case TextBox():
            return paint_text(b)
        case TagBox():
            return paint_tag(b)
        case ImageBox():
            return paint_image(b, images[b.component.pointer])
        case DividerBox():
            return paint_divider(b)
        case ShapeBox():
            return paint_shape(b)
        case QrBox():
            return paint_qr(b)
        case StackBox():
            return paint_stack(b, images)
        case _:
            assert_never(b)


def build_scene(layout: CardLayout, images: dict[str, FittedImage] | None = None) -> Scene:
    """The layout as primitives; `images` are the fitted images by pointer (`fit_images`)."""
    fitted = images or {}
    items = [item for b in layout.boxes for item in _paint(b, fitted)]
    card = layout.card
    canvas = Box(0.0, 0.0, float(card.width), float(card.height))
    background = None if card.background is None else fill_for(card.background, canvas)
    return Scene(card.width, card.height, background, tuple(items))
