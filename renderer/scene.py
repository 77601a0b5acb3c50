"""Scene stage: a `CardLayout` (and its fitted images) in, absolutely positioned primitives out.

The scene is the one description both the SVG builder and any raster path read; nothing after it
knows what a "tag", a "divider" or a "stack" is. Component opacity is folded into colours where a
component is one primitive, and becomes a `Group` where overlapping parts must fade together (a
tag, a bordered image, a stack and everything in it).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from typing_extensions import assert_never

from .fonts import FontFace
from .geometry import Box, Corners, Rotation
from .imagefit import FittedImage
from .layout import (
    CardLayout,
    Decoration,
    DividerBox,
    ImageBox,
    LayoutBox,
    PlacedEmoji,
    ShapeBox,
    StackBox,
    TagBox,
    TextBox,
    TextLayout,
)
from .model import Color, Paint, Stroke, visible
from .paint import Fill, LinearFill, RadialFill, fill_for

__all__ = [
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
    "build_scene",
]


@dataclass(frozen=True, slots=True)
class Rect:
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
    """An image clipped to its (rounded) box, with an optional border inside that outline.

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


@dataclass(frozen=True, slots=True)
class EmojiItem:
    key: str  # Twemoji file name; the drawing comes from the bundled archive
    x: float  # px, left of the square
    y: float  # px, top of the square
    size: float  # px, side of the square
    opacity: float  # 0..1


@dataclass(frozen=True, slots=True)
class Group:
    opacity: float  # 0..1, applied to the composited items
    items: tuple[Item, ...]


@dataclass(frozen=True, slots=True)
class Rotated:
    """Items drawn turned about a point (a component's `rotate`): their coordinates are the
    component's own, unturned."""

    rotation: Rotation
    items: tuple[Item, ...]


Item = Rect | Ring | GlyphRunItem | EmojiItem | ImageItem | Group | Rotated


@dataclass(frozen=True, slots=True)
class Scene:
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


def _fill(paint: Paint, box: Box, opacity: float = 1.0) -> Fill:
    return fill_for(paint if opacity >= 1 else paint.with_opacity(opacity), box)


def paint_text(b: TextBox) -> list[Item]:
    """The glyph runs; opacity is folded into the paint, except where a stroke overlaps the
    fill: then they fade together, as one picture."""
    c = b.component
    color = c.style.color
    if c.stroke is None or c.opacity >= 1:
        fill = _fill(color, b.box, c.opacity)
        return _glyph_runs(b.text, color, fill, b.box, c.opacity, c.stroke)
    runs = _glyph_runs(b.text, color, _fill(color, b.box), b.box, 1.0, c.stroke)
    return [Group(c.opacity, tuple(runs))]


def paint_tag(b: TagBox) -> list[Item]:
    c, box = b.component, b.box
    radius = box.height / 2 if c.radius is None else c.radius
    corners = _cap(radius, box.width, box.height)
    items: list[Item] = [
        Rect(box.x, box.y, box.width, box.height, corners, _fill(c.background, box))
    ]
    items += _glyph_runs(b.text, c.style.color, _fill(c.style.color, box), box, stroke=c.stroke)
    return items if c.opacity >= 1 else [Group(c.opacity, tuple(items))]


def paint_image(b: ImageBox, fitted: FittedImage) -> list[Item]:
    box, c, inner = b.box, b.component, fitted.content
    content = None if inner == box else (inner.x, inner.y, inner.width, inner.height)
    border = min(c.border_width, box.width / 2, box.height / 2)
    return [
        ImageItem(
            box.x,
            box.y,
            box.width,
            box.height,
            _cap(c.radius, box.width, box.height),
            c.opacity,
            fitted,
            content,
            border if border > 0 and c.border_color.a > 0 else 0.0,
            c.border_color if border > 0 and c.border_color.a > 0 else None,
        )
    ]


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
    items: list[Item] = []
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


def paint_stack(b: StackBox, images: dict[str, FittedImage]) -> list[Item]:
    """The panel (fill, then border), then the children in array order; a stack that fades
    fades as one picture."""
    c, box = b.component, b.box
    radius = _cap(c.radius, box.width, box.height)
    items: list[Item] = []
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
