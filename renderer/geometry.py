"""Geometry shared by the stages: boxes in CSS px, placing one by its anchor, and the corner
radii of a rounded outline."""

from __future__ import annotations

import math
from dataclasses import dataclass

from .model import Anchor

__all__ = [
    "IDENTITY",
    "Affine",
    "Box",
    "Corners",
    "Radius",
    "Rotation",
    "anchored",
    "apply",
    "bounds",
    "invert",
    "multiply",
    "rotation",
]


@dataclass(frozen=True, slots=True)
class Box:
    """An axis-aligned box in CSS px: what layout hands to the scene for every component."""

    x: float  # px, left
    y: float  # px, top
    width: float  # px
    height: float  # px


def anchored(x: float, y: float, width: float, height: float, anchor: Anchor) -> Box:
    """The box whose `anchor` point lands on (x, y)."""
    fx, fy = anchor.fractions
    return Box(x - fx * width, y - fy * height, width, height)


Radius = tuple[float, float]  # px: one corner's ellipse, (horizontal, vertical); (0, 0) = square


@dataclass(frozen=True, slots=True)
class Corners:
    """The corner radii of a box's outline, as CSS `border-radius` resolves them: each corner an
    ellipse (horizontal, vertical radius, px), already fitted to the box (`fit`), so adjacent
    corners never overlap. A corner with either radius 0 is square."""

    top_left: Radius
    top_right: Radius
    bottom_right: Radius
    bottom_left: Radius

    @classmethod
    def uniform(cls, radius: float) -> Corners:
        r = (radius, radius)
        return cls(r, r, r, r)

    @classmethod
    def fit(cls, radii: tuple[float, float, float, float], width: float, height: float) -> Corners:
        """Circular corners (top-left, top-right, bottom-right, bottom-left, px) fitted to a
        `width` × `height` box as CSS does: every radius scaled by one factor until no two
        adjacent ones overlap. One radius for all four is capped at half the smaller side
        (the same numbers, computed without the division)."""
        if len(set(radii)) == 1:
            return cls.uniform(max(0.0, min(radii[0], width / 2, height / 2)))
        tl, tr, br, bl = (max(0.0, r) for r in radii)
        factor = 1.0
        for length, pair in (
            (width, tl + tr),
            (width, bl + br),
            (height, tl + bl),
            (height, tr + br),
        ):
            if pair > length:
                factor = min(factor, max(0.0, length) / pair)
        return cls(*(((r * factor, r * factor)) for r in (tl, tr, br, bl)))

    @classmethod
    def ellipse(cls, width: float, height: float) -> Corners:
        """The outline of the ellipse inscribed in the box (CSS `border-radius: 50%`)."""
        r = (max(0.0, width / 2), max(0.0, height / 2))
        return cls(r, r, r, r)

    @property
    def all(self) -> tuple[Radius, Radius, Radius, Radius]:
        return self.top_left, self.top_right, self.bottom_right, self.bottom_left

    @property
    def square(self) -> bool:
        return all(rx <= 0 or ry <= 0 for rx, ry in self.all)

    def inset(self, by: float) -> Corners:
        """The radii of the outline `by` px inside this one (CSS's inner border edge)."""
        return Corners(*(_inner(r, by) for r in self.all))


def _inner(radius: Radius, by: float) -> Radius:
    return max(0.0, radius[0] - by), max(0.0, radius[1] - by)


Affine = tuple[float, float, float, float, float, float]
"""An affine map as SVG writes it, `matrix(a b c d e f)`: (x, y) → (ax + cy + e, bx + dy + f)."""

IDENTITY: Affine = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)


def multiply(first: Affine, then: Affine) -> Affine:
    """The map that applies `first`, then `then` (SVG's `then · first`)."""
    a1, b1, c1, d1, e1, f1 = first
    a2, b2, c2, d2, e2, f2 = then
    return (
        a2 * a1 + c2 * b1,
        b2 * a1 + d2 * b1,
        a2 * c1 + c2 * d1,
        b2 * c1 + d2 * d1,
        a2 * e1 + c2 * f1 + e2,
        b2 * e1 + d2 * f1 + f2,
    )


def invert(m: Affine) -> Affine:
    a, b, c, d, e, f = m
    det = a * d - b * c
    return (d / det, -b / det, -c / det, a / det, (c * f - d * e) / det, (b * e - a * f) / det)


def apply(m: Affine, x: float, y: float) -> tuple[float, float]:
    a, b, c, d, e, f = m
    return a * x + c * y + e, b * x + d * y + f


def rotation(degrees: float, cx: float, cy: float) -> Affine:
    """SVG's `rotate(degrees cx cy)`: clockwise on screen (y points down) about (cx, cy)."""
    t = math.radians(degrees)
    cos, sin = math.cos(t), math.sin(t)
    return (cos, sin, -sin, cos, cx - cos * cx + sin * cy, cy - sin * cx - cos * cy)


def bounds(m: Affine, box: Box) -> Box:
    """The axis-aligned box holding `box` mapped by `m`."""
    corners = [
        apply(m, x, y) for x in (box.x, box.x + box.width) for y in (box.y, box.y + box.height)
    ]
    xs, ys = [p[0] for p in corners], [p[1] for p in corners]
    return Box(min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))


@dataclass(frozen=True, slots=True)
class Rotation:
    """A component turned about a point: SVG's `rotate(degrees cx cy)`."""

    degrees: float  # clockwise on screen
    cx: float  # px, the pivot (the component's anchor point)
    cy: float

    @property
    def matrix(self) -> Affine:
        return rotation(self.degrees, self.cx, self.cy)

    @property
    def inverse(self) -> Affine:
        return rotation(-self.degrees, self.cx, self.cy)
