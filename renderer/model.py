"""The validated card: what the spec stage returns and every later stage reads.

Every value here is resolved: defaults applied, colours parsed, keywords turned into numbers; only
percentages wait for layout (`Percent`, of the containing box). Each component keeps the JSON
pointer it came from, so a later stage (resources, the render report) can name it. The components
form one closed union, `Component`, and a tree: a `StackComponent` holds children. `walk` and
`shown` are the only traversals; every stage dispatches on the type with a `match` that ends in
`assert_never`, so mypy names a stage that forgets a new type. Units: px unless a comment says
otherwise.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from typing_extensions import assert_never

__all__ = [
    "Anchor",
    "Card",
    "Color",
    "Component",
    "DividerComponent",
    "Filter",
    "FlexItem",
    "FontRequest",
    "ImageComponent",
    "Length",
    "Percent",
    "QrComponent",
    "ShapeComponent",
    "Span",
    "StackComponent",
    "TagComponent",
    "TextComponent",
    "INK_REACH_EM",
    "LinearGradient",
    "Paint",
    "RadialGradient",
    "Shadow",
    "Stop",
    "Stroke",
    "TextStyle",
    "largest_size",
    "on_canvas",
    "ink_reach",
    "opaque",
    "resolve",
    "shadow_reach",
    "shown",
    "visible",
    "walk",
]

INK_REACH_EM = 2.0  # how far beyond its box a text's ink is assumed to reach (`on_canvas`)


@dataclass(frozen=True, slots=True)
class Color:
    """sRGB colour with straight (not premultiplied) alpha, each channel 0–255."""

    r: int
    g: int
    b: int
    a: int = 255

    @classmethod
    def parse(cls, value: str) -> Color:
        """Parse `#rgb`, `#rgba`, `#rrggbb`, `#rrggbbaa` (the schema has checked the grammar)."""
        h = value[1:]
        if len(h) in (3, 4):
            h = "".join(c * 2 for c in h)
        a = int(h[6:8], 16) if len(h) == 8 else 255
        return cls(int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16), a)

    @property
    def hex6(self) -> str:
        return f"#{self.r:02x}{self.g:02x}{self.b:02x}"

    def with_opacity(self, opacity: float) -> Color:
        return Color(self.r, self.g, self.b, round(self.a * opacity))


@dataclass(frozen=True, slots=True)
class Stop:
    """A gradient's colour at one place along it."""

    color: Color
    offset: float  # 0..1 of the gradient line or ray; never below the previous stop's


@dataclass(frozen=True, slots=True)
class LinearGradient:
    """CSS `linear-gradient(<angle>, ...)` over the box it fills: the line runs through the
    box's centre at `angle`, as long as the box's extent along it (CSS's gradient line)."""

    angle: float  # degrees clockwise from "to top" (0 = up, 90 = to the right)
    stops: tuple[Stop, ...]

    def with_opacity(self, opacity: float) -> LinearGradient:
        return LinearGradient(self.angle, _faded(self.stops, opacity))


@dataclass(frozen=True, slots=True)
class RadialGradient:
    """CSS `radial-gradient(<shape> <extent> at <center>, ...)` over the box it fills."""

    circle: bool  # else an ellipse
    extent: str  # closest-side | farthest-side | closest-corner | farthest-corner
    center: tuple[float, float]  # fractions of the box's width and height
    stops: tuple[Stop, ...]

    def with_opacity(self, opacity: float) -> RadialGradient:
        return RadialGradient(self.circle, self.extent, self.center, _faded(self.stops, opacity))


def _faded(stops: tuple[Stop, ...], opacity: float) -> tuple[Stop, ...]:
    return tuple(Stop(s.color.with_opacity(opacity), s.offset) for s in stops)


Paint = Color | LinearGradient | RadialGradient  # what fills a shape, a panel, a canvas or text


def visible(paint: Paint) -> bool:
    """Whether any of the paint is not fully transparent."""
    if isinstance(paint, Color):
        return paint.a > 0
    return any(s.color.a > 0 for s in paint.stops)


def opaque(paint: Paint) -> bool:
    if isinstance(paint, Color):
        return paint.a == 255
    return all(s.color.a == 255 for s in paint.stops)


@dataclass(frozen=True, slots=True)
class Stroke:
    """An outline around glyphs (text and tag `stroke`)."""

    width: float  # px of outline beyond (or within) the glyph's edge, see `position`
    color: Color
    position: str = "outside"  # outside: under the fill | center: over it | inside: within it

    @property
    def reach(self) -> float:
        """px beyond the glyph outline that the stroke can put ink."""
        return {"outside": self.width, "center": self.width / 2}.get(self.position, 0.0)


@dataclass(frozen=True, slots=True)
class Shadow:
    """A CSS shadow: `box-shadow` (with spread) or `text-shadow` (without)."""

    x: float  # px, offset to the right
    y: float  # px, offset down
    blur: float  # px, CSS blur radius: a Gaussian of standard deviation blur / 2
    color: Color
    spread: float = 0.0  # px the shape grows by (box shadows only)

    @property
    def sigma(self) -> float:
        return self.blur / 2

    @property
    def reach(self) -> float:
        """How far (px) the shadow can put ink beyond the shape it shadows: its offset, its
        spread and three standard deviations of blur."""
        return max(abs(self.x), abs(self.y)) + max(0.0, self.spread) + 3 * self.sigma


def shadow_reach(shadows: tuple[Shadow, ...]) -> float:
    return max((s.reach for s in shadows), default=0.0)


@dataclass(frozen=True, slots=True)
class Filter:
    """An image's `filter`: CSS filter functions, applied in this order (see `imagefilter`)."""

    brightness: float = 1.0  # multiplies each channel (1 = unchanged)
    contrast: float = 1.0  # scales each channel's distance from the middle grey
    saturate: float = 1.0  # 0 = grey, 1 = unchanged, more = more vivid
    grayscale: float = 0.0  # 0 = unchanged, 1 = grey
    blur: float = 0.0  # px, standard deviation of a Gaussian (CSS blur())


class Anchor(enum.Enum):
    """Which point of a component's box is placed at (x, y): fractions of width and height."""

    TOP_LEFT = "top-left"
    TOP_CENTER = "top-center"
    TOP_RIGHT = "top-right"
    CENTER_LEFT = "center-left"
    CENTER = "center"
    CENTER_RIGHT = "center-right"
    BOTTOM_LEFT = "bottom-left"
    BOTTOM_CENTER = "bottom-center"
    BOTTOM_RIGHT = "bottom-right"

    @property
    def fractions(self) -> tuple[float, float]:
        vertical, _, horizontal = self.value.partition("-")
        if self is Anchor.CENTER:
            return 0.5, 0.5
        fx = {"left": 0.0, "center": 0.5, "right": 1.0}[horizontal]
        fy = {"top": 0.0, "center": 0.5, "bottom": 1.0}[vertical]
        return fx, fy


@dataclass(frozen=True, slots=True)
class TextStyle:
    """How a run of text is drawn: a component's own style, or a span's (each property it does
    not set inherited from the component)."""

    family: str  # a bundled or registered family
    weight: int  # 1..1000 (CSS)
    italic: bool
    size: float  # px
    color: Paint  # a gradient spans the component's box
    line_height: float  # multiple of size
    letter_spacing: float  # px added after each character
    lang: str | None = None  # BCP 47 tag
    decoration: str = "none"  # none | underline | line-through
    background: Color | None = None  # behind the run's glyphs (a span's); None = none
    # hashed once: a style keys the shaping and metrics caches on every text of every card
    _hash: int = field(default=0, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        fields = (self.family, self.weight, self.italic, self.size, self.color)
        rest = (self.line_height, self.letter_spacing, self.lang, self.decoration)
        object.__setattr__(self, "_hash", hash((fields, rest, self.background)))

    def __hash__(self) -> int:
        return self._hash


@dataclass(frozen=True, slots=True)
class Span:
    """A stretch of a text in one style: what `spans` make of a text (a plain text is one)."""

    text: str
    style: TextStyle


@dataclass(frozen=True, slots=True)
class Percent:
    """A length given as a percentage ("50%"): a fraction of the containing box's side."""

    fraction: float  # 0.5 for "50%"

    def of(self, whole: float) -> float:
        return self.fraction * whole


Length = float | Percent  # px, or a share of the containing box


def resolve(length: Length, whole: float) -> float:
    """`length` in px, a percentage taken of `whole` (px)."""
    return length.of(whole) if isinstance(length, Percent) else length


@dataclass(frozen=True, slots=True)
class FlexItem:
    """How a component behaves as a child of a stack (ignored on the card itself)."""

    grow: float = 0.0  # share of the free main-axis space (CSS flex-grow)
    shrink: float = 1.0  # share of an overflow given up (CSS flex-shrink)
    align_self: str = "auto"  # auto | start | center | end | stretch
    absolute: bool = False  # placed by x, y, anchor in the stack's padding box, out of the flow


_IN_FLOW = FlexItem()


@dataclass(frozen=True, slots=True)
class TextComponent:
    """A `text` component as parsed: every property resolved to its value or default,
    `pointer` kept so layout and paint errors name the field."""

    pointer: str
    x: Length
    y: Length
    anchor: Anchor
    opacity: float  # 0..1
    text: str
    style: TextStyle
    frame_width: Length | None  # None = "fit" (in a stack: the width the stack gives)
    align: str | None  # left | center | right; None = by paragraph direction
    frame_height: float | None = None  # px
    max_lines: int | None = None
    ellipsis: str = "…"
    auto_size: tuple[float, float] | None = None  # (min, max) px when fontSize is "auto"
    stroke: Stroke | None = None
    text_shadows: tuple[Shadow, ...] = ()  # the first on top, as in CSS
    item: FlexItem = _IN_FLOW
    hidden: bool = False  # hidden, or hideIfEmpty with an empty text
    spans: tuple[Span, ...] = ()  # the text in its styles; () = all of it in `style`
    wrap: str = "wrap"  # wrap | balance | pretty (CSS text-wrap)
    vertical_align: str = "top"  # top | middle | bottom: the lines within frameHeight
    rotate: float = 0.0  # degrees clockwise about the anchor point

    @property
    def runs(self) -> tuple[Span, ...]:
        """The text as spans: the given ones, or one span of the whole text."""
        return self.spans or (Span(self.text, self.style),)


@dataclass(frozen=True, slots=True)
class ImageComponent:
    """An `image` component as parsed; `src` is loaded by the resources stage, never here."""

    pointer: str
    x: Length
    y: Length
    anchor: Anchor
    opacity: float
    src: str
    width: Length
    height: Length
    radius: float
    fit: str = "cover"  # cover | contain | fill | none
    position: tuple[float, float] = (0.5, 0.5)  # focal point, fractions of the free space
    border_width: float = 0.0  # px, drawn inside the (rounded) outline
    border_color: Color = Color(0, 0, 0)
    on_error: str = "error"  # error | placeholder
    shadows: tuple[Shadow, ...] = ()  # box shadows of the outline, the first on top
    filter: Filter | None = None  # applied to the pixels, before the clip
    overlay: Paint | None = None  # a scrim over the image, inside its outline
    item: FlexItem = _IN_FLOW
    hidden: bool = False
    rotate: float = 0.0  # degrees clockwise about the anchor point


@dataclass(frozen=True, slots=True)
class TagComponent:
    """A `tag` (a label on a filled, rounded background) as parsed: its text style, padding
    and radius resolved."""

    pointer: str
    x: Length
    y: Length
    anchor: Anchor
    opacity: float
    text: str
    style: TextStyle
    background: Paint
    padding_x: float
    padding_y: float
    radius: float | None  # None = pill (half the height)
    max_width: float | None = None  # px, of the text
    ellipsis: str = "…"
    stroke: Stroke | None = None  # of the label's glyphs
    shadows: tuple[Shadow, ...] = ()  # box shadows of the label's background
    text_shadows: tuple[Shadow, ...] = ()  # of the label's glyphs
    item: FlexItem = _IN_FLOW
    hidden: bool = False
    spans: tuple[Span, ...] = ()  # the text in its styles; () = all of it in `style`
    rotate: float = 0.0  # degrees clockwise about the anchor point

    @property
    def runs(self) -> tuple[Span, ...]:
        """The text as spans: the given ones, or one span of the whole text."""
        return self.spans or (Span(self.text, self.style),)


@dataclass(frozen=True, slots=True)
class DividerComponent:
    """A `divider` (a rule) as parsed: its length and thickness resolved against the card."""

    pointer: str
    x: Length
    y: Length
    anchor: Anchor
    opacity: float
    length: Length
    thickness: float
    vertical: bool
    color: Paint
    item: FlexItem = _IN_FLOW
    hidden: bool = False
    rotate: float = 0.0  # degrees clockwise about the anchor point


@dataclass(frozen=True, slots=True)
class ShapeComponent:
    """A rectangle (corners rounded by `radius`) or the ellipse inscribed in its box."""

    pointer: str
    x: Length
    y: Length
    anchor: Anchor
    opacity: float
    width: Length
    height: Length
    fill: Paint
    ellipse: bool = False  # else a rectangle
    radius: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)  # px: tl, tr, br, bl
    border_width: float = 0.0  # px, drawn inside the outline
    border_color: Color = Color(0, 0, 0)
    shadows: tuple[Shadow, ...] = ()
    item: FlexItem = _IN_FLOW
    hidden: bool = False
    rotate: float = 0.0  # degrees clockwise about the anchor point


@dataclass(frozen=True, slots=True)
class QrComponent:
    """A QR code of `data`, a `size` × `size` square, the quiet zone included."""

    pointer: str
    x: Length
    y: Length
    anchor: Anchor
    opacity: float
    data: str
    size: float  # px, the side, quiet zone included
    color: Paint = Color(0, 0, 0)  # the dark modules
    background: Color = Color(255, 255, 255)  # the light modules and the quiet zone
    error: str = "M"  # L | M | Q | H
    quiet: int = 4  # modules of quiet zone on every side
    item: FlexItem = _IN_FLOW
    hidden: bool = False
    rotate: float = 0.0  # degrees clockwise about the anchor point


@dataclass(frozen=True, slots=True)
class StackComponent:
    """A flexbox container: its children are laid out along `direction` (see `flex`)."""

    pointer: str
    x: Length
    y: Length
    anchor: Anchor
    opacity: float
    children: tuple[Component, ...]
    direction: str = "column"  # column | row
    gap: Length = 0.0
    padding: tuple[Length, Length, Length, Length] = (0.0, 0.0, 0.0, 0.0)  # top right bottom left
    align: str = "stretch"  # start | center | end | stretch (cross axis)
    justify: str = "start"  # start | center | end | space-between | space-around | space-evenly
    wrap: bool = False
    width: Length | None = None  # None: as wide as the content
    height: Length | None = None
    background: Paint | None = None  # the panel; None = none
    radius: float = 0.0  # px
    border_width: float = 0.0  # px, inside the box
    border_color: Color = Color(0, 0, 0)
    shadows: tuple[Shadow, ...] = ()  # of the panel's box (drawn with or without a fill)
    item: FlexItem = _IN_FLOW
    hidden: bool = False
    rotate: float = 0.0  # degrees clockwise about the anchor point


Component = (
    TextComponent
    | ImageComponent
    | TagComponent
    | DividerComponent
    | ShapeComponent
    | QrComponent
    | StackComponent
)


def walk(components: tuple[Component, ...]) -> Iterator[Component]:
    """Every component of a tree, parents before their children, in paint order: the one
    traversal that resources, limits, the report and the server's gates share."""
    for c in components:
        yield c
        if isinstance(c, StackComponent):
            yield from walk(c.children)


def shown(components: tuple[Component, ...]) -> Iterator[Component]:
    """`walk`, without hidden components and whatever a hidden stack holds: what is laid out
    and drawn (and may cost anything)."""
    for c in components:
        if c.hidden:
            continue
        yield c
        if isinstance(c, StackComponent):
            yield from shown(c.children)


@dataclass(frozen=True, slots=True)
class FontRequest:
    """A font the card brings (its `fonts` list): loaded, sanitized, by the resources stage."""

    pointer: str  # /fonts/N
    src: str  # a path relative to the spec, a data URI or a URL (the image rules)
    family: str | None = None  # None: the font's own name
    weight: tuple[int, int] | None = None  # CSS weights it serves; None: its own
    style: str | None = None  # normal | italic; None: its own


@dataclass(frozen=True, slots=True)
class Card:
    """A whole spec as parsed: the one value every later stage starts from, so nothing
    downstream reads the raw JSON again."""

    width: int  # px
    height: int  # px
    background: Paint | None  # None = transparent
    components: tuple[Component, ...]  # the top level; stacks hold the rest (`walk`)
    # Relative image paths resolve against this folder, and files inside it may be read; None
    # (a spec given as a dict or JSON text, no `base_dir`): only `ImagePolicy.allow_paths`.
    base_dir: Path | None
    fonts: tuple[FontRequest, ...] = ()  # the card's own fonts

    @property
    def families(self) -> Iterator[tuple[str, str]]:
        """(JSON pointer, family) of every family the card's texts and tags name: what is
        checked against the known families once the card's own fonts are (`spec`). A span
        that names no family of its own inherits its component's and is not listed."""
        for c in walk(self.components):
            if isinstance(c, TextComponent | TagComponent):
                yield f"{c.pointer}/fontFamily", c.style.family
                for i, span in enumerate(c.spans):
                    if span.style.family != c.style.family:
                        yield f"{c.pointer}/spans/{i}/fontFamily", span.style.family


def on_canvas(c: Component, width: float, height: float) -> bool:
    """Whether any part of a top-level component can land on the `width` × `height` canvas
    (px). What cannot is not loaded, shaped or drawn (see `budget`)."""
    left, top, right, bottom, reach = _extent(c, width, height)
    if c.rotate:
        if not all(map(math.isfinite, (left, top, right, bottom))):
            return True  # a box of unknown size, turned: it may reach any way
        pivot = resolve(c.x, width), resolve(c.y, height)
        left, top, right, bottom = _turned(c.rotate, pivot, (left, top, right, bottom))
        reach *= math.sqrt(2)  # the margin turns with the box
    return (
        right + reach > 0 and left - reach < width and bottom + reach > 0 and top - reach < height
    )


def _turned(
    degrees: float, pivot: tuple[float, float], box: tuple[float, float, float, float]
) -> tuple[float, float, float, float]:
    """The axis-aligned extent (left, top, right, bottom) of `box` turned about `pivot`."""
    t = math.radians(degrees)
    cos, sin = math.cos(t), math.sin(t)
    px, py = pivot
    left, top, right, bottom = box
    xs, ys = [], []
    for x in (left, right):
        for y in (top, bottom):
            xs.append(px + cos * (x - px) - sin * (y - py))
            ys.append(py + sin * (x - px) + cos * (y - py))
    return min(xs), min(ys), max(xs), max(ys)


def _extent(c: Component, width: float, height: float) -> tuple[float, float, float, float, float]:
    """(left, top, right, bottom, reach): the box as far as it is known without laying the
    component out (-inf/inf for a side that depends on its content), and how far ink may
    reach beyond it (px)."""
    fx, fy = c.anchor.fractions
    w: Length | None
    h: Length | None
    reach = 0.0
    match c:
        case ImageComponent() | ShapeComponent():
            w, h = c.width, c.height
            reach = shadow_reach(c.shadows)
        case DividerComponent():
            length = resolve(c.length, height if c.vertical else width)
            w, h = (c.thickness, length) if c.vertical else (length, c.thickness)
        case QrComponent():
            w = h = c.size
        case TextComponent():
            w, h = c.frame_width, c.frame_height
            reach = ink_reach(c)
        case TagComponent():
            w, h = None, None
            reach = max(ink_reach(c), shadow_reach(c.shadows))
        case StackComponent():
            w, h = c.width, c.height
            reach = max(_stack_reach(c), shadow_reach(c.shadows))
        case _:
            assert_never(c)
    left, right = _side(resolve(c.x, width), fx, None if w is None else resolve(w, width))
    top, bottom = _side(resolve(c.y, height), fy, None if h is None else resolve(h, height))
    return left, top, right, bottom, reach


def _stack_reach(c: StackComponent) -> float:
    """How far a stack's children may draw outside it: absolute and turned children are
    placed anywhere, and text may overflow its box by its ink."""
    reach = 0.0
    for child in walk(c.children):
        if child.item.absolute or child.rotate:
            return math.inf
        if isinstance(child, TextComponent | TagComponent):
            reach = max(reach, ink_reach(child))
        if isinstance(child, ImageComponent | ShapeComponent | TagComponent | StackComponent):
            reach = max(reach, shadow_reach(child.shadows))
    return reach


def ink_reach(c: TextComponent | TagComponent) -> float:
    """How far (px) a text's or tag's glyphs may put ink beyond its box: glyphs overflow their
    line boxes, a stroke grows them, a text shadow moves and blurs them."""
    stroke = c.stroke.reach if c.stroke else 0.0
    return INK_REACH_EM * largest_size(c) + stroke + shadow_reach(c.text_shadows)


def largest_size(c: TextComponent | TagComponent) -> float:
    """The largest font size of a text's spans, px (a span may be larger than its component)."""
    return max((s.style.size for s in c.spans), default=c.style.size)


def _side(at: float, fraction: float, length: float | None) -> tuple[float, float]:
    if length is not None:
        start = at - fraction * length
        return start, start + length
    return (at if fraction == 0 else -math.inf), (at if fraction == 1 else math.inf)
