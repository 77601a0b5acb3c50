"""Glyph outlines, cached per (face, glyph): relative path commands in font units.

Each glyph is drawn once by HarfBuzz (at the face's variation). Points are rounded to 0.1 font
unit and each command stores the difference from the previous rounded point, so a glyph run is
written by prefixing each cached outline with one absolute move: cheap to emit, exact (no
accumulated rounding), and the same numbers serve both the SVG text (`d`) and the direct cairo
painter (`ops`), which is what lets the two rasters agree pixel for pixel. HarfBuzz's callbacks
only record; the rounding is one loop over the record, in integers (`_relative`): a new CJK
glyph cost 0.45 ms in pen methods that rounded and formatted every number as it came, 0.07 ms
now, and a card of new text is mostly new glyphs.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import uharfbuzz as hb

from ..fonts import FontFace
from ..numfmt import fmt

__all__ = ["GlyphOutline", "glyph_path"]

Op = tuple[str, tuple[float, ...]]  # "m" | "l" | "q" | "c" | "z", relative coordinates
Record = list[Any]  # HarfBuzz's draw calls as they came: a letter, then its numbers


@dataclass(frozen=True, slots=True)
class GlyphOutline:
    """A glyph's outline in font units, relative commands: the SVG writes `d`, the raster
    converts `ops` once per device matrix."""

    x: float  # font units, the first point (absolute, from the glyph origin)
    y: float  # font units, up
    ops: tuple[Op, ...]  # relative commands after the first point
    svg: str | None = field(default=None, compare=False, repr=False)  # `d`, once made

    @property
    def empty(self) -> bool:
        return not self.ops

    @property
    def d(self) -> str:
        """The same commands as SVG path data, made the first time the SVG asks (the raster
        never does) and kept on the outline."""
        svg = self.svg
        if svg is None:
            svg = _svg_data(self.ops)
            object.__setattr__(self, "svg", svg)  # a cache, not a change
        return svg


_cache: dict[tuple[str, int], GlyphOutline] = {}
_CACHE_MAX = 32_768  # outlines (a CJK glyph's is ~2 KB): emptied when full, redrawn on demand
_lock = threading.Lock()


# HarfBuzz's draw callbacks, each appending its command letter and numbers to one flat list
# (the draw state): a CJK outline is ~40 calls, and a call that does only this costs a third
# of a pen method's (uharfbuzz's pen protocol packs each point in a tuple first).
def _move(x: float, y: float, record: Record) -> None:
    record += ("m", x, y)


def _line(x: float, y: float, record: Record) -> None:
    record += ("l", x, y)


def _quad(cx: float, cy: float, x: float, y: float, record: Record) -> None:
    record += ("q", cx, cy, x, y)


def _cubic(ax: float, ay: float, bx: float, by: float, x: float, y: float, record: Record) -> None:
    record += ("c", ax, ay, bx, by, x, y)


def _close(record: Record) -> None:
    record.append("z")


_DRAW = hb.DrawFuncs()
_DRAW.set_move_to_func(_move)
_DRAW.set_line_to_func(_line)
_DRAW.set_quadratic_to_func(_quad)
_DRAW.set_cubic_to_func(_cubic)
_DRAW.set_close_path_func(_close)

_NUMBERS = {"m": 2, "l": 2, "q": 4, "c": 6}


def _relative(record: Record) -> tuple[tuple[float, float], list[Op]]:
    """The first point and the relative commands: each point rounded to 0.1 font unit, each
    number the difference from the previous rounded point rounded to 0.01, as `fmt` writes it.

    Done in whole tenths: HarfBuzz's draw callbacks take C floats, so ten times a number is
    exact in a double, and `round(v, 1)` is `q / 10` with `q = round(v * 10)` (half to even,
    as `round` is on the exact value). The difference of two such points rounded to 0.01 is
    `(q1 - q2) / 10`: whole tenths lie 0.005 from no rounding boundary, and the subtraction of
    the doubles errs by far less. `tests/test_outline.py` holds this to the `round`-per-number
    reference on every glyph of the bundled faces it reads."""
    ops: list[Op] = []
    first: tuple[float, float] | None = None
    cx = cy = sx = sy = 0  # the current point and the sub-path's start, in tenths
    i, end = 0, len(record)
    while i < end:
        cmd = record[i]
        if cmd == "z":
            ops.append(("z", ()))
            cx, cy = sx, sy
            i += 1
            continue
        stop = i + 1 + _NUMBERS[cmd]
        if cmd == "m" and first is None:
            first = (round(record[i + 1], 1), round(record[i + 2], 1))
            cx, cy = sx, sy = round(record[i + 1] * 10), round(record[i + 2] * 10)
            i = stop
            continue
        numbers: list[float] = []
        for j in range(i + 1, stop, 2):
            x, y = round(record[j] * 10), round(record[j + 1] * 10)
            numbers += ((x - cx) / 10, (y - cy) / 10)
        cx, cy = x, y
        if cmd == "m":
            sx, sy = cx, cy
        ops.append((cmd, tuple(numbers)))
        i = stop
    return first or (0.0, 0.0), ops


def _svg_data(ops: tuple[Op, ...]) -> str:
    return "".join(cmd + " ".join(fmt(v) for v in numbers) for cmd, numbers in ops)


def glyph_path(face: FontFace, gid: int) -> GlyphOutline:
    """The outline of glyph `gid` of `face`; an empty glyph (a space) has no ops."""
    key = (face.key, gid)
    found = _cache.get(key)
    if found is not None:
        return found
    record: Record = []
    face.font.draw_glyph(gid, _DRAW, record)
    (x, y), ops = _relative(record)
    outline = GlyphOutline(x, y, tuple(ops))
    with _lock:
        if len(_cache) >= _CACHE_MAX:
            _cache.clear()
        _cache[key] = outline
    return outline
