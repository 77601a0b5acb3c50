"""Glyph outlines: the integer-tenths arithmetic of `renderer.text.outline` gives exactly what
rounding every number with `round` and writing it with `fmt` gives (the SVG's numbers and the
raster's device paths both come from these), on real glyphs of the bundled faces: static and
variable (fractional points at an in-between weight), Latin, CJK and Arabic."""

from __future__ import annotations

import pytest

from renderer.fonts import FontFace, library
from renderer.numfmt import fmt
from renderer.text import outline

Op = tuple[str, tuple[float, ...]]


class _ReferencePen:
    """The outline as the pen protocol hands it (uharfbuzz's `draw_glyph_with_pen`, a second
    route out of HarfBuzz), each number rounded with `round` and read back through `fmt`."""

    def __init__(self) -> None:
        self.ops: list[Op] = []
        self.first: tuple[float, float] | None = None
        self.cur = self.start = (0.0, 0.0)

    def _rel(self, cmd: str, *points: tuple[float, float]) -> None:
        cx, cy = self.cur
        numbers: list[float] = []
        for x, y in points:
            numbers += [float(fmt(round(x, 1) - cx)), float(fmt(round(y, 1) - cy))]
        self.cur = (round(points[-1][0], 1), round(points[-1][1], 1))
        self.ops.append((cmd, tuple(numbers)))

    def moveTo(self, p: tuple[float, float]) -> None:
        if self.first is None:
            self.first = self.cur = self.start = (round(p[0], 1), round(p[1], 1))
            return
        self._rel("m", p)
        self.start = self.cur

    def lineTo(self, p: tuple[float, float]) -> None:
        self._rel("l", p)

    def qCurveTo(self, c: tuple[float, float], p: tuple[float, float]) -> None:
        self._rel("q", c, p)

    def curveTo(
        self, a: tuple[float, float], b: tuple[float, float], p: tuple[float, float]
    ) -> None:
        self._rel("c", a, b, p)

    def closePath(self) -> None:
        self.ops.append(("z", ()))
        self.cur = self.start

    def endPath(self) -> None:
        self.cur = self.start


def _faces() -> list[tuple[str, FontFace]]:
    lib = library()
    chosen = []
    for family, subset, weights in (
        ("Inter", "latin", (400, 650)),  # variable: 650 is between masters, fractional points
        ("Playfair Display", "latin", (500,)),
        ("Poppins", "latin", (700,)),
        ("Noto Sans SC", "119", (400, 550)),
        ("Noto Sans Arabic", "arabic", (450,)),
    ):
        info = next(f for f in lib.families[family] if f.subset == subset and not f.italic)
        chosen += [(f"{family} {subset} {w}", lib.face(info, w)) for w in weights]
    return chosen


@pytest.mark.parametrize(("name", "face"), _faces(), ids=lambda v: v if isinstance(v, str) else "")
def test_outline_matches_rounding_reference(name: str, face: FontFace) -> None:
    count = face.font.face.glyph_count
    fractional = 0
    for gid in range(min(count, 600)):
        pen = _ReferencePen()
        face.font.draw_glyph_with_pen(gid, pen)
        record: outline.Record = []
        face.font.draw_glyph(gid, outline._DRAW, record)
        first, ops = outline._relative(record)
        assert first == (pen.first or (0.0, 0.0)), (name, gid)
        assert ops == pen.ops, (name, gid)
        # signed zeros too: `fmt` writes -0 as 0, and so must the numbers
        assert repr(ops) == repr(pen.ops), (name, gid)
        fractional += any(isinstance(v, float) and not v.is_integer() for v in record)
    assert count > 0
    if name.endswith(("650", "550")):  # between masters: the points are not whole units
        assert fractional > 100


def test_svg_path_data_is_made_once_and_matches_the_ops() -> None:
    face = _faces()[0][1]
    gid = face.font.get_nominal_glyph(ord("g"))
    outline._cache.clear()
    shape = outline.glyph_path(face, gid)
    assert shape.svg is None  # the raster never asks for it
    d = shape.d
    assert d is shape.d
    assert d.startswith(("q", "l", "c", "m"))
    assert d == "".join(c + " ".join(fmt(v) for v in n) for c, n in shape.ops)
    assert outline.glyph_path(face, gid) is shape
