"""Shaping: one paragraph and a style in, shaped items (runs of one face and direction) out.

The paragraph is split into grapheme clusters; each cluster gets one source, the first face of the
fallback chain that has all of it, or a Twemoji colour emoji (see fonts.py). Consecutive clusters
with the same source and bidi level form an item, which HarfBuzz shapes with the whole paragraph as
context; right-to-left items come back in visual order. Advances include `letterSpacing`, added
once per cluster as CSS does. A cluster no source has is drawn as the primary face's `.notdef` box
and listed in `missing`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import uharfbuzz as hb

from ..fonts import IGNORABLE, FontFace, is_traditional, library
from .bidi import levels
from .segment import grapheme_boundaries

__all__ = ["EMOJI_ADVANCE", "ShapedGlyph", "ShapedItem", "ShapedText", "shape"]

EMOJI_ADVANCE = 1.15  # em: an emoji's advance; its 1 em square is centred in it
# Full-width closing brackets and quotes: their ink sits in the left half of a 1 em advance, and
# at the end of a line browsers count only that half when it lets the line fit (CSS Text 4
# `text-spacing-trim: normal`, as Chromium applies it: brackets and quotes, not 、。，).
_CLOSING = frozenset("）〉》」』】〕〗〙〛］｝｠”’")
_NO_LIGATURES = {"liga": False, "clig": False, "dlig": False}


@dataclass(frozen=True, slots=True)
class ShapedGlyph:
    gid: int  # glyph id in the item's face; unused for emoji
    cluster: int  # index of the first character of its cluster in the paragraph
    advance: float  # px, letter spacing included
    dx: float  # px, offset right of the pen position
    dy: float  # px, offset up from the baseline


@dataclass(frozen=True, slots=True)
class ShapedItem:
    """Consecutive clusters with one source and one bidi level."""

    start: int  # first character (logical)
    end: int  # one past the last character
    level: int  # bidi embedding level; odd = right to left
    face: FontFace | None  # None: an emoji item
    emoji: tuple[str, ...]  # Twemoji keys, one per glyph, for an emoji item
    glyphs: tuple[ShapedGlyph, ...]  # visual order within the item
    # each glyph's cluster, in the same order: ascending left to right, descending right to
    # left (HarfBuzz's monotone clusters), so the glyphs of a character range are one slice
    clusters: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class ShapedText:
    text: str
    rtl: bool  # paragraph direction, from its first strong character
    items: tuple[ShapedItem, ...]  # logical order
    char_advance: tuple[float, ...]  # px per character; a cluster's advance on its first char
    cluster_start: tuple[bool, ...]  # whether a cluster starts at each character
    end_trim: tuple[float, ...]  # px a line ending with this character may give back (below)
    missing: tuple[str, ...]  # clusters drawn as .notdef, in order of first appearance


_Source = FontFace | str  # a face, or a Twemoji key


def _sources(
    text: str,
    bounds: list[int],
    family: str,
    weight: int,
    italic: bool,
    lang: str | None,
    primary: FontFace,
) -> tuple[list[_Source], list[str]]:
    lib = library()
    traditional = is_traditional(lang)
    sources: list[_Source] = []
    missing: list[str] = []
    for a, b in zip(bounds, bounds[1:], strict=False):
        cluster = text[a:b]
        if not IGNORABLE.sub("", cluster):  # invisible format characters: nothing to draw
            sources.append(sources[-1] if sources else primary)
            continue
        source: _Source | None = lib.emoji.key(cluster)
        if source is None:
            source = lib.face_for_cluster(cluster, family, weight, italic, traditional)
        if source is None:
            source = lib.emoji.key(cluster, only_if_emoji=False)
        if source is None:
            if not cluster.isspace() and cluster not in missing:
                missing.append(cluster)
            source = primary
        sources.append(source)
    return sources, missing


@lru_cache(maxsize=4096)
def shape(
    text: str,
    family: str,
    weight: int,
    italic: bool,
    size: float,
    letter_spacing: float,
    lang: str | None = None,
) -> ShapedText:
    """Shape one paragraph (no `\\n`). Cached: a batch repeats the same labels."""
    primary, _ = library().primary(family, weight, italic)
    bounds = grapheme_boundaries(text)
    sources, missing = _sources(text, bounds, family, weight, italic, lang, primary)
    rtl, char_levels = levels(text)
    items: list[ShapedItem] = []
    codepoints = [ord(c) for c in text]
    i = 0
    while i < len(sources):
        j = i + 1
        while (
            j < len(sources)
            and _same(sources[i], sources[j])
            and char_levels[bounds[j]] == char_levels[bounds[i]]
        ):
            j += 1
        level = char_levels[bounds[i]]
        src = sources[i]
        if isinstance(src, str):
            items.append(_emoji_item(bounds[i : j + 1], sources[i:j], level, size, letter_spacing))
        else:
            items.append(
                _shape_item(
                    codepoints, bounds[i], bounds[j], level, src, size, letter_spacing, lang
                )
            )
        i = j
    advance = [0.0] * len(text)
    for item in items:
        for g in item.glyphs:
            advance[g.cluster] += g.advance
    starts = [False] * len(text)
    for b in bounds[:-1]:
        starts[b] = True
    trim = tuple(
        a / 2 if c in _CLOSING and a >= 0.9 * size else 0.0
        for c, a in zip(text, advance, strict=True)
    )
    return ShapedText(text, rtl, tuple(items), tuple(advance), tuple(starts), trim, tuple(missing))


def _same(a: _Source, b: _Source) -> bool:
    """Clusters shaped together: one face, or both emoji."""
    return a is b or (isinstance(a, str) and isinstance(b, str))


def _emoji_item(
    bounds: list[int], keys: list[_Source], level: int, size: float, letter_spacing: float
) -> ShapedItem:
    glyphs = tuple(
        ShapedGlyph(0, a, EMOJI_ADVANCE * size + letter_spacing, 0.0, 0.0) for a in bounds[:-1]
    )
    names = tuple(str(k) for k in keys)
    if level % 2:
        glyphs, names = glyphs[::-1], names[::-1]
    clusters = tuple(g.cluster for g in glyphs)
    return ShapedItem(bounds[0], bounds[-1], level, None, names, glyphs, clusters)


def _shape_item(
    codepoints: list[int],
    start: int,
    end: int,
    level: int,
    face: FontFace,
    size: float,
    letter_spacing: float,
    lang: str | None,
) -> ShapedItem:
    buf = hb.Buffer()
    buf.add_codepoints(codepoints, start, end - start)
    buf.guess_segment_properties()
    buf.direction = "rtl" if level % 2 else "ltr"
    if lang:
        buf.language = lang
    hb.shape(face.font, buf, _NO_LIGATURES if letter_spacing else {})
    k = size / face.upem
    infos, positions = buf.glyph_infos, buf.glyph_positions
    glyphs: list[ShapedGlyph] = []
    for n, (info, pos) in enumerate(zip(infos, positions, strict=True)):
        last_of_cluster = n + 1 == len(infos) or infos[n + 1].cluster != info.cluster
        spacing = letter_spacing if last_of_cluster else 0.0
        glyphs.append(
            ShapedGlyph(
                info.codepoint,
                info.cluster,
                pos.x_advance * k + spacing,
                pos.x_offset * k,
                pos.y_offset * k,
            )
        )
    clusters = tuple(g.cluster for g in glyphs)
    return ShapedItem(start, end, level, face, (), tuple(glyphs), clusters)
