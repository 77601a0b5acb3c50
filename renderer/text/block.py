"""Text blocks: a text in spans of styles, and a frame, in; shaped, broken, clamped and placed
lines out.

Placed like a browser places a block of inline text: each line box holds the block's strut and
every span on the line, each an inline box `lineHeight × its fontSize` tall around its primary
face's ascent and descent (rounded half up to whole px, then half the leading above, floored, as
Blink's font metrics and LayoutNG's leading split do), all on one baseline; a line box is as tall
as what it holds, so a larger span makes its line taller. `fontSize: "auto"` takes the largest
size on a 0.5 px grid at which the text fits its frame (every span scaled by the same factor);
`maxLines` and `frameHeight` clamp it with the ellipsis; `textWrap` balances the lines (the
narrowest width that keeps their number, as Chromium bisects it) or avoids a lone short last
line ("pretty"); `verticalAlign` places the lines within `frameHeight`. Underlines and
strike-throughs take their position and thickness from the span's font. Glyphs whose ink lies
wholly outside the clip (the canvas) are not placed, so a long text costs what shows. Total on
any input.
"""

from __future__ import annotations

import bisect
import math
import operator
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from functools import lru_cache

from ..fonts import OBLIQUE_SLANT, FontFace, FontLibrary, library
from ..geometry import Box, anchored
from ..model import Anchor, Paint, Span, TextStyle
from .bidi import visual_order
from .linebreak import LineSpan, break_lines, min_content, span
from .shaping import SOFT_HYPHEN, Runs, ShapedGlyph, ShapedItem, ShapedText, hyphen, shape_runs

__all__ = [
    "Decoration",
    "PlacedEmoji",
    "PlacedRun",
    "TextFrame",
    "TextLayout",
    "TextLine",
    "TextMeasure",
    "intrinsic_widths",
    "lay_out_text",
    "measure_text",
    "round_half_up",
]


@dataclass(frozen=True, slots=True)
class PlacedRun:
    """Consecutive glyphs of one face and one style on one line: the run carries its own style
    (colour, decoration), so the painter needs nothing else."""

    face: FontFace
    size: float  # px
    oblique: bool  # synthesize a slant: the face's family has no italic
    x: float  # px, pen position of the first glyph
    y: float  # px, baseline
    glyphs: tuple[tuple[int, float, float], ...]  # (glyph id, x from run origin px, y up px)
    style: TextStyle | None = None  # the span's style (None: the component's)


@dataclass(frozen=True, slots=True)
class PlacedEmoji:
    """One colour emoji: a Twemoji drawing in a square."""

    key: str  # Twemoji file name without `.svg`
    x: float  # px, left of the square
    y: float  # px, top of the square
    size: float  # px, side of the square


@dataclass(frozen=True, slots=True)
class Decoration:
    """A filled band on a line: a span's background (drawn under the glyphs), underline or
    line-through (over them)."""

    kind: str  # background | underline | line-through
    x: float  # px, left
    y: float  # px, top
    width: float  # px
    height: float  # px
    color: Paint  # the span's; a gradient spans the component's box, as its glyphs do


@dataclass(frozen=True, slots=True)
class TextLine:
    """One laid-out line: its glyph runs at their pen positions and its box, what the scene
    draws and the report lists."""

    text: str  # in logical order, as typed (an ellipsis included)
    x: float  # px, left of the first glyph
    baseline: float  # px
    width: float  # px, advance width of the visible characters
    runs: tuple[PlacedRun | PlacedEmoji, ...]  # visual order, left to right
    top: float = 0.0  # px, the line box's top
    height: float = 0.0  # px, the line box's height
    decorations: tuple[Decoration, ...] = ()  # backgrounds first, then the lines over glyphs


@dataclass(frozen=True, slots=True)
class TextLayout:
    """A text block after fitting and breaking: its lines and what the fitting had to give
    up (clamped, overflow, cut words), for the render report."""

    box: Box
    lines: tuple[TextLine, ...]
    font_size: float  # px, after fontSize "auto" fitting
    clamped: bool  # text was cut by maxLines, frameHeight or maxWidth
    overflow: bool  # a line is wider than the frame (one cluster wider than it), or the
    # first line, always kept, taller than frameHeight
    words_cut: bool  # a word wider than the frame was broken between characters
    missing: tuple[str, ...]  # characters no font has (drawn as .notdef)
    broken: tuple[_Line, ...] = field(repr=False, compare=False)  # what `faces` comes from

    @property
    def faces(self) -> dict[str, str]:
        """Face name -> the characters it drew, in order of appearance. Worked out when asked
        for: only the render report wants it, and it costs a pass over every character."""
        return {
            name: drawn
            for name, chars in _faces_used(self.broken).items()
            if (drawn := "".join(c for c in chars if c not in self.missing))
        }

    @property
    def runs(self) -> list[list[dict[str, object]]]:
        """Per line, each run in logical order: its text, the face that drew it (name and file)
        and its size: what the render report lists."""
        return [_line_runs(line) for line in self.broken]


@dataclass(frozen=True, slots=True)
class TextFrame:
    """How a block of text is fitted: what text and tag components ask of `lay_out_text`."""

    width: float | None = None  # px; None = one line per paragraph
    height: float | None = None  # px; None = as tall as the lines
    align: str | None = None  # None = by paragraph direction
    max_lines: int | None = None
    ellipsis: str = "…"
    auto_size: tuple[float, float] | None = None  # (min, max) px for fontSize "auto"
    wrap: bool = True  # False: never break; a line wider than `width` is cut with the ellipsis
    mode: str = "wrap"  # wrap | balance | pretty (CSS text-wrap)
    vertical_align: str = "top"  # top | middle | bottom, within `height`


_EPSILON = 1e-6  # px
_MAX_LINES = 1_000_000  # more lines than any text can have (Limits.max_text_length)
_EMOJI_TOP = 0.88  # em above the baseline where an emoji's square starts (it dips 0.12 em below)


def round_half_up(value: float) -> int:
    """Rounding as Skia's `SkScalarRoundToInt` (and so Blink) does it: halves go up, where
    Python's `round` goes to even (Inter 48 px: an ascent of 46.5 px is 47, not 46)."""
    return math.floor(value + 0.5)


@dataclass(frozen=True, slots=True)
class _Piece:
    """Part of one shaped item that falls on a line."""

    level: int
    face: FontFace | None
    emoji: tuple[str, ...]
    glyphs: tuple[ShapedGlyph, ...]
    style: TextStyle | None = None
    oblique: bool = False


def _glyph_range(item: ShapedItem, start: int, end: int) -> tuple[int, int]:
    """The slice of `item.glyphs` whose clusters lie in [start, end): one bisection each way,
    so laying out a paragraph of many lines stays linear in its length."""
    if item.level % 2 == 0:  # clusters ascend
        return bisect.bisect_left(item.clusters, start), bisect.bisect_left(item.clusters, end)
    return (  # clusters descend
        bisect.bisect_right(item.clusters, -end, key=operator.neg),
        bisect.bisect_right(item.clusters, -start, key=operator.neg),
    )


def _pieces(shaped: ShapedText, start: int, end: int) -> list[_Piece]:
    out = []
    for item in shaped.items:
        if item.end <= start or item.start >= end:
            continue
        emoji = item.face is None
        if start <= item.start and item.end <= end:  # wholly on this line: every glyph
            out.append(
                _Piece(
                    item.level,
                    item.face,
                    item.emoji if emoji else (),
                    item.glyphs,
                    item.style,
                    item.oblique,
                )
            )
            continue
        lo, hi = _glyph_range(item, start, end)
        if lo < hi:
            out.append(
                _Piece(
                    item.level,
                    item.face,
                    item.emoji[lo:hi] if emoji else (),
                    item.glyphs[lo:hi],
                    item.style,
                    item.oblique,
                )
            )
    return out


@dataclass(slots=True)
class _Stretch:
    """Where one piece landed on its line: what its decorations are drawn along (px)."""

    left: float
    right: float
    style: TextStyle | None
    face: FontFace | None


def _place(
    pieces: list[_Piece],
    x: float,
    baseline: float,
    size: float,
    clip: Box | None = None,
    stretches: list[_Stretch] | None = None,
) -> tuple[PlacedRun | PlacedEmoji, ...]:
    """Glyphs at their pen positions, left to right. Glyphs and emoji whose ink lies wholly
    outside `clip` (the canvas) are left out: they cannot be seen, and drawing them would cost
    as much as drawing those that can. `stretches` collects where each piece landed."""
    placed: list[PlacedRun | PlacedEmoji] = []
    pen = x
    for piece in visual_order(pieces, [p.level for p in pieces]):
        start = pen
        px = piece.style.size if piece.style is not None else size
        if piece.face is None:
            for key, g in zip(piece.emoji, piece.glyphs, strict=True):
                inset = (g.advance - px) / 2
                left, top = pen + inset, baseline - _EMOJI_TOP * px
                if _visible(left, top, left + px, top + px, clip):
                    placed.append(PlacedEmoji(key, left, top, px))
                pen += g.advance
        else:
            origin, positions = pen, []
            for g in piece.glyphs:
                positions.append((g.gid, pen - origin + g.dx, g.dy))
                pen += g.advance
            if clip is not None:
                positions = _visible_glyphs(
                    positions, origin, baseline, _ink(piece.face, px, piece.oblique), clip
                )
            if positions:
                placed.append(
                    PlacedRun(
                        piece.face,
                        px,
                        piece.oblique,
                        origin,
                        baseline,
                        tuple(positions),
                        piece.style,
                    )
                )
        if stretches is not None:
            stretches.append(_Stretch(start, pen, piece.style, piece.face))
    return tuple(placed)


def _visible(x0: float, y0: float, x1: float, y1: float, clip: Box | None) -> bool:
    """Whether ink in the box (x0, y0)–(x1, y1) can touch a pixel of `clip` (None: always).
    A pixel of margin: anti-aliasing reaches no further."""
    if clip is None:
        return True
    return (
        x1 > clip.x - 1
        and x0 < clip.x + clip.width + 1
        and y1 > clip.y - 1
        and y0 < clip.y + clip.height + 1
    )


def _visible_glyphs(
    positions: list[tuple[int, float, float]], origin: float, baseline: float, ink: _Ink, clip: Box
) -> list[tuple[int, float, float]]:
    """The glyphs of a run (id, x from `origin`, y up) that can put ink inside `clip`. The run
    is judged first from the face's bounding box: wholly inside or wholly outside (the common
    cases) needs no glyph's own extents."""
    xs = [x for _, x, _ in positions]
    dys = [dy for _, _, dy in positions]
    x0, y0, x1, y1 = ink.reach(
        origin + min(xs), origin + max(xs), baseline - max(dys), baseline - min(dys)
    )
    if not _visible(x0, y0, x1, y1, clip):
        return []
    right, bottom = clip.x + clip.width, clip.y + clip.height
    if x0 >= clip.x and y0 >= clip.y and x1 <= right and y1 <= bottom:
        return positions
    return [p for p in positions if ink.visible(p[0], origin + p[1], baseline - p[2], clip)]


@dataclass(frozen=True, slots=True)
class _Ink:
    """Where a face's glyphs put ink at one size: HarfBuzz's glyph extents, scaled."""

    face: FontFace
    k: float  # px per font unit
    slant: float  # the synthesized oblique's shear (0 when upright)

    def reach(
        self, left: float, right: float, top: float, bottom: float
    ) -> tuple[float, float, float, float]:
        """A box holding the ink of any glyph of the face whose origin lies in the box
        (left, top)–(right, bottom): the face's bounding box around it."""
        x0, y0, x1, y1 = (v * self.k for v in self.face.bbox)
        shear = self.slant * max(abs(y0), abs(y1))
        return left + x0 - shear, top - y1, right + x1 + shear, bottom - y0

    def visible(self, gid: int, x: float, baseline: float, clip: Box) -> bool:
        e = self.face.font.get_glyph_extents(gid)
        if e is None:
            return False  # no outline: nothing to draw
        top, bottom = baseline - e.y_bearing * self.k, baseline - (e.y_bearing + e.height) * self.k
        reach = self.slant * max(abs(baseline - top), abs(baseline - bottom))
        left = x + e.x_bearing * self.k - reach
        right = x + (e.x_bearing + e.width) * self.k + reach
        return _visible(left, top, right, bottom, clip)


def _ink(face: FontFace, size: float, oblique: bool) -> _Ink:
    return _Ink(face, size / face.upem, OBLIQUE_SLANT if oblique else 0.0)


@dataclass(frozen=True, slots=True)
class _Line:
    """A line before placement: where its text comes from, what ends it, and its line box."""

    shaped: ShapedText
    span: LineSpan
    suffix: ShapedText | None = None  # the ellipsis of a clamped line
    ascent: float = 0.0  # px, baseline below the line box's top
    descent: float = 0.0  # px, line box's bottom below the baseline

    @property
    def width(self) -> float:
        return self.span.width + (sum(self.suffix.char_advance) if self.suffix else 0.0)

    @property
    def height(self) -> float:
        return self.ascent + self.descent


@dataclass(frozen=True, slots=True)
class _Block:
    """What every stage of one text shares: its spans, the component's style (the strut, the
    line height, the language) and the fonts."""

    spans: tuple[Span, ...]
    style: TextStyle
    fonts: FontLibrary
    decorated: bool = False  # a span has a decoration or a background to draw

    @property
    def plain(self) -> bool:
        """One span, in the component's own style: a plain text."""
        return len(self.spans) == 1 and self.spans[0].style is self.style


def _scaled(style: TextStyle, factor: float) -> TextStyle:
    return style if factor == 1.0 else replace(style, size=style.size * factor)


def _paragraph_runs(block: _Block, factor: float) -> list[tuple[str, Runs]]:
    """The text cut at each `\\n` into paragraphs, each with its runs of (scaled) styles."""
    if len(block.spans) == 1:  # a plain text: one style for every paragraph
        (only,) = block.spans
        style = _scaled(only.style, factor)
        return [(p, ((len(p), style),)) for p in only.text.split("\n")]
    out: list[tuple[str, Runs]] = []
    text, runs = "", list[tuple[int, TextStyle]]()  # the paragraph being collected
    for piece in block.spans:
        style = _scaled(piece.style, factor)
        parts = piece.text.split("\n")
        for n, part in enumerate(parts):
            if n:  # a forced break: the paragraph ends
                out.append((text, tuple(runs) or ((0, style),)))
                text, runs = "", []
            if part or not runs:
                text += part
                runs.append((len(text), style))
    out.append((text, tuple(runs) or ((0, _scaled(block.style, factor)),)))
    return [(t, _merged_runs(r)) for t, r in out]


def _merged_runs(runs: Runs) -> Runs:
    """Empty runs dropped (an empty paragraph keeps its first) and neighbours of one style
    joined: HarfBuzz then shapes them as one item."""
    merged: list[tuple[int, TextStyle]] = []
    start = 0
    for end, style in runs:
        if end > start or not merged:
            if merged and (merged[-1][1] == style or merged[-1][0] == 0):
                merged[-1] = (end, merged[-1][1] if merged[-1][1] == style else style)
            else:
                merged.append((end, style))
        start = end
    return tuple(merged)


def _shape_all(block: _Block, factor: float) -> list[ShapedText]:
    lang = block.style.lang
    return [shape_runs(t, r, lang, block.fonts) for t, r in _paragraph_runs(block, factor)]


@lru_cache(maxsize=4096)
def _box_metrics(style: TextStyle, fonts: FontLibrary) -> tuple[float, float]:
    """(above, below) the baseline, px, of an inline box of `style`: its primary face's ascent
    and descent rounded half up, and the leading split around them (the upper half floored)."""
    face, _ = fonts.primary(style.family, style.weight, style.italic)
    k = style.size / face.upem
    ascent, descent = round_half_up(face.ascender * k), round_half_up(face.descender * k)
    line_height = style.line_height * style.size
    above = ascent + math.floor((line_height - ascent - descent) / 2)
    return above, line_height - above


def _line_box(styles: list[TextStyle], strut: TextStyle, fonts: FontLibrary) -> tuple[float, float]:
    """(ascent, descent) of a line box: the strut's and every span's inline box on one
    baseline."""
    above, below = _box_metrics(strut, fonts)
    for style in styles:
        if style is strut:
            continue
        a, b = _box_metrics(style, fonts)
        above, below = max(above, a), max(below, b)
    return above, below


def _with_box(line: _Line, strut: TextStyle, fonts: FontLibrary) -> _Line:
    start, end = line.span.start, max(line.span.end, line.span.start + 1)
    styles = line.shaped.styles_in(start, end)
    if line.suffix is not None:
        styles += line.suffix.styles_in(0, len(line.suffix.text))
    ascent, descent = _line_box(styles, strut, fonts)
    return replace(line, ascent=ascent, descent=descent)


def _break_all(
    block: _Block, paragraphs: list[ShapedText], width: float | None, mode: str, factor: float
) -> list[_Line]:
    strut = _scaled(block.style, factor)
    lines: list[_Line] = []
    if block.plain:  # one style, the block's: every line box alike
        ascent, descent = _box_metrics(strut, block.fonts)
        for p in paragraphs:
            spans = break_lines(p, width, mode, strut.size)
            lines += [_Line(p, s, _hyphen(block, p, s), ascent, descent) for s in spans]
        return lines
    for p in paragraphs:
        spans = break_lines(p, width, mode, strut.size)
        lines += [_with_box(_Line(p, s, _hyphen(block, p, s)), strut, block.fonts) for s in spans]
    return lines


def _hyphen(block: _Block, p: ShapedText, s: LineSpan) -> ShapedText | None:
    """The hyphen a line broken at a soft hyphen ends with (its width was counted when the
    line was broken: `shaping._end_trim`)."""
    if s.end == s.start or s.end == len(p.text) or p.text[s.end - 1] != SOFT_HYPHEN:
        return None
    return hyphen(p.styles_in(s.end - 1, s.end)[0], block.style.lang, block.fonts)


def _line_limit(frame: TextFrame, lines: list[_Line]) -> int | None:
    """How many lines `maxLines` and `frameHeight` let stand (at least one)."""
    limit = frame.max_lines
    if frame.height is not None:
        total, fit = 0.0, 0
        for line in lines:
            total += line.height
            if total > frame.height + _EPSILON:
                break
            fit += 1
        fit = max(1, min(fit, _MAX_LINES))
        limit = fit if limit is None else min(limit, fit)
    return limit


def _fits(block: _Block, frame: TextFrame, size: float) -> bool:
    """Whole words only, within maxLines, and every line box inside frameHeight."""
    factor = size / block.style.size
    lines = _break_all(block, _shape_all(block, factor), frame.width, frame.mode, factor)
    if any(line.span.cut for line in lines):
        return False
    if frame.max_lines is not None and len(lines) > frame.max_lines:
        return False
    return frame.height is None or sum(ln.height for ln in lines) <= frame.height + _EPSILON


def _auto_size(block: _Block, frame: TextFrame) -> float:
    """The largest size, on a 0.5 px grid within the range, at which the text fits."""
    assert frame.auto_size is not None
    low, high = frame.auto_size
    steps = int((high - low) / 0.5 + _EPSILON)
    lo, hi = 0, steps  # invariant: the answer is at lo or above, if anything fits
    if not _fits(block, frame, low):
        return low
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if _fits(block, frame, low + mid * 0.5):
            lo = mid
        else:
            hi = mid - 1
    return low + lo * 0.5


def _ellipsis(block: _Block, frame: TextFrame, factor: float) -> ShapedText | None:
    """The ellipsis as shaped, or as much of it as fits the frame when it is wider on its own
    (CSS clips such an ellipsis at the edge; this cuts it between grapheme clusters, keeping
    at least its first)."""
    if not frame.ellipsis:
        return None
    style = _scaled(block.style, factor)
    shaped = shape_runs(
        frame.ellipsis, ((len(frame.ellipsis), style),), block.style.lang, block.fonts
    )
    advance = shaped.char_advance
    if frame.width is None or sum(advance) <= frame.width + _EPSILON:
        return shaped
    end = len(shaped.text)
    while end > 0 and (
        not (end == len(shaped.text) or shaped.cluster_start[end])
        or sum(advance[:end]) > frame.width + _EPSILON
    ):
        end -= 1
    if end == 0:  # not even its first cluster fits: that one is kept
        end = next(
            (i for i in range(1, len(shaped.text)) if shaped.cluster_start[i]), len(shaped.text)
        )
    text = shaped.text[:end].rstrip() or shaped.text[:end]  # no space left hanging at its end
    return shape_runs(text, ((len(text), style),), block.style.lang, block.fonts)


def _with_ellipsis(line: _Line, frame: TextFrame, suffix: ShapedText | None) -> _Line:
    """Shorten a clamped last line so that it and the ellipsis fit the frame."""
    room = (
        None if frame.width is None else frame.width - (sum(suffix.char_advance) if suffix else 0.0)
    )
    shaped, start = line.shaped, line.span.start
    end = line.span.end
    if suffix is not None and suffix.text != frame.ellipsis:  # cut to fit: it takes the line
        end = start
    while room is not None and end > start and span(shaped, start, end).width > room + _EPSILON:
        end -= 1
        while end > start and not shaped.cluster_start[end]:
            end -= 1
    return replace(line, span=span(shaped, start, end), suffix=suffix)


def _clamp(
    block: _Block, lines: list[_Line], frame: TextFrame, factor: float
) -> tuple[list[_Line], bool]:
    cut = False
    strut = _scaled(block.style, factor)
    if not frame.wrap and frame.width is not None:
        width = frame.width
        cut = any(line.width > width + _EPSILON for line in lines)
        if cut:
            suffix = _ellipsis(block, frame, factor)
            lines = [
                _with_box(_with_ellipsis(ln, frame, suffix), strut, block.fonts)
                if ln.width > width + _EPSILON
                else ln
                for ln in lines
            ]
    limit = _line_limit(frame, lines)
    if limit is None or len(lines) <= limit:
        return lines, cut
    kept = lines[:limit]
    suffix = _ellipsis(block, frame, factor)
    kept[-1] = _with_box(_with_ellipsis(kept[-1], frame, suffix), strut, block.fonts)
    return kept, True


def _line_items(line: _Line) -> Iterator[tuple[ShapedItem, str]]:
    """Each shaped item on the line (its ellipsis included) with the characters it drew
    there, in logical order. Only the items that overlap the line are looked at (found by
    bisection: items are in logical order), so a paragraph of many lines costs its length,
    not lines x items."""
    for text in (line.shaped, line.suffix):
        if text is None:
            continue
        end = line.span.end if text is line.shaped else len(text.text)
        start = line.span.start if text is line.shaped else 0
        first = bisect.bisect_right(text.items, start, key=operator.attrgetter("end"))
        for item in text.items[first:]:
            if item.start >= end:
                break
            chars = text.text[max(start, item.start) : min(end, item.end)]
            if chars:
                yield item, chars


def _faces_used(lines: tuple[_Line, ...]) -> dict[str, str]:
    used: dict[str, dict[str, None]] = {}
    for line in lines:
        for item, chars in _line_items(line):
            name = item.face.name if item.face else "Twemoji"
            used.setdefault(name, {}).update(dict.fromkeys(c for c in chars if not c.isspace()))
    return {name: "".join(chars) for name, chars in used.items() if chars}


def _line_runs(line: _Line) -> list[dict[str, object]]:
    return [
        {
            "text": chars,
            "face": item.face.name if item.face else "Twemoji",
            "file": item.face.file if item.face else "twemoji.zip",
            "fontSize": item.style.size if item.style else None,
            "oblique": item.oblique,
        }
        for item, chars in _line_items(line)
    ]


def _broken(block: _Block, frame: TextFrame) -> tuple[float, list[ShapedText], list[_Line], bool]:
    """(font size, shaped paragraphs, clamped lines, whether clamped): all but placement."""
    size = _auto_size(block, frame) if frame.auto_size else block.style.size
    factor = size / block.style.size
    paragraphs = _shape_all(block, factor)
    wrap_width = frame.width if frame.wrap else None
    lines = _break_all(block, paragraphs, wrap_width, frame.mode, factor)
    lines, clamped = _clamp(block, lines, frame, factor)
    return size, paragraphs, lines, clamped


def _extent(lines: list[_Line], frame: TextFrame) -> tuple[float, float]:
    width = frame.width if frame.width is not None else max(line.width for line in lines)
    height = frame.height if frame.height is not None else sum(line.height for line in lines)
    return width, height


@dataclass(frozen=True, slots=True)
class TextMeasure:
    """A block's size without its placement: what a stack asks while it lays out."""

    width: float  # px: the frame's, or the widest line's
    height: float  # px
    font_size: float  # px, after fitting
    lines: int
    clamped: bool


def _block(text: str | tuple[Span, ...], style: TextStyle, fonts: FontLibrary | None) -> _Block:
    spans = (Span(text, style),) if isinstance(text, str) else text
    decorated = any(s.style.decoration != "none" or s.style.background is not None for s in spans)
    return _Block(spans, style, fonts or library(), decorated)


def measure_text(
    text: str | tuple[Span, ...],
    style: TextStyle,
    frame: TextFrame,
    fonts: FontLibrary | None = None,
) -> TextMeasure:
    """What `lay_out_text` would make of the block, without placing a glyph."""
    block = _block(text, style, fonts)
    size, _, lines, clamped = _broken(block, frame)
    width, height = _extent(lines, frame)
    return TextMeasure(width, height, size, len(lines), clamped)


def intrinsic_widths(
    text: str | tuple[Span, ...],
    style: TextStyle,
    size: float,
    fonts: FontLibrary | None = None,
) -> tuple[float, float]:
    """(min-content, max-content) widths at `size`, px: the widest unbreakable segment, and
    the widest paragraph on one line (trailing spaces hang in both, as in CSS)."""
    block = _block(text, style, fonts)
    paragraphs = _shape_all(block, size / style.size)
    widest = max(span(p, 0, len(p.text)).width for p in paragraphs)
    return max(min_content(p) for p in paragraphs), widest


def _decorations(
    stretches: list[_Stretch], baseline: float, fonts: FontLibrary
) -> tuple[Decoration, ...]:
    """The backgrounds and lines of one line's pieces, each joined with its neighbours of the
    same style, so a span's underline runs unbroken across its fallback faces."""
    groups: list[_Stretch] = []
    for s in stretches:
        if s.style is None or (s.style.decoration == "none" and s.style.background is None):
            continue
        if groups and groups[-1].style == s.style and abs(groups[-1].right - s.left) < _EPSILON:
            groups[-1].right = s.right
        else:
            groups.append(_Stretch(s.left, s.right, s.style, s.face))
    under: list[Decoration] = []
    over: list[Decoration] = []
    for g in groups:
        assert g.style is not None
        style = g.style
        face, _ = fonts.primary(style.family, style.weight, style.italic)
        k = style.size / face.upem
        if style.background is not None:
            ascent = round_half_up(face.ascender * k)
            descent = round_half_up(face.descender * k)
            top = baseline - ascent
            under.append(
                Decoration(
                    "background", g.left, top, g.right - g.left, ascent + descent, style.background
                )
            )
        if style.decoration in ("underline", "line-through"):
            over.append(_line(style, face, g, baseline))
    return tuple(under + over)


def _line(style: TextStyle, face: FontFace, g: _Stretch, baseline: float) -> Decoration:
    """An underline or line-through as Blink draws one with the font's own metrics (CSS
    `text-decoration-thickness` and `text-underline-position: from-font`): the thickness
    rounded down to whole px (at least 1); the underline's top at the font's underline
    position below its ascent, rounded; the line-through centred a third of the ascent
    above the baseline."""
    k = style.size / face.upem
    ascent = face.ascender * k
    if style.decoration == "underline":
        position, thickness = face.underline
        top = baseline - round_half_up(ascent) + round_half_up(ascent - position * k)
    else:
        thickness = face.strikeout[1]
        top = round_half_up(baseline - ascent / 3 - thickness * k / 2)
    height = max(1.0, math.floor(thickness * k))
    return Decoration(style.decoration, g.left, top, g.right - g.left, height, style.color)


def lay_out_text(
    text: str | tuple[Span, ...],
    style: TextStyle,
    frame: TextFrame,
    x: float,
    y: float,
    anchor: Anchor,
    clip: Box | None = None,
    fonts: FontLibrary | None = None,
) -> TextLayout:
    """Shape, break, clamp and place `text` (a string in `style`, or spans whose styles
    inherit from it); the box is `frame.width` wide (or the widest line's width) and
    `frame.height` tall (or as tall as the lines). Glyphs whose ink lies wholly outside
    `clip` (the canvas) are not placed; every line is still listed."""
    block = _block(text, style, fonts)
    size, paragraphs, lines, clamped = _broken(block, frame)
    width, height = _extent(lines, frame)
    box = anchored(x, y, width, height, anchor)
    used = sum(line.height for line in lines)
    top = box.y
    if frame.height is not None and used < frame.height:
        top += (frame.height - used) * {"top": 0.0, "middle": 0.5, "bottom": 1.0}[
            frame.vertical_align
        ]
    placed = []
    for line in lines:
        align = frame.align or ("right" if line.shaped.rtl else "left")
        offset = {"left": 0.0, "center": (width - line.width) / 2, "right": width - line.width}[
            align
        ]
        baseline = top + line.ascent
        pieces = _pieces(line.shaped, line.span.start, line.span.end)
        if line.suffix is not None:
            base = 1 if line.shaped.rtl else 0
            pieces += [
                replace(p, level=base) for p in _pieces(line.suffix, 0, len(line.suffix.text))
            ]
        content = line.shaped.text[line.span.start : line.span.end]
        stretches: list[_Stretch] | None = [] if block.decorated else None
        runs = _place(pieces, box.x + offset, baseline, size, clip, stretches)
        placed.append(
            TextLine(
                content + (line.suffix.text if line.suffix else ""),
                box.x + offset,
                baseline,
                line.width,
                runs,
                top,
                line.height,
                _decorations(stretches, baseline, block.fonts) if stretches else (),
            )
        )
        top += line.height
    missing = tuple(dict.fromkeys(ch for p in paragraphs for ch in p.missing))
    overflow = (
        frame.width is not None and any(ln.width > frame.width + _EPSILON for ln in lines)
    ) or (
        frame.height is not None and used > frame.height + _EPSILON  # a first line kept whole
    )
    words_cut = any(line.span.cut for line in lines)
    return TextLayout(box, tuple(placed), size, clamped, overflow, words_cut, missing, tuple(lines))
