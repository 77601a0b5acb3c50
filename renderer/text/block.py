"""Text blocks: a text, its style and a frame in, shaped, broken, clamped and placed lines out.

Placed like a browser places a block: each line box is `lineHeight × fontSize` tall, the baseline
sits half the leading below the line top plus the primary face's ascent (Blink's rounding).
`fontSize: "auto"` takes the largest size on a 0.5 px grid at which the text fits its frame;
`maxLines` and `frameHeight` clamp it with the ellipsis. Glyphs whose ink lies wholly outside the
clip (the canvas) are not placed, so a long text costs what shows. Total on any input.
"""

from __future__ import annotations

import bisect
import math
import operator
from dataclasses import dataclass, field

from ..fonts import OBLIQUE_SLANT, FontFace, library
from ..geometry import Box, anchored
from ..model import Anchor, TextStyle
from .bidi import visual_order
from .linebreak import LineSpan, break_lines, min_content, span
from .shaping import ShapedGlyph, ShapedItem, ShapedText, shape

__all__ = [
    "PlacedEmoji",
    "PlacedRun",
    "TextFrame",
    "TextLayout",
    "TextLine",
    "TextMeasure",
    "intrinsic_widths",
    "lay_out_text",
    "measure_text",
]


@dataclass(frozen=True, slots=True)
class PlacedRun:
    """Consecutive glyphs of one face on one line."""

    face: FontFace
    size: float  # px
    oblique: bool  # synthesize a slant: the family has no italic
    x: float  # px, pen position of the first glyph
    y: float  # px, baseline
    glyphs: tuple[tuple[int, float, float], ...]  # (glyph id, x from run origin px, y up px)


@dataclass(frozen=True, slots=True)
class PlacedEmoji:
    """One colour emoji: a Twemoji drawing in a square."""

    key: str  # Twemoji file name without `.svg`
    x: float  # px, left of the square
    y: float  # px, top of the square
    size: float  # px, side of the square


@dataclass(frozen=True, slots=True)
class TextLine:
    text: str  # in logical order, as typed (an ellipsis included)
    x: float  # px, left of the first glyph
    baseline: float  # px
    width: float  # px, advance width of the visible characters
    runs: tuple[PlacedRun | PlacedEmoji, ...]  # visual order, left to right


@dataclass(frozen=True, slots=True)
class TextLayout:
    box: Box
    lines: tuple[TextLine, ...]
    font_size: float  # px, after fontSize "auto" fitting
    clamped: bool  # text was cut by maxLines, frameHeight or maxWidth
    overflow: bool  # a line is wider than the frame (one cluster wider than it)
    words_cut: bool  # a word wider than the frame was broken between characters
    missing: tuple[str, ...]  # characters no bundled font has (drawn as .notdef)
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


_EPSILON = 1e-6  # px
_MAX_LINES = 1_000_000  # more lines than any text can have (Limits.max_text_length)
_EMOJI_TOP = 0.88  # em above the baseline where an emoji's square starts (it dips 0.12 em below)


@dataclass(frozen=True, slots=True)
class _Piece:
    """Part of one shaped item that falls on a line."""

    level: int
    face: FontFace | None
    emoji: tuple[str, ...]
    glyphs: tuple[ShapedGlyph, ...]


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
        if start <= item.start and item.end <= end:  # wholly on this line: every glyph
            out.append(
                _Piece(item.level, item.face, item.emoji if item.face is None else (), item.glyphs)
            )
            continue
        lo, hi = _glyph_range(item, start, end)
        if lo < hi:
            out.append(
                _Piece(
                    item.level,
                    item.face,
                    item.emoji[lo:hi] if item.face is None else (),
                    item.glyphs[lo:hi],
                )
            )
    return out


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


def _place(
    pieces: list[_Piece],
    x: float,
    baseline: float,
    size: float,
    oblique: bool,
    clip: Box | None = None,
) -> tuple[PlacedRun | PlacedEmoji, ...]:
    """Glyphs at their pen positions, left to right. Glyphs and emoji whose ink lies wholly
    outside `clip` (the canvas) are left out: they cannot be seen, and drawing them would cost
    as much as drawing those that can."""
    placed: list[PlacedRun | PlacedEmoji] = []
    pen = x
    for piece in visual_order(pieces, [p.level for p in pieces]):
        if piece.face is None:
            for key, g in zip(piece.emoji, piece.glyphs, strict=True):
                inset = (g.advance - size) / 2
                left, top = pen + inset, baseline - _EMOJI_TOP * size
                if _visible(left, top, left + size, top + size, clip):
                    placed.append(PlacedEmoji(key, left, top, size))
                pen += g.advance
            continue
        origin, positions = pen, []
        for g in piece.glyphs:
            positions.append((g.gid, pen - origin + g.dx, g.dy))
            pen += g.advance
        if clip is not None:
            positions = _visible_glyphs(
                positions, origin, baseline, _ink(piece.face, size, oblique), clip
            )
        if positions:
            placed.append(PlacedRun(piece.face, size, oblique, origin, baseline, tuple(positions)))
    return tuple(placed)


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
    """A line before placement: where its text comes from and what ends it."""

    shaped: ShapedText
    span: LineSpan
    suffix: ShapedText | None = None  # the ellipsis of a clamped line

    @property
    def width(self) -> float:
        return self.span.width + (sum(self.suffix.char_advance) if self.suffix else 0.0)


def _shape_all(text: str, style: TextStyle, size: float) -> list[ShapedText]:
    return [
        shape(p, style.family, style.weight, style.italic, size, style.letter_spacing, style.lang)
        for p in text.split("\n")
    ]


def _break_all(paragraphs: list[ShapedText], width: float | None) -> list[_Line]:
    return [_Line(p, s) for p in paragraphs for s in break_lines(p, width)]


def _line_limit(frame: TextFrame, line_height: float) -> int | None:
    limit = frame.max_lines
    if frame.height is not None:
        # min(): a vanishing line height (lineHeight 1e-311) must not overflow int()
        lines = (frame.height + _EPSILON) // line_height if line_height > 0 else _MAX_LINES
        fit = max(1, int(min(lines, _MAX_LINES)))
        limit = fit if limit is None else min(limit, fit)
    return limit


def _fits(text: str, style: TextStyle, frame: TextFrame, size: float) -> bool:
    """Whole words only, within maxLines, and every line box inside frameHeight."""
    lines = _break_all(_shape_all(text, style, size), frame.width)
    if any(line.span.cut for line in lines):
        return False
    if frame.max_lines is not None and len(lines) > frame.max_lines:
        return False
    return frame.height is None or len(lines) * style.line_height * size <= frame.height + _EPSILON


def _auto_size(text: str, style: TextStyle, frame: TextFrame) -> float:
    """The largest size, on a 0.5 px grid within the range, at which the text fits."""
    assert frame.auto_size is not None
    low, high = frame.auto_size
    steps = int((high - low) / 0.5 + _EPSILON)
    lo, hi = 0, steps  # invariant: the answer is at lo or above, if anything fits
    if not _fits(text, style, frame, low):
        return low
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if _fits(text, style, frame, low + mid * 0.5):
            lo = mid
        else:
            hi = mid - 1
    return low + lo * 0.5


def _with_ellipsis(line: _Line, frame: TextFrame, style: TextStyle, size: float) -> _Line:
    """Shorten a clamped last line so that it and the ellipsis fit the frame."""
    suffix = (
        shape(
            frame.ellipsis,
            style.family,
            style.weight,
            style.italic,
            size,
            style.letter_spacing,
            style.lang,
        )
        if frame.ellipsis
        else None
    )
    room = (
        None if frame.width is None else frame.width - (sum(suffix.char_advance) if suffix else 0.0)
    )
    shaped, start = line.shaped, line.span.start
    end = line.span.end
    while room is not None and end > start and span(shaped, start, end).width > room + _EPSILON:
        end -= 1
        while end > start and not shaped.cluster_start[end]:
            end -= 1
    return _Line(shaped, span(shaped, start, end), suffix)


def _clamp(
    lines: list[_Line], frame: TextFrame, style: TextStyle, size: float
) -> tuple[list[_Line], bool]:
    cut = False
    if not frame.wrap and frame.width is not None:
        width = frame.width
        cut = any(line.width > width + _EPSILON for line in lines)
        lines = [
            _with_ellipsis(ln, frame, style, size) if ln.width > width + _EPSILON else ln
            for ln in lines
        ]
    limit = _line_limit(frame, style.line_height * size)
    if limit is None or len(lines) <= limit:
        return lines, cut
    kept = lines[:limit]
    kept[-1] = _with_ellipsis(kept[-1], frame, style, size)
    return kept, True


def _faces_used(lines: tuple[_Line, ...]) -> dict[str, str]:
    """Face name → the characters it drew, in order. Each line looks only at the items that
    overlap it (found by bisection: items are in logical order), so a paragraph of many lines
    costs its length, not lines × items."""
    used: dict[str, dict[str, None]] = {}
    for line in lines:
        for text in (line.shaped, line.suffix):
            if text is None:
                continue
            end = line.span.end if text is line.shaped else len(text.text)
            start = line.span.start if text is line.shaped else 0
            first = bisect.bisect_right(text.items, start, key=operator.attrgetter("end"))
            for item in text.items[first:]:
                if item.start >= end:
                    break
                name = item.face.name if item.face else "Twemoji"
                chars = text.text[max(start, item.start) : min(end, item.end)]
                used.setdefault(name, {}).update(dict.fromkeys(c for c in chars if not c.isspace()))
    return {name: "".join(chars) for name, chars in used.items() if chars}


def _broken(
    text: str, style: TextStyle, frame: TextFrame
) -> tuple[float, list[ShapedText], list[_Line], bool]:
    """(font size, shaped paragraphs, clamped lines, whether clamped): all but placement."""
    size = _auto_size(text, style, frame) if frame.auto_size else style.size
    paragraphs = _shape_all(text, style, size)
    wrap_width = frame.width if frame.wrap else None
    lines, clamped = _clamp(_break_all(paragraphs, wrap_width), frame, style, size)
    return size, paragraphs, lines, clamped


def _extent(lines: list[_Line], frame: TextFrame, line_height: float) -> tuple[float, float]:
    width = frame.width if frame.width is not None else max(line.width for line in lines)
    height = frame.height if frame.height is not None else line_height * len(lines)
    return width, height


@dataclass(frozen=True, slots=True)
class TextMeasure:
    """A block's size without its placement: what a stack asks while it lays out."""

    width: float  # px: the frame's, or the widest line's
    height: float  # px
    font_size: float  # px, after fitting
    lines: int
    clamped: bool


def measure_text(text: str, style: TextStyle, frame: TextFrame) -> TextMeasure:
    """What `lay_out_text` would make of the block, without placing a glyph."""
    size, _, lines, clamped = _broken(text, style, frame)
    width, height = _extent(lines, frame, style.line_height * size)
    return TextMeasure(width, height, size, len(lines), clamped)


def intrinsic_widths(text: str, style: TextStyle, size: float) -> tuple[float, float]:
    """(min-content, max-content) widths at `size`, px: the widest unbreakable segment, and
    the widest paragraph on one line (trailing spaces hang in both, as in CSS)."""
    paragraphs = _shape_all(text, style, size)
    widest = max(span(p, 0, len(p.text)).width for p in paragraphs)
    return max(min_content(p) for p in paragraphs), widest


def lay_out_text(
    text: str,
    style: TextStyle,
    frame: TextFrame,
    x: float,
    y: float,
    anchor: Anchor,
    clip: Box | None = None,
) -> TextLayout:
    """Shape, break, clamp and place `text`; the box is `frame.width` wide (or the widest
    line's width) and `frame.height` tall (or as tall as the lines). Glyphs whose ink lies
    wholly outside `clip` (the canvas) are not placed; every line is still listed."""
    primary, oblique = library().primary(style.family, style.weight, style.italic)
    size, paragraphs, lines, clamped = _broken(text, style, frame)
    line_height = style.line_height * size
    width, height = _extent(lines, frame, line_height)
    box = anchored(x, y, width, height, anchor)
    k = size / primary.upem
    # As Chromium places it: ascent and descent rounded to whole px, the half-leading above
    # the ascent floored (Blink's font metrics, LayoutNG's leading split).
    ascent, descent = round(primary.ascender * k), round(primary.descender * k)
    half_leading = math.floor((line_height - ascent - descent) / 2)
    placed = []
    for i, line in enumerate(lines):
        align = frame.align or ("right" if line.shaped.rtl else "left")
        offset = {"left": 0.0, "center": (width - line.width) / 2, "right": width - line.width}[
            align
        ]
        baseline = box.y + i * line_height + half_leading + ascent
        pieces = _pieces(line.shaped, line.span.start, line.span.end)
        if line.suffix is not None:
            base = 1 if line.shaped.rtl else 0
            pieces += [
                _Piece(base, p.face, p.emoji, p.glyphs)
                for p in _pieces(line.suffix, 0, len(line.suffix.text))
            ]
        content = line.shaped.text[line.span.start : line.span.end]
        placed.append(
            TextLine(
                content + (line.suffix.text if line.suffix else ""),
                box.x + offset,
                baseline,
                line.width,
                _place(pieces, box.x + offset, baseline, size, oblique, clip),
            )
        )
    missing = tuple(dict.fromkeys(ch for p in paragraphs for ch in p.missing))
    overflow = frame.width is not None and any(ln.width > frame.width + _EPSILON for ln in lines)
    words_cut = any(line.span.cut for line in lines)
    return TextLayout(box, tuple(placed), size, clamped, overflow, words_cut, missing, tuple(lines))
