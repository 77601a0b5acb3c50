"""The cost model: what a card may make the engine do, judged before the work is done.

The spec stage bounds the document (size, nesting, canvas, component count, text length). Those
bounds alone still let a 1 MB spec shape and draw a million glyphs, or resample fifty images to
16 megapixels each. This module bounds the work itself, in the units it costs, and refuses a card
that would exceed any bound with a `LimitError` naming the component where the total crossed it:

- `Limits.max_shaped_chars`: characters shaped (text and tags; a `fontSize: "auto"` text counts
  once for every size the fitting tries), checked on the card before layout;
- `Limits.max_image_area`: device pixels of images resampled for drawing, checked on the layout
  (a stack may size an image) before any is resampled;
- `Limits.max_glyphs`: glyphs drawn (a stroked glyph twice, and each text shadow draws them
  all again), `Limits.max_emoji`: colour
  emoji drawn (each is an SVG drawing, a hundred times a glyph's cost), and
  `Limits.max_painted_area`: device pixels
  painted (each drawn glyph, emoji, image and rectangle counted by its box on the canvas),
  checked on the layout before anything is drawn. A turned component counts the box it
  covers once turned (`rotate`);
- `Limits.max_blur_area`: device pixels of the offscreen surfaces that blurred shadows are
  drawn and blurred on (each the shadow's silhouette three standard deviations wider, cut to
  the canvas widened as much), and of images a `filter` blurs, checked on the layout; every
  shadow's region counts as painted.
  A blur costs a fixed time per pixel whatever its radius (three box blurs), so this bounds it.

What cannot be seen costs nothing and is not counted: a component whose box lies wholly off the
canvas is not loaded, shaped or drawn (`model.on_canvas`), and layout places no glyph whose ink
misses the canvas. A text's or tag's box may be unknown before it is shaped (it fits its
content); then only the sides its anchor fixes are used, and ink is allowed to reach
`model.INK_REACH_EM` beyond them.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, replace

from typing_extensions import assert_never

from .errors import Issue, LimitError
from .geometry import Affine, Box, bounds
from .layout import (
    CardLayout,
    DividerBox,
    ImageBox,
    LayoutBox,
    PlacedEmoji,
    PlacedRun,
    QrBox,
    ShapeBox,
    StackBox,
    TagBox,
    TextBox,
    on_card,
)
from .limits import Limits
from .model import (
    Card,
    Component,
    DividerComponent,
    ImageComponent,
    QrComponent,
    Shadow,
    ShapeComponent,
    StackComponent,
    TagComponent,
    TextComponent,
    ink_reach,
    on_canvas,
    shown,
)

__all__ = ["auto_size_probes", "check_card", "check_layout"]


def auto_size_probes(low: float, high: float) -> int:
    """How many sizes `fontSize: "auto"` fitting shapes at most: the smallest, a bisection over
    the 0.5 px grid, and the size finally chosen."""
    steps = int((high - low) / 0.5 + 1e-6)
    return 2 + max(0, math.ceil(math.log2(steps + 1)))


def _shaped(c: Component, in_stack: bool) -> int:
    match c:
        case TextComponent():
            probes = auto_size_probes(*c.auto_size) if c.auto_size else 1
            if in_stack and c.auto_size:
                probes += 2  # its min- and max-content widths, at the smallest and largest size
            return (len(c.text) + len(c.ellipsis)) * probes
        case TagComponent():
            return 2 * (len(c.text) + len(c.ellipsis))  # measured, then laid out in its box
        case (
            ImageComponent()
            | DividerComponent()
            | ShapeComponent()
            | QrComponent()
            | StackComponent()
        ):
            return 0
        case _:
            assert_never(c)


def check_card(card: Card, limits: Limits, scale: float) -> None:
    """Refuse a card whose shown components on the canvas would shape too many characters;
    raises `LimitError` naming the component where the total crossed."""
    shaped = 0
    for top in card.components:
        if not on_canvas(top, card.width, card.height):
            continue
        for c in shown((top,)):
            shaped += _shaped(c, c is not top)
            if shaped > limits.max_shaped_chars:
                raise LimitError(
                    [
                        Issue(
                            c.pointer + "/text",
                            f"The card's visible text and tags shape {shaped} characters up to "
                            f'here (each size a fontSize "auto" text tries counts); the limit '
                            f"is {limits.max_shaped_chars} (Limits.max_shaped_chars).",
                        )
                    ]
                )


def _runs(b: LayoutBox) -> Iterator[PlacedRun | PlacedEmoji]:
    if isinstance(b, TextBox | TagBox):
        for line in b.text.lines:
            yield from line.runs


def _area_on_canvas(x: float, y: float, w: float, h: float, width: int, height: int) -> float:
    """px² of the box (x, y, w, h) that lies on the canvas."""
    return max(0.0, min(x + w, width) - max(x, 0.0)) * max(0.0, min(y + h, height) - max(y, 0.0))


@dataclass(slots=True)
class _Tally:
    """What the layout has asked for so far (glyphs, emoji, px² at scale 1, image device px)."""

    glyphs: int = 0
    emoji: int = 0
    area: float = 0.0
    images: int = 0
    blurred: float = 0.0  # device px of the offscreen surfaces blurs work on

    def add(
        self, b: LayoutBox, turn: Affine | None, card: Card, scale: float, limits: Limits
    ) -> None:
        canvas = float(card.width * card.height)
        times = _draws(b)
        for run in _runs(b):
            if isinstance(run, PlacedRun):
                self.glyphs += times * len(run.glyphs)
                em = min(run.size * run.size, canvas)  # an em square
                self.area += times * len(run.glyphs) * em
            else:
                self.emoji += 1
                self.area += min(run.size * run.size, canvas)
        if isinstance(b, TextBox | TagBox):  # spans' backgrounds and lines: rectangles too
            for line in b.text.lines:
                self.area += sum(
                    _area_on_canvas(d.x, d.y, d.width, d.height, card.width, card.height)
                    for d in line.decorations
                )
        match b:
            case TagBox() | ImageBox() | DividerBox() | ShapeBox() | QrBox() | StackBox():
                box = b.box if turn is None else bounds(turn, b.box)  # turned: what it covers
                self.area += _area_on_canvas(
                    box.x, box.y, box.width, box.height, card.width, card.height
                )
            case TextBox():
                pass
            case _:
                assert_never(b)
        if isinstance(b, ImageBox):
            w, h = max(1, round(b.box.width * scale)), max(1, round(b.box.height * scale))
            self.images += min(w * h, limits.max_pixels)
            if b.component.filter is not None and b.component.filter.blur > 0:
                self.blurred += min(w * h, limits.max_pixels)  # its fitted pixels
            if b.component.overlay is not None:  # a scrim paints the box again
                box = b.box if turn is None else bounds(turn, b.box)
                self.area += _area_on_canvas(
                    box.x, box.y, box.width, box.height, card.width, card.height
                )
        for silhouette, shadows in _shadowed(b):
            for shadow in shadows:
                self._shadow(silhouette, shadow, turn, card, scale)

    def _shadow(
        self, silhouette: Box, shadow: Shadow, turn: Affine | None, card: Card, scale: float
    ) -> None:
        """A shadow paints the region three standard deviations around its silhouette (on
        the canvas); a blurred one first draws and blurs that region (on the canvas widened
        as much) offscreen, as the painter does."""
        m = 3 * shadow.sigma + max(0.0, shadow.spread)
        at = Box(
            silhouette.x + shadow.x - m,
            silhouette.y + shadow.y - m,
            silhouette.width + 2 * m,
            silhouette.height + 2 * m,
        )
        if turn is not None:
            at = bounds(turn, at)
        self.area += _area_on_canvas(at.x, at.y, at.width, at.height, card.width, card.height)
        if shadow.sigma > 0:
            pad = 3 * shadow.sigma
            w = max(0.0, min(at.x + at.width, card.width + pad) - max(at.x, -pad))
            h = max(0.0, min(at.y + at.height, card.height + pad) - max(at.y, -pad))
            self.blurred += (w * scale + 2) * (h * scale + 2)


def _draws(b: LayoutBox) -> int:
    """How many times each glyph of a text or tag is drawn: filled, outlined when stroked,
    and all of that again for each text shadow (its silhouette)."""
    if not isinstance(b, TextBox | TagBox):
        return 1
    c = b.component
    return (2 if c.stroke is not None else 1) * (1 + len(c.text_shadows))


def _shadowed(b: LayoutBox) -> list[tuple[Box, tuple[Shadow, ...]]]:
    """The silhouettes a box casts shadows of (px), each with its shadows: the box for box
    shadows, the text's box and how far its glyphs' ink reaches for text shadows."""
    out: list[tuple[Box, tuple[Shadow, ...]]] = []
    c = b.component
    if isinstance(c, ImageComponent | ShapeComponent | TagComponent | StackComponent):
        out.append((b.box, c.shadows))
    if isinstance(c, TextComponent | TagComponent) and c.text_shadows:
        r = ink_reach(replace(c, text_shadows=()))
        box = b.box
        out.append(
            (Box(box.x - r, box.y - r, box.width + 2 * r, box.height + 2 * r), c.text_shadows)
        )
    return out


def _over(tally: _Tally, limits: Limits, scale: float) -> str | None:
    """Why the tally is over a bound, or None."""
    if tally.glyphs > limits.max_glyphs:
        return (
            f"The card draws {tally.glyphs} glyphs up to here; the limit is "
            f"{limits.max_glyphs} (Limits.max_glyphs)."
        )
    if tally.emoji > limits.max_emoji:
        return (
            f"The card draws {tally.emoji} colour emoji up to here; the limit is "
            f"{limits.max_emoji} (Limits.max_emoji)."
        )
    if tally.images > limits.max_image_area:
        return (
            f"The card's images cover {tally.images / 1e6:.1f} megapixels at scale {scale:g} "
            f"up to here; the limit is {limits.max_image_area / 1e6:.1f} "
            "(Limits.max_image_area)."
        )
    if tally.blurred > limits.max_blur_area:
        return (
            f"The card's shadows and image filters blur {tally.blurred / 1e6:.1f} megapixels "
            f"at scale {scale:g} "
            f"up to here; the limit is {limits.max_blur_area / 1e6:.1f} (Limits.max_blur_area)."
        )
    area = tally.area * scale * scale
    if area > limits.max_painted_area:
        return (
            f"The card paints {area / 1e6:.0f} megapixels up to here (every glyph, emoji, image "
            f"and rectangle on the canvas, at scale {scale:g}); the limit is "
            f"{limits.max_painted_area / 1e6:.0f} (Limits.max_painted_area)."
        )
    return None


def check_layout(layout: CardLayout, limits: Limits, scale: float) -> None:
    """Refuse a layout that would draw too many glyphs or emoji or paint too many pixels,
    before any is drawn; raises `LimitError` naming the component where a total crossed."""
    card = layout.card
    tally = _Tally(area=float(card.width * card.height) if card.background else 0.0)
    for b, turn in on_card(layout):
        tally.add(b, turn, card, scale, limits)
        reason = _over(tally, limits, scale)
        if reason is not None:
            raise LimitError([Issue(b.component.pointer, reason)])
