"""The validated card: what the spec stage returns and every later stage reads.

Every value here is resolved: defaults applied, colours parsed, keywords turned into numbers. Each
component keeps the JSON pointer it came from, so a later stage (resources, the render report) can
name it. Units: px unless a comment says otherwise.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "Anchor",
    "Card",
    "Color",
    "Component",
    "DividerComponent",
    "ImageComponent",
    "TagComponent",
    "TextComponent",
    "INK_REACH_EM",
    "TextStyle",
    "on_canvas",
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
    family: str  # one of the bundled families
    weight: int  # 100..900
    italic: bool
    size: float  # px
    color: Color
    line_height: float  # multiple of size
    letter_spacing: float  # px added after each character
    lang: str | None = None  # BCP 47 tag


@dataclass(frozen=True, slots=True)
class TextComponent:
    pointer: str
    x: float
    y: float
    anchor: Anchor
    opacity: float  # 0..1
    text: str
    style: TextStyle
    frame_width: float | None  # px; None = "fit"
    align: str | None  # left | center | right; None = by paragraph direction
    frame_height: float | None = None  # px
    max_lines: int | None = None
    ellipsis: str = "…"
    auto_size: tuple[float, float] | None = None  # (min, max) px when fontSize is "auto"


@dataclass(frozen=True, slots=True)
class ImageComponent:
    pointer: str
    x: float
    y: float
    anchor: Anchor
    opacity: float
    src: str
    width: float
    height: float
    radius: float
    fit: str = "cover"  # cover | contain | fill | none
    position: tuple[float, float] = (0.5, 0.5)  # focal point, fractions of the free space
    border_width: float = 0.0  # px, drawn inside the (rounded) outline
    border_color: Color = Color(0, 0, 0)
    on_error: str = "error"  # error | placeholder


@dataclass(frozen=True, slots=True)
class TagComponent:
    pointer: str
    x: float
    y: float
    anchor: Anchor
    opacity: float
    text: str
    style: TextStyle
    background: Color
    padding_x: float
    padding_y: float
    radius: float | None  # None = pill (half the height)
    max_width: float | None = None  # px, of the text
    ellipsis: str = "…"


@dataclass(frozen=True, slots=True)
class DividerComponent:
    pointer: str
    x: float
    y: float
    anchor: Anchor
    opacity: float
    length: float
    thickness: float
    vertical: bool
    color: Color


Component = TextComponent | ImageComponent | TagComponent | DividerComponent


@dataclass(frozen=True, slots=True)
class Card:
    width: int  # px
    height: int  # px
    background: Color | None  # None = transparent
    components: tuple[Component, ...]
    # Relative image paths resolve against this folder, and files inside it may be read; None
    # (a spec given as a dict or JSON text, no `base_dir`): only `ImagePolicy.allow_paths`.
    base_dir: Path | None


def on_canvas(c: Component, width: float, height: float) -> bool:
    """Whether any part of `c` can land on the `width` × `height` canvas (px). What cannot is
    not loaded, shaped or drawn (see `budget`)."""
    left, top, right, bottom, reach = _extent(c)
    return (
        right + reach > 0 and left - reach < width and bottom + reach > 0 and top - reach < height
    )


def _extent(c: Component) -> tuple[float, float, float, float, float]:
    """(left, top, right, bottom, reach): the box as far as it is known without laying the
    component out (-inf/inf for a side that depends on its content), and how far ink may
    reach beyond it (px)."""
    fx, fy = c.anchor.fractions
    match c:
        case ImageComponent():
            w: float | None = c.width
            h: float | None = c.height
            reach = 0.0
        case DividerComponent():
            w, h = (c.thickness, c.length) if c.vertical else (c.length, c.thickness)
            reach = 0.0
        case TextComponent():
            w, h = c.frame_width, c.frame_height
            reach = INK_REACH_EM * c.style.size
        case TagComponent():
            w, h = None, None
            reach = INK_REACH_EM * c.style.size
    left, right = _side(c.x, fx, w)
    top, bottom = _side(c.y, fy, h)
    return left, top, right, bottom, reach


def _side(at: float, fraction: float, length: float | None) -> tuple[float, float]:
    if length is not None:
        start = at - fraction * length
        return start, start + length
    return (at if fraction == 0 else -math.inf), (at if fraction == 1 else math.inf)
