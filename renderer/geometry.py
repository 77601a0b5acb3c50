"""Geometry shared by the stages: boxes in CSS px, and placing one by its anchor."""

from __future__ import annotations

from dataclasses import dataclass

from .model import Anchor

__all__ = ["Box", "anchored"]


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
