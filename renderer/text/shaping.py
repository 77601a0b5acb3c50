"""Shaping: one paragraph in runs of styles in, shaped items (runs of one face, style and
direction) out.

The paragraph is split into grapheme clusters; each cluster gets one source, the first face of the
fallback chain of its run's style that has all of it, or a Twemoji colour emoji (see fonts.py).
Consecutive clusters with the same source, style and bidi level form an item, which HarfBuzz
shapes with the whole paragraph as context, so a word split between two spans still kerns and
joins; right-to-left items come back in visual order. Each item knows whether its face is slanted
(a family without an italic, asked for italic). Advances include `letterSpacing`, added once per
cluster as CSS does. A cluster no source has is drawn as its style's primary face's `.notdef`
box and listed in `missing`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import uharfbuzz as hb

from ..fonts import IGNORABLE, FontFace, FontLibrary, covers, han_preference, library
from ..model import Color, TextStyle
from .bidi import levels
from .segment import grapheme_boundaries

__all__ = [
    "EMOJI_ADVANCE",
    "SOFT_HYPHEN",
    "Runs",
    "ShapedGlyph",
    "ShapedItem",
    "ShapedText",
    "hyphen",
    "shape",
    "shape_runs",
]

Runs = tuple[tuple[int, TextStyle], ...]  # (end, style) of each run, ends ascending to len(text)
EMOJI_ADVANCE = 1.15  # em: an emoji's advance; its 1 em square is centred in it
# Full-width closing brackets and quotes: their ink sits in the left half of a 1 em advance, and
# at the end of a line browsers count only that half when it lets the line fit (CSS Text 4
# `text-spacing-trim: normal`, as Chromium applies it: brackets and quotes, not 、。，).
_CLOSING = frozenset("）〉》」』】〕〗〙〛］｝｠”’")
_NO_LIGATURES = {"liga": False, "clig": False, "dlig": False}


@dataclass(frozen=True, slots=True)
class ShapedGlyph:
    """One glyph as HarfBuzz placed it, in px: line breaking sums the advances, placement
    adds the offsets."""

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
    style: TextStyle | None = None  # the run's style (size, colour, decoration)
    oblique: bool = False  # slant the face: its family has no italic and italic is asked for


@dataclass(frozen=True, slots=True)
class ShapedText:
    """A shaped paragraph with per-character advances, so line breaking can measure any span
    without shaping again."""

    text: str
    rtl: bool  # paragraph direction, from its first strong character
    items: tuple[ShapedItem, ...]  # logical order
    char_advance: tuple[float, ...]  # px per character; a cluster's advance on its first char
    cluster_start: tuple[bool, ...]  # whether a cluster starts at each character
    end_trim: tuple[float, ...]  # px a line ending with this character may give back (below)
    missing: tuple[str, ...]  # clusters drawn as .notdef, in order of first appearance
    runs: tuple[tuple[int, int, TextStyle], ...] = ()  # (start, end, style) of each run

    def styles_in(self, start: int, end: int) -> list[TextStyle]:
        """The styles of the runs that hold characters of [start, end)."""
        return [style for a, b, style in self.runs if a < end and b > start]


_Source = tuple[FontFace, bool] | str  # a face and whether it is slanted, or a Twemoji key


def _run_index(runs: Runs, at: int, hint: int) -> int:
    """The run holding character `at`, searching on from `hint` (clusters come in order)."""
    while runs[hint][0] <= at and hint + 1 < len(runs):
        hint += 1
    return hint


def _sources(
    text: str, bounds: list[int], runs: Runs, lang: str | None, fonts: FontLibrary
) -> tuple[list[_Source], list[int], list[str]]:
    """Each cluster's source and run, and the clusters no source has."""
    han = han_preference(lang)
    sources: list[_Source] = []
    owners: list[int] = []
    missing: list[str] = []
    r = 0
    for a, b in zip(bounds, bounds[1:], strict=False):
        r = _run_index(runs, a, r)
        style = runs[r][1]
        owners.append(r)
        cluster = text[a:b]
        if not IGNORABLE.sub("", cluster):  # invisible format characters: nothing to draw
            sources.append(sources[-1] if sources else _primary(fonts, style))
            continue
        source: _Source | None = fonts.emoji.key(cluster)
        if source is None:
            source = fonts.face_and_slant_for_cluster(
                cluster, style.family, style.weight, style.italic, han
            )
        if source is None:
            source = fonts.emoji.key(cluster, only_if_emoji=False)
        if source is None:
            if not cluster.isspace() and cluster not in missing:
                missing.append(cluster)
            source = _primary(fonts, style)
        elif len(cluster) > 1 and not isinstance(source, str) and not covers(source[0], cluster):
            if cluster not in missing:  # a face with its first character only: the rest
                missing.append(cluster)  # (a combining mark no face has) is a .notdef box
        sources.append(source)
    return sources, owners, missing


def _primary(fonts: FontLibrary, style: TextStyle) -> tuple[FontFace, bool]:
    return fonts.primary(style.family, style.weight, style.italic)


_BLACK = Color(0, 0, 0)


def shape(
    text: str,
    family: str,
    weight: int,
    italic: bool,
    size: float,
    letter_spacing: float,
    lang: str | None = None,
    fonts: FontLibrary | None = None,
) -> ShapedText:
    """Shape one paragraph (no `\\n`) in one style."""
    style = TextStyle(family, weight, italic, size, _BLACK, 1.2, letter_spacing, lang)
    return shape_runs(text, ((len(text), style),), lang, fonts or library())


@lru_cache(maxsize=4096)
def shape_runs(text: str, runs: Runs, lang: str | None, fonts: FontLibrary) -> ShapedText:
    """Shape one paragraph (no `\\n`) whose runs of styles `runs` covers. Cached: a batch
    repeats the same labels."""
    bounds = grapheme_boundaries(text)
    sources, owners, missing = _sources(text, bounds, runs, lang, fonts)
    rtl, char_levels = levels(text)
    items: list[ShapedItem] = []
    codepoints = [ord(c) for c in text]
    i = 0
    while i < len(sources):
        j = i + 1
        while (
            j < len(sources)
            and owners[j] == owners[i]
            and _same(sources[i], sources[j])
            and char_levels[bounds[j]] == char_levels[bounds[i]]
        ):
            j += 1
        level = char_levels[bounds[i]]
        src, style = sources[i], runs[owners[i]][1]
        if isinstance(src, str):
            items.append(_emoji_item(bounds[i : j + 1], sources[i:j], level, style))
        else:
            face, oblique = src
            items.append(
                _shape_item(codepoints, bounds[i], bounds[j], level, face, oblique, style, lang)
            )
        i = j
    advance = [0.0] * len(text)
    for item in items:
        for g in item.glyphs:
            advance[g.cluster] += g.advance
    starts = [False] * len(text)
    for b in bounds[:-1]:
        starts[b] = True
    trim = _end_trim(text, advance, runs, char_levels, lang, fonts)
    spans, start = [], 0
    for end, style in runs:
        spans.append((start, end, style))
        start = end
    return ShapedText(
        text, rtl, tuple(items), tuple(advance), tuple(starts), trim, tuple(missing), tuple(spans)
    )


def _end_trim(
    text: str,
    advance: list[float],
    runs: Runs,
    char_levels: Sequence[int],
    lang: str | None,
    fonts: FontLibrary,
) -> tuple[float, ...]:
    """Only a bracket drawn left to right at the paragraph's own level (0) gives back: its blank
    half is then on the line's right, where it may hang out of the frame. In an RTL paragraph
    the bracket is mirrored and its blank half faces left, so a width trimmed at the end would
    push its ink past the frame's right edge when the line is aligned right. A soft hyphen
    takes: a line broken at one ends with a visible hyphen (`HYPHEN`), negative trim."""
    trim = [0.0] * len(text)
    start = 0
    for end, style in runs:
        for k in range(start, end):
            if text[k] in _CLOSING and char_levels[k] == 0 and advance[k] >= 0.9 * style.size:
                trim[k] = advance[k] / 2
            elif text[k] == SOFT_HYPHEN and k + 1 < len(text):
                trim[k] = -sum(hyphen(style, lang, fonts).char_advance)
        start = end
    return tuple(trim)


SOFT_HYPHEN = "\u00ad"
HYPHEN = "-"  # what a line broken at a soft hyphen ends with (every face has it)


def hyphen(style: TextStyle, lang: str | None, fonts: FontLibrary) -> ShapedText:
    """The hyphen that ends a line broken at a soft hyphen in `style` (CSS `hyphens: manual`,
    the default: browsers draw one there, and only there)."""
    return shape_runs(HYPHEN, ((1, style),), lang, fonts)


def _same(a: _Source, b: _Source) -> bool:
    """Clusters shaped together: one face (slanted alike), or both emoji. Faces are compared
    by identity first, then by key: a library's caches may hold a face made before the
    process forgot it (`fonts._bound_data_faces`), and it is the same face."""
    if isinstance(a, str) or isinstance(b, str):
        return isinstance(a, str) and isinstance(b, str)
    return (a[0] is b[0] or a[0].key == b[0].key) and a[1] == b[1]


def _emoji_item(bounds: list[int], keys: list[_Source], level: int, style: TextStyle) -> ShapedItem:
    size, letter_spacing = style.size, style.letter_spacing
    glyphs = tuple(
        ShapedGlyph(0, a, EMOJI_ADVANCE * size + letter_spacing, 0.0, 0.0) for a in bounds[:-1]
    )
    names = tuple(str(k) for k in keys)
    if level % 2:
        glyphs, names = glyphs[::-1], names[::-1]
    clusters = tuple(g.cluster for g in glyphs)
    return ShapedItem(bounds[0], bounds[-1], level, None, names, glyphs, clusters, style)


def _shape_item(
    codepoints: list[int],
    start: int,
    end: int,
    level: int,
    face: FontFace,
    oblique: bool,
    style: TextStyle,
    lang: str | None,
) -> ShapedItem:
    size, letter_spacing = style.size, style.letter_spacing
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
    return ShapedItem(start, end, level, face, (), tuple(glyphs), clusters, style, oblique)
