"""Glyph outlines, cached per (face, glyph): relative path commands in font units.

Each glyph is drawn once by HarfBuzz (at the face's variation). Points are rounded to 0.1 font
unit and each command stores the difference from the previous rounded point, so a glyph run is
written by prefixing each cached outline with one absolute move: cheap to emit, exact (no
accumulated rounding), and the same numbers serve both the SVG text (`d`) and the direct cairo
painter (`ops`), which is what lets the two rasters agree pixel for pixel.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from ..fonts import FontFace
from ..numfmt import fmt

__all__ = ["GlyphOutline", "glyph_path"]

Op = tuple[str, tuple[float, ...]]  # "m" | "l" | "q" | "c" | "z", relative coordinates


@dataclass(frozen=True, slots=True)
class GlyphOutline:
    """A glyph's outline in font units, relative commands: the SVG writes `d`, the raster
    converts `ops` once per device matrix."""

    x: float  # font units, the first point (absolute, from the glyph origin)
    y: float  # font units, up
    ops: tuple[Op, ...]  # relative commands after the first point
    d: str  # the same commands as SVG path data

    @property
    def empty(self) -> bool:
        return not self.ops


_cache: dict[tuple[str, int], GlyphOutline] = {}
_CACHE_MAX = 32_768  # outlines (a CJK glyph's is ~2 KB): emptied when full, redrawn on demand
_lock = threading.Lock()


def _r(v: float) -> float:
    return round(v, 1)


class _RelativePen:
    """Collects HarfBuzz draw callbacks as relative commands between rounded points."""

    def __init__(self) -> None:
        self.ops: list[Op] = []
        self.first: tuple[float, float] | None = None
        self.cur = (0.0, 0.0)
        self.start = (0.0, 0.0)

    def _rel(self, cmd: str, *points: tuple[float, float]) -> None:
        cx, cy = self.cur
        numbers: list[float] = []
        for x, y in points:
            numbers += [float(fmt(_r(x) - cx)), float(fmt(_r(y) - cy))]
        self.cur = (_r(points[-1][0]), _r(points[-1][1]))
        self.ops.append((cmd, tuple(numbers)))

    def moveTo(self, p: tuple[float, float]) -> None:
        if self.first is None:
            self.first = self.cur = self.start = (_r(p[0]), _r(p[1]))
            return
        self._rel("m", p)
        self.start = self.cur

    def lineTo(self, p: tuple[float, float]) -> None:
        self._rel("l", p)

    def qCurveTo(self, *pts: tuple[float, float]) -> None:
        # HarfBuzz emits one control point per call; the FontTools protocol allows several.
        *controls, end = pts
        for i, c in enumerate(controls):
            last = i == len(controls) - 1
            nxt = (
                end if last else ((c[0] + controls[i + 1][0]) / 2, (c[1] + controls[i + 1][1]) / 2)
            )
            self._rel("q", c, nxt)

    def curveTo(
        self,
        c1: tuple[float, float],
        c2: tuple[float, float],
        p: tuple[float, float],
    ) -> None:
        self._rel("c", c1, c2, p)

    def closePath(self) -> None:
        self.ops.append(("z", ()))
        self.cur = self.start

    def endPath(self) -> None:
        self.cur = self.start


def _svg_data(ops: list[Op]) -> str:
    return "".join(cmd + " ".join(fmt(v) for v in numbers) for cmd, numbers in ops)


def glyph_path(face: FontFace, gid: int) -> GlyphOutline:
    """The outline of glyph `gid` of `face`; an empty glyph (a space) has no ops."""
    key = (face.key, gid)
    found = _cache.get(key)
    if found is not None:
        return found
    pen = _RelativePen()
    face.font.draw_glyph_with_pen(gid, pen)
    first = pen.first or (0.0, 0.0)
    outline = GlyphOutline(first[0], first[1], tuple(pen.ops), _svg_data(pen.ops))
    with _lock:
        if len(_cache) >= _CACHE_MAX:
            _cache.clear()
        _cache[key] = outline
    return outline
