"""Glyph runs on a PDF page as Type 3 fonts: each glyph's outline written once per face.

Filling a run's outlines as one path (what the raster does, for its pixel identity with
CairoSVG) writes every glyph's curves into the page again for every time it is drawn: the
worst text card the limits accept (50,000 glyphs) took 3.7 s and 14 MB as PDF, nearly all of it
cairo formatting and deflating those numbers. Shown as glyphs of a cairo *user font* instead,
whose glyphs are drawn from the same HarfBuzz outlines, cairo's PDF surface embeds each face
as a Type 3 font (a vector drawing per glyph, the same curves) and the page just places
glyphs: still vectors at any zoom, written once, about thirty times faster for that card.

Only runs filled with one colour go this way; a gradient fill, a stroke or a glyph clip stays a
path (they need the outline as geometry on the page).
"""

from __future__ import annotations

import threading

from .cairolib import cairocffi as cairo
from .fonts import OBLIQUE_SLANT, FontFace
from .scene import GlyphRunItem
from .text.outline import GlyphOutline, glyph_path

__all__ = ["show_run"]

_C = cairo.cairo  # the cffi library: cairo's C functions
ffi = cairo.ffi

_FACES_MAX = 256  # user fonts kept (a face each; cards' own fonts come and go in a server)
_faces: dict[str, tuple[cairo.FontFace, FontFace]] = {}  # face.key -> (user font, face)
_by_pointer: dict[int, FontFace] = {}  # the user font's cairo pointer -> the face it draws
_lock = threading.Lock()
_OPTIONS = cairo.FontOptions()
_OPTIONS.set_hint_style(cairo.HINT_STYLE_NONE)
_OPTIONS.set_hint_metrics(cairo.HINT_METRICS_OFF)


def _address(pointer: object) -> int:
    return int(ffi.cast("uintptr_t", pointer))


def _render_glyph(scaled_font: object, gid: int, cr: object, extents: object) -> int:
    """cairo asks for a glyph the page uses, once per face: its outline, in ems, y down."""
    face = _by_pointer.get(_address(_C.cairo_scaled_font_get_font_face(scaled_font)))
    if face is None:
        return int(cairo.STATUS_USER_FONT_ERROR)
    try:
        _draw(cr, glyph_path(face, gid), 1 / face.upem)
    except Exception:  # cairo calls this from C: an error becomes its status
        return int(cairo.STATUS_USER_FONT_ERROR)
    _C.cairo_fill(cr)
    return 0


_RENDER_GLYPH = ffi.callback(
    "cairo_status_t(cairo_scaled_font_t *, unsigned long, cairo_t *, cairo_text_extents_t *)",
    _render_glyph,
)


def _draw(cr: object, outline: GlyphOutline, k: float) -> None:
    """The outline's relative commands from its first point, as cairo path calls; quadratic
    pieces raised to cubics as CairoSVG raises them."""
    if outline.empty:
        return
    x, y = outline.x, outline.y
    _C.cairo_move_to(cr, x * k, -y * k)
    start = (x, y)
    for cmd, n in outline.ops:
        if cmd == "z":
            _C.cairo_close_path(cr)
            x, y = start
            continue
        if cmd == "q":
            c1x, c1y = x + n[0] * 2 / 3, y + n[1] * 2 / 3
            c = (c1x, c1y, c1x + n[2] / 3, c1y + n[3] / 3, x + n[2], y + n[3])
        elif cmd == "c":
            c = (x + n[0], y + n[1], x + n[2], y + n[3], x + n[4], y + n[5])
        else:
            x, y = x + n[0], y + n[1]
            if cmd == "m":
                _C.cairo_move_to(cr, x * k, -y * k)
                start = (x, y)
            else:
                _C.cairo_line_to(cr, x * k, -y * k)
            continue
        _C.cairo_curve_to(cr, c[0] * k, -c[1] * k, c[2] * k, -c[3] * k, c[4] * k, -c[5] * k)
        x, y = c[4], c[5]


def _user_font(face: FontFace) -> cairo.FontFace:
    with _lock:
        found = _faces.get(face.key)
        if found is not None:
            return found[0]
        if len(_faces) >= _FACES_MAX:  # cairo keeps its own reference to fonts still in use
            _faces.clear()
        if len(_by_pointer) >= 4 * _FACES_MAX:  # later: a page in progress still asks for these
            _by_pointer.clear()
        pointer = _C.cairo_user_font_face_create()
        _C.cairo_user_font_face_set_render_glyph_func(pointer, _RENDER_GLYPH)
        user = cairo.FontFace._from_pointer(pointer, incref=False)
        _faces[face.key] = (user, face)
        _by_pointer[_address(pointer)] = face
        return user


def show_run(ctx: cairo.Context, g: GlyphRunItem) -> None:
    """Draw `g`'s glyphs with the context's source, in its user space (CSS px)."""
    slant = OBLIQUE_SLANT if g.oblique else 0.0
    ctx.set_font_face(_user_font(g.face))
    ctx.set_font_matrix(cairo.Matrix(g.size, 0, -slant * g.size, g.size, 0, 0))
    ctx.set_font_options(_OPTIONS)
    ctx.show_glyphs([(gid, g.x + gx + slant * gy, g.y - gy) for gid, gx, gy in g.glyphs])
