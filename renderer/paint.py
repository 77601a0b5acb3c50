"""Paints placed on boxes: a model `Paint` and the box it fills in, the scene's `Fill` out.

A gradient in the spec is relative (an angle, a shape and an extent, stop offsets); the painters
need absolute geometry in card px: the gradient line of a linear gradient, the centre and radii
of a radial one. Both follow CSS Images 3: a linear gradient's line passes through the box's
centre at its angle and is `|w sin θ| + |h cos θ|` long, so its first and last colours touch
opposite corners; a radial gradient's ending shape is a circle or an ellipse sized by its extent
keyword against the box's sides or corners. A colour stays a colour.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from typing_extensions import assert_never

from .fonts import OBLIQUE_SLANT
from .geometry import IDENTITY, Affine, Box, invert, multiply
from .model import Color, LinearGradient, Paint, RadialGradient
from .numfmt import fmt

__all__ = [
    "Fill",
    "LinearFill",
    "RadialFill",
    "fill_for",
    "fill_opaque",
    "fill_visible",
    "gradient_matrix",
    "run_matrix",
    "written",
]

_MIN_RADIUS = 0.01  # px: a radial gradient squeezed flat (its centre on an edge) stays drawable

Stops = tuple[tuple[float, Color], ...]  # (offset 0..1, colour), offsets never decreasing


@dataclass(frozen=True, slots=True)
class LinearFill:
    """A linear gradient resolved to card px (the spec's angle turned into a line), so SVG
    and raster draw the same one."""

    x1: float  # px: where the gradient line starts (offset 0)
    y1: float
    x2: float  # px: where it ends (offset 1)
    y2: float
    stops: Stops


@dataclass(frozen=True, slots=True)
class RadialFill:
    """A radial gradient resolved to card px: its centre and the ellipse of offset 1."""

    cx: float  # px: the centre (offset 0)
    cy: float
    rx: float  # px: the ending ellipse's radii (offset 1)
    ry: float
    stops: Stops


Fill = Color | LinearFill | RadialFill


def fill_for(paint: Paint, box: Box) -> Fill:
    """`paint` spread over `box` (card px)."""
    match paint:
        case Color():
            return paint
        case LinearGradient():
            return _linear(paint, box)
        case RadialGradient():
            return _radial(paint, box)
        case _:
            assert_never(paint)


def _stops(paint: LinearGradient | RadialGradient) -> Stops:
    return tuple((s.offset, s.color) for s in paint.stops)


def _linear(paint: LinearGradient, box: Box) -> LinearFill:
    theta = math.radians(paint.angle)
    dx, dy = math.sin(theta), -math.cos(theta)  # 0° points up, 90° to the right
    half = (abs(box.width * dx) + abs(box.height * dy)) / 2
    cx, cy = box.x + box.width / 2, box.y + box.height / 2
    return LinearFill(cx - dx * half, cy - dy * half, cx + dx * half, cy + dy * half, _stops(paint))


def _radial(paint: RadialGradient, box: Box) -> RadialFill:
    fx, fy = paint.center
    cx, cy = box.x + fx * box.width, box.y + fy * box.height
    across = (fx * box.width, (1 - fx) * box.width)  # to the left and right sides, px
    down = (fy * box.height, (1 - fy) * box.height)
    pick = max if paint.extent.startswith("farthest") else min
    sx, sy = pick(across), pick(down)  # the chosen sides (a chosen corner lies at both)
    corner = paint.extent.endswith("corner")
    if paint.circle:
        r = math.hypot(sx, sy) if corner else pick(sx, sy)
        rx = ry = r
    else:  # an ellipse keeps the sides' proportions; through the corner it is √2 larger
        k = math.sqrt(2) if corner else 1.0
        rx, ry = k * sx, k * sy
    return RadialFill(cx, cy, max(rx, _MIN_RADIUS), max(ry, _MIN_RADIUS), _stops(paint))


def fill_visible(fill: Fill) -> bool:
    if isinstance(fill, Color):
        return fill.a > 0
    return any(c.a > 0 for _, c in fill.stops)


def fill_opaque(fill: Fill) -> bool:
    if isinstance(fill, Color):
        return fill.a == 255
    return all(c.a == 255 for _, c in fill.stops)


def written(value: float, digits: int) -> float:
    """`value` as the SVG writes it (`fmt`), read back."""
    return float(fmt(value, digits))


def run_matrix(size: float, upem: int, oblique: bool, x: float, y: float) -> Affine:
    """A glyph run's transform as the SVG writes it (font units, y up → card px), in the
    numbers the document carries."""
    k = size / upem
    shear = written(k * OBLIQUE_SLANT, 6) if oblique else 0.0
    return (written(k, 6), 0.0, shear, written(-k, 6), written(x, 3), written(y, 3))


def gradient_matrix(fill: LinearFill | RadialFill, inside: Affine | None) -> Affine | None:
    """The `gradientTransform` of `fill` when it paints an element whose own transform is
    `inside` (None: the element is in card px): the gradient is placed on the card, so its
    space is mapped to card px (a radial gradient is the unit circle scaled and moved), then
    back into the element's user space."""
    ellipse: Affine | None = None
    if isinstance(fill, RadialFill):
        ellipse = (fill.rx, 0.0, 0.0, fill.ry, fill.cx, fill.cy)
    if inside is None:
        return ellipse
    return multiply(ellipse or IDENTITY, invert(inside))
