"""Shaping: one paragraph of text and a style in, positioned glyphs with their faces out.

Each character gets the first face of the fallback chain that has it (marks and joiners stay with
their base character's face); runs of one face are shaped by HarfBuzz with the whole paragraph as
context. Glyph advances include `letterSpacing`, added after each cluster as CSS does. A character
no bundled face has is shaped with the primary face and comes out as its `.notdef` box; it is
listed in `missing`.

Limitations: left-to-right only; bidi reordering arrives with the typography issue.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import uharfbuzz as hb

from ..fonts import FontFace, is_mark, library

__all__ = ["ShapedGlyph", "ShapedText", "shape"]

_NO_LIGATURES = {"liga": False, "clig": False, "dlig": False}


@dataclass(frozen=True, slots=True)
class ShapedGlyph:
    face: FontFace
    gid: int
    cluster: int  # index of the first character of its cluster in the paragraph
    advance: float  # px, letter spacing included
    dx: float  # px, offset right of the pen position
    dy: float  # px, offset up from the baseline


@dataclass(frozen=True, slots=True)
class ShapedText:
    text: str
    glyphs: tuple[ShapedGlyph, ...]
    char_advance: tuple[float, ...]  # px per character: its cluster's advance on its first char
    missing: tuple[str, ...]  # characters drawn as .notdef, in order of first appearance


def _itemize(
    text: str, family: str, weight: int, italic: bool, primary: FontFace
) -> tuple[list[FontFace], list[str]]:
    lib = library()
    faces: list[FontFace] = []
    missing: list[str] = []
    for ch in text:
        if faces and is_mark(ch) and ord(ch) in faces[-1].cmap:
            faces.append(faces[-1])
            continue
        face = lib.face_for(ord(ch), family, weight, italic)
        if face is None:
            if not ch.isspace() and ch not in missing:
                missing.append(ch)
            face = faces[-1] if faces and is_mark(ch) else primary
        faces.append(face)
    return faces, missing


@lru_cache(maxsize=4096)
def shape(
    text: str, family: str, weight: int, italic: bool, size: float, letter_spacing: float
) -> ShapedText:
    """Shape one paragraph (no `\\n`). Cached: cards repeat the same labels across a batch."""
    primary, _ = library().primary(family, weight, italic)
    faces, missing = _itemize(text, family, weight, italic, primary)
    codepoints = [ord(c) for c in text]
    glyphs: list[ShapedGlyph] = []
    start = 0
    while start < len(text):
        face = faces[start]
        end = start
        while end < len(text) and faces[end] is face:
            end += 1
        glyphs.extend(_shape_run(codepoints, start, end, face, size, letter_spacing))
        start = end
    advance = [0.0] * len(text)
    for g in glyphs:
        advance[g.cluster] += g.advance
    return ShapedText(text, tuple(glyphs), tuple(advance), tuple(missing))


def _shape_run(
    codepoints: list[int], start: int, end: int, face: FontFace, size: float, letter_spacing: float
) -> list[ShapedGlyph]:
    buf = hb.Buffer()
    buf.add_codepoints(codepoints, start, end - start)
    buf.guess_segment_properties()
    buf.direction = "ltr"
    hb.shape(face.font, buf, _NO_LIGATURES if letter_spacing else {})
    k = size / face.upem
    infos, positions = buf.glyph_infos, buf.glyph_positions
    out: list[ShapedGlyph] = []
    for i, (info, pos) in enumerate(zip(infos, positions, strict=True)):
        last_of_cluster = i + 1 == len(infos) or infos[i + 1].cluster != info.cluster
        spacing = letter_spacing if last_of_cluster else 0.0
        out.append(
            ShapedGlyph(
                face,
                info.codepoint,
                info.cluster,
                pos.x_advance * k + spacing,
                pos.x_offset * k,
                pos.y_offset * k,
            )
        )
    return out
