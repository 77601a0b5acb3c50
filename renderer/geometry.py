"""Geometry shared by the stages: boxes in CSS px, placing one by its anchor, and the corner
radii of a rounded outline."""

from __future__ import annotations

from dataclasses import dataclass

from .model import Anchor

__all__ = ["Box", "Corners", "Radius", "anchored"]


@dataclass(frozen=True, slots=True)
class Box:
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
