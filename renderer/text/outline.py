"""Glyph outlines as SVG path data, cached per (face, glyph).

Each glyph is drawn once by HarfBuzz (at the face's variation) into a string of relative path
commands in font units, so a glyph run is written by prefixing each cached string with one absolute
`M`: cheap to emit and exact, since the relative steps are differences of rounded absolute points
(no accumulated rounding).
"""

from __future__ import annotations

import threading

from ..fonts import FontFace
from ..numfmt import fmt

__all__ = ["glyph_path"]

_cache: dict[tuple[str, int], tuple[float, float, str]] = {}
_lock = threading.Lock()


class _RelativePen:
    """Collects HarfBuzz draw callbacks as relative SVG commands on rounded coordinates."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.first: tuple[float, float] | None = None
        self.cur = (0.0, 0.0)
        self.start = (0.0, 0.0)

    def _rel(self, *points: tuple[float, float]) -> str:
        cx, cy = self.cur
        out = " ".join(f"{fmt(round(x, 1) - cx)} {fmt(round(y, 1) - cy)}" for x, y in points)
        self.cur = (round(points[-1][0], 1), round(points[-1][1], 1))
        return out

    def moveTo(self, p: tuple[float, float]) -> None:
        if self.first is None:
            self.first = (round(p[0], 1), round(p[1], 1))
            self.cur = self.start = self.first
            return
        self.parts.append("m" + self._rel(p))
        self.start = self.cur

    def lineTo(self, p: tuple[float, float]) -> None:
        self.parts.append("l" + self._rel(p))

    def qCurveTo(self, *pts: tuple[float, float]) -> None:
        # HarfBuzz emits one control point per call; the FontTools protocol allows several.
        *controls, end = pts
        for i, c in enumerate(controls):
            nxt = (
                end
                if i == len(controls) - 1
                else ((c[0] + controls[i + 1][0]) / 2, (c[1] + controls[i + 1][1]) / 2)
            )
            self.parts.append("q" + self._rel(c, nxt))

    def curveTo(
        self,
        c1: tuple[float, float],
        c2: tuple[float, float],
        p: tuple[float, float],
    ) -> None:
        self.parts.append("c" + self._rel(c1, c2, p))

    def closePath(self) -> None:
        self.parts.append("z")
        self.cur = self.start

    def endPath(self) -> None:
        self.cur = self.start


def glyph_path(face: FontFace, gid: int) -> tuple[float, float, str]:
    """(x, y, rest): the first point in font units and the relative commands after it.
    An empty glyph (a space) gives an empty `rest`."""
    key = (face.key, gid)
    found = _cache.get(key)
    if found is not None:
        return found
    pen = _RelativePen()
    face.font.draw_glyph_with_pen(gid, pen)
    first = pen.first or (0.0, 0.0)
    result = (first[0], first[1], "".join(pen.parts))
    with _lock:
        _cache[key] = result
    return result
