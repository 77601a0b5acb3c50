"""Layout stage: a `Card` and its `Resources` in, every component measured and placed out.

Total on a validated card: it never raises for user input. Text is shaped, broken into lines and
placed like a browser places a block: each line box is `lineHeight × fontSize` tall, the baseline
sits half the leading below the line top plus the primary face's ascent. `anchor` moves each box so
that its anchor point lands on (x, y).
"""

from __future__ import annotations

from dataclasses import dataclass

from .fonts import FontFace, library
from .model import (
    Anchor,
    Card,
    DividerComponent,
    ImageComponent,
    TagComponent,
    TextComponent,
    TextStyle,
)
from .resources import LoadedImage, Resources
from .text.linebreak import break_lines
from .text.shaping import ShapedGlyph, ShapedText, shape

__all__ = [
    "Box",
    "CardLayout",
    "DividerBox",
    "ImageBox",
    "LayoutBox",
    "PlacedRun",
    "TagBox",
    "TextBox",
    "TextLayout",
    "TextLine",
    "lay_out",
    "lay_out_text",
]


@dataclass(frozen=True, slots=True)
class Box:
    x: float  # px, left
    y: float  # px, top
    width: float  # px
    height: float  # px


@dataclass(frozen=True, slots=True)
class PlacedRun:
    """Consecutive glyphs of one face on one line."""

    face: FontFace
    size: float  # px
    oblique: bool  # synthesize a slant: the family has no italic
    x: float  # px, pen position of the first glyph
    y: float  # px, baseline
    glyphs: tuple[tuple[int, float, float], ...]  # (glyph id, x from run origin px, y up px)


@dataclass(frozen=True, slots=True)
class TextLine:
    text: str
    x: float  # px, left of the first glyph
    baseline: float  # px
    width: float  # px, advance width of the visible characters
    runs: tuple[PlacedRun, ...]


@dataclass(frozen=True, slots=True)
class TextLayout:
    box: Box
    lines: tuple[TextLine, ...]
    missing: tuple[str, ...]  # characters no bundled face has (drawn as .notdef)


@dataclass(frozen=True, slots=True)
class TextBox:
    component: TextComponent
    box: Box
    text: TextLayout


@dataclass(frozen=True, slots=True)
class TagBox:
    component: TagComponent
    box: Box  # the label's background
    text: TextLayout


@dataclass(frozen=True, slots=True)
class ImageBox:
    component: ImageComponent
    box: Box
    image: LoadedImage


@dataclass(frozen=True, slots=True)
class DividerBox:
    component: DividerComponent
    box: Box


LayoutBox = TextBox | TagBox | ImageBox | DividerBox


@dataclass(frozen=True, slots=True)
class CardLayout:
    card: Card
    boxes: tuple[LayoutBox, ...]  # in paint order


def _anchored(x: float, y: float, width: float, height: float, anchor: Anchor) -> Box:
    fx, fy = anchor.fractions
    return Box(x - fx * width, y - fy * height, width, height)


def _runs(
    shaped: ShapedText, start: int, end: int, x: float, baseline: float, size: float, oblique: bool
) -> tuple[PlacedRun, ...]:
    runs: list[PlacedRun] = []
    current: list[ShapedGlyph] = []
    pen = x

    def flush() -> None:
        nonlocal pen
        if not current:
            return
        origin, positions = pen, []
        for g in current:
            positions.append((g.gid, pen - origin + g.dx, g.dy))
            pen += g.advance
        runs.append(PlacedRun(current[0].face, size, oblique, origin, baseline, tuple(positions)))
        current.clear()

    for g in shaped.glyphs:
        if not start <= g.cluster < end:
            continue
        if current and g.face is not current[0].face:
            flush()
        current.append(g)
    flush()
    return tuple(runs)


def lay_out_text(
    text: str, style: TextStyle, frame: float | None, align: str, x: float, y: float, anchor: Anchor
) -> TextLayout:
    """Shape, break and place `text`; the box is `frame` wide (or the widest line's width)."""
    primary, oblique = library().primary(style.family, style.weight, style.italic)
    paragraphs = [
        shape(p, style.family, style.weight, style.italic, style.size, style.letter_spacing)
        for p in text.split("\n")
    ]
    spans = [(p, span) for p in paragraphs for span in break_lines(p, frame)]
    line_height = style.line_height * style.size
    width = frame if frame is not None else max(s.width for _, s in spans)
    box = _anchored(x, y, width, line_height * len(spans), anchor)
    k = style.size / primary.upem
    ascent, descent = primary.ascender * k, primary.descender * k
    half_leading = (line_height - ascent - descent) / 2
    lines = []
    for i, (shaped, span) in enumerate(spans):
        offset = {"left": 0.0, "center": (width - span.width) / 2, "right": width - span.width}[
            align
        ]
        baseline = box.y + i * line_height + half_leading + ascent
        lines.append(
            TextLine(
                shaped.text[span.start : span.end],
                box.x + offset,
                baseline,
                span.width,
                _runs(shaped, span.start, span.end, box.x + offset, baseline, style.size, oblique),
            )
        )
    missing = tuple(dict.fromkeys(ch for p in paragraphs for ch in p.missing))
    return TextLayout(box, tuple(lines), missing)


def layout_text(c: TextComponent) -> TextBox:
    text = lay_out_text(c.text, c.style, c.frame_width, c.align, c.x, c.y, c.anchor)
    return TextBox(c, text.box, text)


def layout_tag(c: TagComponent) -> TagBox:
    # Measure first, then place the text inside the padded, anchored label.
    measured = lay_out_text(c.text, c.style, None, "left", 0, 0, Anchor.TOP_LEFT)
    w = measured.box.width + 2 * c.padding_x
    h = measured.box.height + 2 * c.padding_y
    box = _anchored(c.x, c.y, w, h, c.anchor)
    text = lay_out_text(
        c.text,
        c.style,
        measured.box.width,
        "center",
        box.x + c.padding_x,
        box.y + c.padding_y,
        Anchor.TOP_LEFT,
    )
    return TagBox(c, box, text)


def layout_image(c: ImageComponent, image: LoadedImage) -> ImageBox:
    return ImageBox(c, _anchored(c.x, c.y, c.width, c.height, c.anchor), image)


def layout_divider(c: DividerComponent) -> DividerBox:
    w, h = (c.thickness, c.length) if c.vertical else (c.length, c.thickness)
    return DividerBox(c, _anchored(c.x, c.y, w, h, c.anchor))


def lay_out(card: Card, resources: Resources) -> CardLayout:
    boxes: list[LayoutBox] = []
    for c in card.components:
        match c:
            case TextComponent():
                boxes.append(layout_text(c))
            case TagComponent():
                boxes.append(layout_tag(c))
            case ImageComponent():
                boxes.append(layout_image(c, resources.images[c.pointer]))
            case DividerComponent():
                boxes.append(layout_divider(c))
    return CardLayout(card, tuple(boxes))
