"""Flexbox: a tree of styled boxes in, each box's position and size out, computed by Taffy.

Taffy is the CSS flexbox engine Takumi and Servo use; `stretchable` ships it with Python bindings.
Only its low-level module (`stretchable.taffylib`, the Rust extension) is used: stretchable's own
Python layer validates every length through `dir()` of an enum and costs about 2 ms a node, most
of a card's whole render time, where the extension takes microseconds. This module is the only
one that knows Taffy: `layout` describes boxes with `NodeStyle` and gives leaves a `Measure`.

A `FlexTree` lives for one layout (creating one costs under a microsecond) and is not shared
between threads. Rounding is off: boxes come back in fractional px, as Chromium's layout keeps
them, and the painters round where the pixels are.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .model import Length, Percent

__all__ = ["Box", "FlexTree", "Measure", "NodeStyle", "Space"]

_NAN = math.nan
taffylib: Any = None  # stretchable's Rust extension, imported by the first FlexTree
_AUTO, _POINTS, _PERCENT, _MIN_CONTENT, _MAX_CONTENT = 0, 1, 2, 3, 4
_ALIGN = {"start": 2, "end": 3, "center": 4, "stretch": 6}  # align-items/self: FLEX_START, ...
_JUSTIFY = {
    "start": 2,  # FLEX_START
    "end": 3,
    "center": 4,
    "space-between": 6,
    "space-evenly": 7,
    "space-around": 8,
}


@dataclass(frozen=True, slots=True)
class Space:
    """The room Taffy offers a leaf along one axis: a definite number of px, or the room for
    the content's min-content or max-content size (`px` is then NaN)."""

    kind: str  # definite | min-content | max-content
    px: float


Measure = Callable[[float | None, float | None, Space, Space], tuple[float, float]]
"""(known width, known height, room across, room down) → the leaf's (width, height), px. A known
side is the size the layout has already fixed (None while it is still open)."""


@dataclass(frozen=True, slots=True)
class NodeStyle:
    """The CSS flexbox properties a node may set (all of them for a container, the item ones
    for any child); lengths are px or `Percent`."""

    direction: str = "row"  # row | column (flex-direction)
    wrap: bool = False
    gap: Length = 0.0
    padding: tuple[Length, Length, Length, Length] = (0.0, 0.0, 0.0, 0.0)  # top right bottom left
    border: float = 0.0  # px, every side
    align_items: str | None = None  # None: stretch
    justify: str | None = None  # None: start
    align_self: str | None = None  # None: the container's align_items
    grow: float = 0.0
    shrink: float = 1.0
    width: Length | None = None  # None: auto
    height: Length | None = None
    min_width: Length | None = None  # None: auto (CSS's content-based minimum)
    min_height: Length | None = None
    max_width: Length | None = None
    max_height: Length | None = None
    absolute: bool = False
    hidden: bool = False  # display: none


@dataclass(frozen=True, slots=True)
class Box:
    """Where Taffy placed one node, relative to its parent: `flex` turns these into card
    coordinates."""

    x: float  # px, from the parent's border box
    y: float
    width: float
    height: float


def _dim(value: Length | None) -> dict[str, Any]:
    if value is None:
        return {"dim": _AUTO, "value": _NAN}
    if isinstance(value, Percent):
        return {"dim": _PERCENT, "value": value.fraction}
    return {"dim": _POINTS, "value": float(value)}


def _rect(top: Any, right: Any, bottom: Any, left: Any) -> dict[str, Any]:
    return {"top": top, "right": right, "bottom": bottom, "left": left}


def _auto_rect() -> dict[str, Any]:
    auto = _dim(None)
    return _rect(auto, auto, auto, auto)


def _zero_rect() -> dict[str, Any]:
    zero = _dim(0.0)
    return _rect(zero, zero, zero, zero)


_TRACK = {"min_size": {"dim": _AUTO, "value": _NAN}, "max_size": {"dim": _AUTO, "value": _NAN}}
_GRID_LINE = {"start": {"kind": 0, "value": 0}, "end": {"kind": 0, "value": 0}}


def _style_dict(s: NodeStyle) -> dict[str, Any]:
    """The dict `taffylib.node_create` reads (the shape of stretchable's `Style.to_dict()`)."""
    top, right, bottom, left = (_dim(v) for v in s.padding)
    border = _dim(s.border)
    return {
        "display": 0 if s.hidden else 1,  # NONE, FLEX
        "box_sizing": 0,  # border-box: width and height include padding and border
        "overflow_x": 0,
        "overflow_y": 0,
        "scrollbar_width": 0.0,
        "position": 1 if s.absolute else 0,
        "inset": _auto_rect(),
        "gap": {"width": _dim(s.gap), "height": _dim(s.gap)},
        "margin": _zero_rect(),
        "border": _rect(border, border, border, border),
        "padding": _rect(top, right, bottom, left),
        "size": {"width": _dim(s.width), "height": _dim(s.height)},
        "min_size": {"width": _dim(s.min_width), "height": _dim(s.min_height)},
        "max_size": {"width": _dim(s.max_width), "height": _dim(s.max_height)},
        "flex_wrap": 1 if s.wrap else 0,
        "flex_direction": 1 if s.direction == "column" else 0,
        "flex_grow": float(s.grow),
        "flex_shrink": float(s.shrink),
        "flex_basis": _dim(None),
        "grid_template_rows": [],
        "grid_template_columns": [],
        "grid_auto_rows": [_TRACK],
        "grid_auto_columns": [_TRACK],
        "grid_auto_flow": 0,
        "grid_row": _GRID_LINE,
        "grid_column": _GRID_LINE,
        "aspect_ratio": None,
        "align_items": None if s.align_items is None else _ALIGN[s.align_items],
        "justify_items": None,
        "align_self": None if s.align_self in (None, "auto") else _ALIGN[s.align_self],
        "justify_self": None,
        "align_content": None,
        "justify_content": None if s.justify is None else _JUSTIFY[s.justify],
    }


def _space(raw: dict[str, Any]) -> Space:
    dim = raw["dim"]
    if dim == _POINTS:
        return Space("definite", float(raw["value"]))
    return Space("min-content" if dim == _MIN_CONTENT else "max-content", _NAN)


class FlexTree:
    """Nodes for one layout; `compute` lays out a root, `box` reads any node afterwards.
    Use as a context manager: Taffy's memory is freed on exit."""

    def __init__(self) -> None:
        global taffylib
        if taffylib is None:  # imported by the first stack: stretchable is 30 ms of a start
            from stretchable import taffylib
        self._ptr = taffylib.init()
        taffylib.disable_rounding(self._ptr)
        self._measures: dict[int, Measure] = {}
        self._layout = taffylib.PyLayout()

    def __enter__(self) -> FlexTree:
        return self

    def __exit__(self, *exc: object) -> None:
        taffylib.free(self._ptr)

    def node(self, style: NodeStyle, measure: Measure | None = None) -> int:
        node: int = taffylib.node_create(self._ptr, _style_dict(style))
        if measure is not None:
            taffylib.node_set_measure(self._ptr, node, True)
            self._measures[node] = measure
        return node

    def add(self, parent: int, child: int) -> None:
        taffylib.node_add_child(self._ptr, parent, child)

    def _measure(
        self, known_w: float, known_h: float, room_w: Any, room_h: Any, node: int
    ) -> tuple[float, float]:
        measure = self._measures.get(node)
        if measure is None:
            return 0.0, 0.0
        return measure(
            None if math.isnan(known_w) else known_w,
            None if math.isnan(known_h) else known_h,
            _space(room_w),
            _space(room_h),
        )

    def compute(self, root: int, width: float, height: float) -> None:
        """Lay out `root` and everything under it in a `width` × `height` px room."""
        room = {"width": _dim(width), "height": _dim(height)}
        if not taffylib.node_compute_layout_with_measure(self._ptr, root, room, self._measure):
            msg = "Taffy could not lay out the tree"
            raise RuntimeError(msg)

    def box(self, node: int) -> Box:
        taffylib.node_get_layout(self._ptr, node, self._layout)
        out = self._layout
        return Box(out.x, out.y, out.width, out.height)
