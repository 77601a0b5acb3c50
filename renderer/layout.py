"""Layout stage: a `Card` in, where every component lands out, as a tree of boxes.

Total on a validated card: it never raises for user input (text that does not fit is an outcome
in the report). It does not depend on the output format: SVG and raster draw the same layout.

Two ways of placing a component, one measure-then-arrange step for each type:

- **On the card, or `absolute` in a stack**: the component's own `x`, `y` (px, or a percentage
  of the containing box) and `anchor` place its box in the canvas or the stack's padding box.
- **In a stack's flow**: `flex` (Taffy, CSS flexbox) sizes and positions the stack's children.
  Each leaf tells Taffy its size through a measure function: text its width for a given room
  (min-content, max-content, or a definite width, as CSS fit-content) and its height at that
  width; tags, images and dividers their own size. Then every leaf is laid out at the size it
  was given, so a title that wraps to three lines pushes what follows it.

Text fits in one documented order: `fontSize: "auto"` shrinks it (to `minFontSize`) until it
fits the frame, then `maxLines`/`frameHeight` clamp what still does not with the ellipsis, then
what remains takes its height in the stack and pushes the following children. The report says
which of the three happened (`shrunk`, `clamped`, `pushed`).

A component wholly off the canvas (`model.on_canvas`) and a hidden one are not laid out; the
layout lists them for the report.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import TypeAlias

from typing_extensions import assert_never

from .deadline import check as check_deadline
from .flex import FlexTree, Measure, NodeStyle, Space
from .fonts import FontLibrary, library
from .geometry import Affine, Box, Rotation, anchored, bounds, multiply
from .model import (
    Anchor,
    Card,
    Component,
    DividerComponent,
    ImageComponent,
    Length,
    Percent,
    QrComponent,
    ShapeComponent,
    StackComponent,
    TagComponent,
    TextComponent,
    on_canvas,
    resolve,
)
from .text.block import (
    Decoration,
    PlacedEmoji,
    PlacedRun,
    TextFrame,
    TextLayout,
    TextLine,
    TextMeasure,
    intrinsic_widths,
    lay_out_text,
    measure_text,
)

__all__ = [
    "Box",
    "CardLayout",
    "Decoration",
    "DividerBox",
    "ImageBox",
    "LayoutBox",
    "PlacedEmoji",
    "PlacedRun",
    "QrBox",
    "ShapeBox",
    "StackBox",
    "TagBox",
    "TextBox",
    "TextFrame",
    "TextLayout",
    "TextLine",
    "boxes",
    "lay_out",
    "on_card",
    "lay_out_text",
]


@dataclass(frozen=True, slots=True)
class TextBox:
    """A text component where layout put it, with its lines: the scene reads nothing else."""

    component: TextComponent
    box: Box
    text: TextLayout
    pushed: bool = False  # in a column stack, its lines moved the children after it down
    rotation: Rotation | None = None  # drawn turned about its anchor point (not laid out so)


@dataclass(frozen=True, slots=True)
class TagBox:
    """A tag where layout put it: the background box and the label's lines."""

    component: TagComponent
    box: Box  # the label's background
    text: TextLayout
    rotation: Rotation | None = None


@dataclass(frozen=True, slots=True)
class ImageBox:
    """An image component's box on the card; the fit stage decides where the pixels land in
    it."""

    component: ImageComponent
    box: Box  # the clip outline and border; where the pixels land inside it is the fit's
    rotation: Rotation | None = None


@dataclass(frozen=True, slots=True)
class DividerBox:
    """A divider's rule as a box on the card."""

    component: DividerComponent
    box: Box
    rotation: Rotation | None = None


@dataclass(frozen=True, slots=True)
class ShapeBox:
    """A shape's outline box on the card."""

    component: ShapeComponent
    box: Box  # the outline's box (an ellipse is inscribed in it)
    rotation: Rotation | None = None


@dataclass(frozen=True, slots=True)
class QrBox:
    """A QR code's square on the card, quiet zone included."""

    component: QrComponent
    box: Box  # the square, quiet zone included
    rotation: Rotation | None = None


@dataclass(frozen=True, slots=True)
class StackBox:
    """A stack (flex container) where Taffy put it, with its children laid out inside."""

    component: StackComponent
    box: Box  # the panel: border box
    children: tuple[LayoutBox, ...]  # in paint order (array order; absolute ones included)
    rotation: Rotation | None = None  # turns its children with it


LayoutBox: TypeAlias = TextBox | TagBox | ImageBox | DividerBox | ShapeBox | QrBox | StackBox


@dataclass(frozen=True, slots=True)
class CardLayout:
    """The whole card laid out: the boxes in paint order, and what was left out and why (off
    the canvas, hidden), for the report."""

    card: Card
    boxes: tuple[LayoutBox, ...]  # the top level, in paint order; stacks hold the rest
    off_canvas: tuple[Component, ...] = ()  # not laid out: wholly off the canvas (on_canvas)
    hidden: tuple[Component, ...] = ()  # not laid out: `hidden`, or empty with `hideIfEmpty`


def boxes(layout: CardLayout) -> Iterator[LayoutBox]:
    """Every box of the layout, parents before children, in paint order."""
    yield from _walk(layout.boxes)


def _walk(items: tuple[LayoutBox, ...]) -> Iterator[LayoutBox]:
    for b in items:
        yield b
        if isinstance(b, StackBox):
            yield from _walk(b.children)


def on_card(layout: CardLayout) -> Iterator[tuple[LayoutBox, Affine | None]]:
    """`boxes`, each with the map from its own coordinates to the card's: its rotation after
    every rotation of the stacks holding it (None: not turned at all)."""
    yield from _on_card(layout.boxes, None)


def _on_card(
    items: tuple[LayoutBox, ...], outer: Affine | None
) -> Iterator[tuple[LayoutBox, Affine | None]]:
    for b in items:
        turn = outer
        if b.rotation is not None:
            own = b.rotation.matrix
            turn = own if outer is None else multiply(own, outer)
        yield b, turn
        if isinstance(b, StackBox):
            yield from _on_card(b.children, turn)


# --- placing a component by its own x, y and anchor ------------------------------------------


def _at(c: Component, room: Box) -> tuple[float, float]:
    return room.x + resolve(c.x, room.width), room.y + resolve(c.y, room.height)


def _width(length: Length | None, room: Box) -> float | None:
    return None if length is None else resolve(length, room.width)


def text_frame(c: TextComponent, width: float | None) -> TextFrame:
    return TextFrame(
        width,
        c.frame_height,
        c.align,
        c.max_lines,
        c.ellipsis,
        c.auto_size,
        mode=c.wrap,
        vertical_align=c.vertical_align,
    )


def place_text(c: TextComponent, room: Box, clip: Box, fonts: FontLibrary) -> TextBox:
    x, y = _at(c, room)
    frame = text_frame(c, _width(c.frame_width, room))
    text = lay_out_text(c.runs, c.style, frame, x, y, c.anchor, clip, fonts)
    return TextBox(c, text.box, text)


def _tag_size(c: TagComponent, fonts: FontLibrary) -> tuple[float, float, float]:
    """(width, height, text width) of a tag's background: a label never wraps; it is cut
    between characters at `maxWidth`."""
    frame = TextFrame(width=c.max_width, wrap=False, ellipsis=c.ellipsis)
    measured = measure_text(c.runs, c.style, frame, fonts)
    text_width = measured.width if c.max_width is None else _tag_text_width(c, frame, fonts)
    return text_width + 2 * c.padding_x, measured.height + 2 * c.padding_y, text_width


def _tag_text_width(c: TagComponent, frame: TextFrame, fonts: FontLibrary) -> float:
    laid = lay_out_text(c.runs, c.style, frame, 0, 0, Anchor.TOP_LEFT, None, fonts)
    return max(line.width for line in laid.lines)


def _tag_in(c: TagComponent, box: Box, text_width: float, clip: Box, fonts: FontLibrary) -> TagBox:
    frame = TextFrame(width=text_width, align="center", wrap=False, ellipsis=c.ellipsis)
    x, y = box.x + c.padding_x, box.y + c.padding_y
    text = lay_out_text(c.runs, c.style, frame, x, y, Anchor.TOP_LEFT, clip, fonts)
    return TagBox(c, box, text)


def place_tag(c: TagComponent, room: Box, clip: Box, fonts: FontLibrary) -> TagBox:
    w, h, text_width = _tag_size(c, fonts)
    x, y = _at(c, room)
    return _tag_in(c, anchored(x, y, w, h, c.anchor), text_width, clip, fonts)


def place_image(c: ImageComponent, room: Box) -> ImageBox:
    x, y = _at(c, room)
    w, h = resolve(c.width, room.width), resolve(c.height, room.height)
    return ImageBox(c, anchored(x, y, w, h, c.anchor))


def _divider_size(c: DividerComponent, room: Box) -> tuple[float, float]:
    if c.vertical:
        return c.thickness, resolve(c.length, room.height)
    return resolve(c.length, room.width), c.thickness


def place_divider(c: DividerComponent, room: Box) -> DividerBox:
    x, y = _at(c, room)
    w, h = _divider_size(c, room)
    return DividerBox(c, anchored(x, y, w, h, c.anchor))


def place_shape(c: ShapeComponent, room: Box) -> ShapeBox:
    x, y = _at(c, room)
    w, h = resolve(c.width, room.width), resolve(c.height, room.height)
    return ShapeBox(c, anchored(x, y, w, h, c.anchor))


def _turned(c: Component, pivot: tuple[float, float], clip: Box) -> tuple[Rotation | None, Box]:
    """`c`'s rotation about `pivot`, and the part of its own (unturned) space that can show
    through `clip`: what culls its glyphs and its children's."""
    if not c.rotate:
        return None, _ink_clip(c, clip)
    turn = Rotation(c.rotate, *pivot)
    return turn, _ink_clip(c, bounds(turn.inverse, clip))


def _ink_clip(c: Component, clip: Box) -> Box:
    """The clip a text's or tag's glyphs are culled against, grown by how far their ink
    reaches past the glyph outlines (a stroke), so an outline on the canvas is drawn even
    where its glyph is not."""
    if not isinstance(c, TextComponent | TagComponent) or c.stroke is None:
        return clip
    r = c.stroke.reach
    return Box(clip.x - r, clip.y - r, clip.width + 2 * r, clip.height + 2 * r)


def place_qr(c: QrComponent, room: Box) -> QrBox:
    x, y = _at(c, room)
    return QrBox(c, anchored(x, y, c.size, c.size, c.anchor))


def place(c: Component, room: Box, clip: Box, fonts: FontLibrary) -> LayoutBox:
    """`c` placed by its own x, y and anchor in `room` (the canvas, or a stack's padding box),
    turned about that point by its `rotate`."""
    turn, local = _turned(c, _at(c, room), clip)
    placed = _place(c, room, local, fonts)
    return placed if turn is None else replace(placed, rotation=turn)


def _place(c: Component, room: Box, clip: Box, fonts: FontLibrary) -> LayoutBox:
    match c:
        case TextComponent():
            return place_text(c, room, clip, fonts)
        case TagComponent():
            return place_tag(c, room, clip, fonts)
        case ImageComponent():
            return place_image(c, room)
        case DividerComponent():
            return place_divider(c, room)
        case ShapeComponent():
            return place_shape(c, room)
        case QrComponent():
            return place_qr(c, room)
        case StackComponent():
            return place_stack(c, room, clip, fonts)
        case _:
            assert_never(c)


# --- stacks: measure every leaf, let Taffy size and position, arrange -------------------------


def _text_measure(c: TextComponent, fonts: FontLibrary) -> Measure:
    """Taffy's question about a text, answered as CSS sizes a block of text: at a definite
    room, fit-content (max-content, but no less than min-content and no more than the room);
    its height is that of its lines at that width. An auto-sized text is measured at
    `minFontSize` for min-content and `maxFontSize` for max-content."""
    low, high = c.auto_size or (c.style.size, c.style.size)
    intrinsic: list[tuple[float, float]] = []
    measured: dict[float, TextMeasure] = {}

    def widths() -> tuple[float, float]:
        if not intrinsic:
            small, _ = intrinsic_widths(c.runs, c.style, low, fonts)
            _, large = intrinsic_widths(c.runs, c.style, high, fonts)
            intrinsic.append((small, large))
        return intrinsic[0]

    def at(width: float) -> TextMeasure:
        found = measured.get(width)
        if found is None:
            found = measured[width] = measure_text(c.runs, c.style, text_frame(c, width), fonts)
        return found

    def measure(
        known_w: float | None, known_h: float | None, room_w: Space, room_h: Space
    ) -> tuple[float, float]:
        if known_w is not None:
            width = known_w
        elif room_w.kind == "definite":
            low_w, high_w = widths()
            width = min(high_w, max(low_w, room_w.px))
        else:
            width = widths()[0 if room_w.kind == "min-content" else 1]
        return width, known_h if known_h is not None else at(width).height

    return measure


def _style(c: Component, **box: Length | None) -> NodeStyle:
    """A leaf's node: its size (px, a percentage, or None to fit) and how it behaves as a flex
    item."""
    item = c.item
    align_self = None if item.align_self == "auto" else item.align_self
    return NodeStyle(grow=item.grow, shrink=item.shrink, align_self=align_self, **box)  # type: ignore[arg-type]


def _gap(c: StackComponent) -> Length:
    """A percentage gap is of the stack's content box along its main axis; where the stack fits
    its content along that axis the box is not known yet, and the gap is 0, as in CSS."""
    fitted = c.height is None if c.direction == "column" else c.width is None
    return 0.0 if isinstance(c.gap, Percent) and fitted else c.gap


def _stack_style(c: StackComponent) -> NodeStyle:
    return NodeStyle(
        direction=c.direction,
        wrap=c.wrap,
        gap=_gap(c),
        padding=c.padding,
        border=c.border_width,
        align_items=c.align,
        justify=c.justify,
        width=c.width,
        height=c.height,
        grow=c.item.grow,
        shrink=c.item.shrink,
        align_self=None if c.item.align_self == "auto" else c.item.align_self,
    )


@dataclass(slots=True)
class _Flow:
    """One stack's Taffy tree: the node of each component, and what the leaves measured."""

    tree: FlexTree
    fonts: FontLibrary
    nodes: dict[str, int] = field(default_factory=dict)  # pointer → node
    tags: dict[str, float] = field(default_factory=dict)  # pointer → text width

    def node(self, c: Component) -> int:
        style, measure = self._leaf(c)
        node = self.tree.node(style, measure)
        self.nodes[c.pointer] = node
        if isinstance(c, StackComponent):
            for child in c.children:
                if not child.hidden and not child.item.absolute:
                    self.tree.add(node, self.node(child))
        return node

    def _leaf(self, c: Component) -> tuple[NodeStyle, Measure | None]:
        match c:
            case TextComponent():
                measure = _text_measure(c, self.fonts)
                return _style(c, width=c.frame_width, height=c.frame_height), measure
            case TagComponent():
                # A label keeps its own size: not stretched by `align`, not squeezed by an
                # overflowing row (as a CSS box of `width: max-content` and that height).
                w, h, text_width = _tag_size(c, self.fonts)
                self.tags[c.pointer] = text_width
                return _style(c, width=w, height=h, min_width=w, min_height=h), None
            case ImageComponent() | ShapeComponent():
                return _style(c, width=c.width, height=c.height), None
            case QrComponent():  # a code keeps its size: its modules must stay square
                size = c.size
                return _style(c, width=size, height=size, min_width=size, min_height=size), None
            case DividerComponent():
                if c.vertical:
                    return _style(c, width=c.thickness, height=c.length), None
                return _style(c, width=c.length, height=c.thickness), None
            case StackComponent():
                return _stack_style(c), None
            case _:
                assert_never(c)


def _arrange(
    flow: _Flow, c: Component, origin: tuple[float, float], clip: Box, pushed: bool
) -> LayoutBox:
    """`c` laid out at the box Taffy gave it, offset by its parent's `origin` (px), turned
    about its anchor point in that box by its `rotate`."""
    got = flow.tree.box(flow.nodes[c.pointer])
    box = Box(origin[0] + got.x, origin[1] + got.y, got.width, got.height)
    fx, fy = c.anchor.fractions
    turn, local = _turned(c, (box.x + fx * box.width, box.y + fy * box.height), clip)
    arranged = _arrange_in(flow, c, box, local, pushed)
    return arranged if turn is None else replace(arranged, rotation=turn)


def _arrange_in(flow: _Flow, c: Component, box: Box, clip: Box, pushed: bool) -> LayoutBox:
    match c:
        case TextComponent():
            frame = text_frame(c, box.width)
            text = lay_out_text(
                c.runs, c.style, frame, box.x, box.y, Anchor.TOP_LEFT, clip, flow.fonts
            )
            return TextBox(c, box, text, pushed and len(text.lines) > 1)
        case TagComponent():
            return _tag_in(c, box, flow.tags[c.pointer], clip, flow.fonts)
        case ImageComponent():
            return ImageBox(c, box)
        case DividerComponent():
            return DividerBox(c, box)
        case ShapeComponent():
            return ShapeBox(c, box)
        case QrComponent():
            return QrBox(c, box)
        case StackComponent():
            return _arrange_stack(flow, c, box, clip)
        case _:
            assert_never(c)


def _padding_box(c: StackComponent, box: Box) -> Box:
    b = c.border_width
    return Box(box.x + b, box.y + b, max(0.0, box.width - 2 * b), max(0.0, box.height - 2 * b))


def _arrange_stack(flow: _Flow, c: StackComponent, box: Box, clip: Box) -> StackBox:
    in_flow = [child for child in c.children if not child.hidden and not child.item.absolute]
    last = in_flow[-1].pointer if in_flow else None
    column = c.direction == "column"
    children: list[LayoutBox] = []
    for child in c.children:
        if child.hidden:
            continue
        if child.item.absolute:
            children.append(place(child, _padding_box(c, box), clip, flow.fonts))
        else:
            pushes = column and child.pointer != last
            children.append(_arrange(flow, child, (box.x, box.y), clip, pushes))
    return StackBox(c, box, tuple(children))


def place_stack(c: StackComponent, room: Box, clip: Box, fonts: FontLibrary) -> StackBox:
    """The stack and everything in it: Taffy sizes it within `room` (as fit-content when it
    has no width or height), then its anchor places it."""
    with FlexTree() as tree:
        flow = _Flow(tree, fonts)
        root = flow.node(c)
        tree.compute(root, room.width, room.height)
        size = tree.box(root)
        x, y = _at(c, room)
        box = anchored(x, y, size.width, size.height, c.anchor)
        return _arrange_stack(flow, c, box, clip)


def _hidden(components: tuple[Component, ...]) -> Iterator[Component]:
    for c in components:
        if c.hidden:
            yield c
        elif isinstance(c, StackComponent):
            yield from _hidden(c.children)


def lay_out(card: Card, fonts: FontLibrary | None = None) -> CardLayout:
    """Every shown component of `card` on the canvas laid out, its text in `fonts` (default:
    the bundled library)."""
    fonts = fonts or library()
    canvas = Box(0.0, 0.0, float(card.width), float(card.height))
    laid: list[LayoutBox] = []
    off: list[Component] = []
    for c in card.components:
        if c.hidden:
            continue
        if not on_canvas(c, card.width, card.height):
            off.append(c)
            continue
        check_deadline()
        laid.append(place(c, canvas, canvas, fonts))
    hidden = tuple(_hidden(card.components))
    return CardLayout(card, tuple(laid), tuple(off), hidden)
